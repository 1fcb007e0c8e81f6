"""The benchmark data set, built through the project's own demo generator and cached.

A data set is identified by its size and a fingerprint of everything that decides
its content (the demo generator, the migrations, this module): while those are
unchanged, a rerun reuses the cached database (an SQLite file under bench/data, a
template database on the PostgreSQL server) instead of generating it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bench.common import DATA, ROOT

#: files whose content decides the data set
SOURCES = ("app/demo.py", "app/demo_fees.py", "app/fakes.py", "bench/dataset.py", "migrations/versions")


@dataclass(frozen=True)
class Size:
    name: str
    large_units: int  # the flagship estate (bill generation, 列支范围)
    estates: int
    total_units: int
    audit_records: int
    export_rows: int  # rows the export benchmark writes (the official's unit list)
    import_owners: int
    seed: int = 2026


FULL = Size("full", large_units=10_000, estates=100, total_units=100_000, audit_records=50_000,
            export_rows=100_000, import_owners=10_000)
SMOKE = Size("smoke", large_units=600, estates=4, total_units=1_000, audit_records=500,
             export_rows=1_000, import_owners=100)
SIZES = {s.name: s for s in (FULL, SMOKE)}


def fingerprint(size: Size) -> str:
    digest = hashlib.sha256(repr(size).encode())
    for source in SOURCES:
        path = ROOT / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(ROOT).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def cache_name(size: Size) -> str:
    return f"bench_{size.name}_{fingerprint(size)}"


def sqlite_cache(size: Size) -> Path:
    return DATA / f"{cache_name(size)}.db"


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy (the WAL folded in), replacing ``target``."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


def prune_sqlite(size: Size) -> None:
    keep = sqlite_cache(size).name
    for old in DATA.glob(f"bench_{size.name}_*.db"):
        if old.name != keep:
            old.unlink()


# -- building (inside a worker process with the app) -----------------------------------

def build(size: Size) -> dict:
    """Migrate, sync the roles, load the demo data and the extras; returns row counts."""
    import time

    from flask import current_app
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from app import demo, roles
    from app.extensions import db

    timings = {}
    start = time.perf_counter()
    upgrade()
    roles.sync(current_app.appbuilder)
    timings["migrate_roles_s"] = time.perf_counter() - start
    start = time.perf_counter()
    counts = demo.load(units=size.large_units, estates=size.estates, seed=size.seed,
                       total_units=size.total_units)
    timings["demo_s"] = time.perf_counter() - start
    start = time.perf_counter()
    _audit_history(db.session, random.Random(size.seed), size.audit_records)
    extra = _fund_data(db.session, size)
    db.session.commit()
    timings["extras_s"] = time.perf_counter() - start
    start = time.perf_counter()
    engine = db.engine
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        # statistics a running database keeps itself (PostgreSQL's autovacuum; SQLite's
        # PRAGMA optimize): the planner needs them to choose indexes at this scale
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    timings["analyze_s"] = time.perf_counter() - start
    from models.audit import AuditLog
    from models.fees import Bill
    from models.people import Owner

    totals = {
        name: db.session.scalar(select(func.count()).select_from(model))
        for name, model in (("audit_records", AuditLog), ("bills", Bill), ("owners", Owner))
    }
    return {"created": counts, **extra, "totals": totals,
            "timings_s": {k: round(v, 1) for k, v in timings.items()}}


def _audit_history(session, rng: random.Random, count: int) -> None:
    """A year of everyday edits (unit status, owner mobile) in the 操作日志, written with the
    product's own record format (app.audit) in bulk: 50,000 ORM edits would dominate the build."""
    from sqlalchemy import select

    from app import audit
    from models.estate import Unit

    units = session.execute(select(Unit.id, Unit.estate_id, Unit.status).order_by(Unit.id)).all()
    start = dt.datetime(2025, 11, 1, 8, 0)
    statuses = ("owner_occupied", "rented", "vacant")
    who = {"user_id": None, "username": "manager_a", "ip": "10.0.0.8"}
    rows = []
    for n in range(count):
        unit_id, estate_id, status = rng.choice(units)
        new = rng.choice([s for s in statuses if s != status])
        rows.append(audit._record(
            Unit, unit_id, "update", old={"status": status}, new={"status": new}, estate_id=estate_id,
            who=who, when=start + dt.timedelta(minutes=10 * n),
        ))
        if len(rows) == 10_000:
            audit._write(session, rows)
            rows = []
    audit._write(session, rows)


def _fund_data(session, size: Size) -> dict:
    """The 维修资金: an application of the flagship estate whose 列支范围 is every building
    (about 10,000 units), its vote roll fixed by the product's own ``open_roll``, and a
    ballot for every unit of the roll (one owner's units vote alike, as the product demands).
    Ballots go in as one bulk insert: casting 10,000 through the form is not the subject."""
    from importlib.util import find_spec

    if find_spec("models.repair_fund") is None:
        return {"fund": "维修资金模块尚未合入：不生成"}
    from sqlalchemy import insert, select, update

    from app import audit
    from models.estate import Building, Estate
    from models.fund_vote import Ballot, VoteRoll
    from models.repair_fund import FundApplication, FundScope, open_roll

    rng = random.Random(size.seed + 1)
    estate = session.execute(select(Estate).where(Estate.code == "BJCY0001")).scalar_one()
    application = FundApplication(
        estate=estate, title="全部楼栋屋面防水及外墙保温维修", category="major_repair", matter="use",
        repair_part="全部楼栋屋面防水层、外墙保温层", budget=Decimal("8600000.00"),
        contractor="北京城建安装集团有限公司", plan="分三期施工，每期 4 个月；质量保修期 5 年。",
        exclusion_declared=True, actual_cost=Decimal("8423517.37"),
    )
    session.add(application)
    session.flush()
    buildings = session.execute(select(Building.id).where(Building.estate_id == estate.id)).scalars().all()
    session.execute(insert(FundScope), [{"application_id": application.id, "building_id": b, "unit_id": None}
                                         for b in buildings])
    voters = open_roll(session, application)
    session.flush()
    # straight to 业主表决 (a voting application is frozen to the ORM): the workflow's
    # steps before it are not what is measured
    session.execute(update(FundApplication.__table__).where(FundApplication.__table__.c.id == application.id)
                    .values(state="voting", vote_from=dt.date(2026, 10, 8), vote_until=dt.date(2026, 11, 8)))
    session.expire(application)
    roll = session.execute(select(VoteRoll.unit_id, VoteRoll.person)
                           .where(VoteRoll.application_id == application.id).order_by(VoteRoll.unit_id)).all()
    rows = []
    cast_at = dt.datetime(2026, 10, 20, 10, 0)
    voted: set[str] = set()
    for unit_id, person in roll:  # one ballot per person, through their first unit
        if person in voted:
            continue
        voted.add(person)
        rows.append({"application_id": application.id, "estate_id": estate.id, "unit_id": unit_id, "person": person,
                     "choice": rng.choices(("yes", "no", "abstain"), (75, 15, 10))[0], "channel": "electronic",
                     "scan": None, "recorded_by": "业主本人", "cast_at": cast_at})
    for start in range(0, len(rows), 5000):
        session.execute(insert(Ballot), rows[start:start + 5000])
    audit.record_all(session, [(FundScope, len(buildings)), (Ballot, len(rows))], "基准测试数据 {count} 条")
    return {"fund": {"application_id": application.id, "roll": voters, "ballots": len(rows)}}
