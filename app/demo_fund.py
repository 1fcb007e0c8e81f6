"""Demo repair fund: an account per estate, every 分户账 from delivery until today, and
use applications at each interesting step.

The ledger (首期交存 at delivery, yearly 增值收益, a past use that left one building
below the 续交 threshold, a few 续交, 公共收益转入) is computed here and written with
bulk inserts. The current applications go through the real transitions
(``FUND_FLOW.fire``) as the demo users, so their timeline and audit trail exist:
one 已划转 and 决算公示 with its apportionment and vote result, one emergency repair
(电梯故障) that has been paid, and one in 业主表决 with a partial tally.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.audit import record_all
from app.demo_timeline import date_steps
from models import clock
from models.base import batches
from models.estate import Building, Estate, Unit
from models.fees import cents
from models.fund_vote import Ballot, VoteRoll
from models.repair_fund import (
    FUND_FLOW, FundAccount, FundApplication, FundEntry, FundPayment, FundScope, apportion, balances,
)
from models.settings import settings_for
from models.workflow import WorkflowEvent

#: yearly 增值收益 (bank deposits and government bonds), credited to each 分户账 on 31 December
INTEREST_RATE = Decimal("0.015")
#: years of interest shown one by one (earlier years: one cumulative entry)
ITEMISED_YEARS = 3
ZERO = Decimal("0.00")
#: the past use drained its building to this share of the balance (below the 30% warning)
PAST_USE_SHARE = Decimal("0.80")
#: units of the drained building that have topped up since (续交)
TOP_UPS = 3
#: the voting application: share of owners who have voted so far (quorum not reached)
VOTED_SHARE = 0.4
BANKS = ("中国建设银行北京望京支行", "北京银行望京科技园支行", "中国工商银行北京花家地支行")


@dataclass
class Ledger:
    """Entries of one estate as they are generated (balances kept for later entries)."""

    rows: list[dict]
    balance: dict[int, Decimal]


def load_fund(session: Session, rng: random.Random, estate_ids: list[int], *, manager: str, committee: str,
              official: str, today: dt.date | None = None) -> dict[str, int]:
    today = today or clock.today()
    sm = current_app.appbuilder.sm
    users = {role: sm.find_user(username=name)
             for role, name in (("manager", manager), ("committee", committee), ("official", official))}
    counts = {"维修资金账户": 0, "资金流水": 0, "维修资金使用申请": 0, "表决票": 0}
    entries: list[dict] = []
    for index, estate_id in enumerate(estate_ids):
        estate = session.get(Estate, estate_id)
        session.add(FundAccount(
            estate_id=estate_id, bank_name=BANKS[index % len(BANKS)], account_no=f"1100{rng.randint(10**15, 10**16 - 1)}",
            management="owners_assembly" if estate.committee_founded_on else "housing_bureau",
            opened_on=estate.delivered_on,
        ))
        counts["维修资金账户"] += 1
        ledger = _deposits(session, estate, settings_for(session, estate_id).fund_deposit_rate, today)
        first_year = (estate.delivered_on or today).year
        if index == 0:
            counts["维修资金使用申请"] += _past_use(session, rng, estate, ledger, today, users)
            _public_income(rng, estate, ledger, today)
        else:
            _interest(estate, ledger, range(first_year, today.year), today.year - ITEMISED_YEARS)
        entries += ledger.rows
    for chunk in batches(entries, 20_000):
        session.execute(insert(FundEntry.__table__), chunk)
    counts["资金流水"] = len(entries)
    record_all(session, [(FundEntry, len(entries))], "演示数据 {count} 条")
    session.flush()

    large = session.get(Estate, estate_ids[0])
    buildings = session.execute(
        select(Building).where(Building.estate_id == large.id).order_by(Building.id)).scalars().all()
    paid_building, voting_building = buildings[-1], buildings[1 % len(buildings)]
    counts["维修资金使用申请"] += 3
    _paid_application(session, rng, large, paid_building, users, today, "外墙渗漏修缮", "外墙面及窗台渗漏点")
    if len(estate_ids) > 1:  # a second estate's settled vote: the scoping tests try to reach it
        other = session.get(Estate, estate_ids[1])
        first = session.execute(select(Building).where(Building.estate_id == other.id).order_by(Building.id)).scalars().first()
        _paid_application(session, rng, other, first, users, today, "屋面防水翻新", "屋面防水层及排水沟")
        counts["维修资金使用申请"] += 1
    _emergency_application(session, large, _with_elevator(buildings) or paid_building, users)
    counts["表决票"] = _voting_application(session, rng, large, voting_building, users, today)
    session.flush()
    return counts


def _with_elevator(buildings: list[Building]) -> Building | None:
    return next((b for b in reversed(buildings) if b.has_elevator), None)


# -- the ledger ------------------------------------------------------------------------

def _entry(estate_id: int, unit_id: int | None, kind: str, amount: Decimal, day: dt.date, note: str, **extra) -> dict:
    return dict(estate_id=estate_id, unit_id=unit_id, kind=kind, amount=amount, occurred_on=day,
                application_id=extra.get("application_id"), reverses_id=None, note=note,
                created_at=dt.datetime.combine(day, dt.time(10)))


def _deposits(session: Session, estate: Estate, rate: Decimal, today: dt.date) -> Ledger:
    """首期交存 of every unit at the estate's delivery: 建筑面积 × 交存标准."""
    units = session.execute(
        select(Unit.id, Unit.floor_area).where(Unit.estate_id == estate.id).order_by(Unit.id)).all()
    delivered = estate.delivered_on or today.replace(year=today.year - 5)
    ledger = Ledger([], {})
    for unit_id, area in units:
        amount = cents(area * rate)
        ledger.rows.append(_entry(estate.id, unit_id, "deposit", amount, delivered,
                                  f"首期交存 {area:f}㎡ × {rate:f} 元/㎡"))
        ledger.balance[unit_id] = amount
    return ledger


def _interest(estate: Estate, ledger: Ledger, years: range, itemised_from: int) -> None:
    """Yearly 增值收益 on each balance; the years before ``itemised_from`` are compounded
    into one entry (as the records taken over from the housing bureau show them), which
    keeps the demo ledger small."""
    lumped: dict[int, Decimal] = {}
    for year in years:
        for unit_id, balance in ledger.balance.items():
            amount = cents(balance * INTEREST_RATE)
            if amount <= 0:
                continue
            ledger.balance[unit_id] = balance + amount
            if year < itemised_from:
                lumped[unit_id] = lumped.get(unit_id, ZERO) + amount
            else:
                ledger.rows.append(_entry(estate.id, unit_id, "interest", amount, dt.date(year, 12, 31),
                                          f"{year} 年度增值收益分配"))
        if year + 1 == itemised_from or (year == years[-1] and year < itemised_from):
            ledger.rows += [_entry(estate.id, unit_id, "interest", amount, dt.date(year, 12, 31),
                                   f"{years[0]}—{year} 年度增值收益（累计）") for unit_id, amount in lumped.items()]
            lumped = {}


def _past_use(session: Session, rng: random.Random, estate: Estate, ledger: Ledger, today: dt.date,
              users: dict) -> int:
    """A finished repair some years ago that used most of one building's fund (续交预警),
    written as history (its timeline dated then); a few owners have topped up since."""
    building = session.execute(
        select(Building).where(Building.estate_id == estate.id).order_by(Building.id)).scalars().first()
    units = dict(session.execute(select(Unit.id, Unit.floor_area).where(Unit.building_id == building.id)).all())
    paid_on = dt.date(today.year - 2, 6, 18)
    # the interest of the years before the use, then the use, then the years after it
    _interest(estate, ledger, range((estate.delivered_on or paid_on).year, paid_on.year), today.year - ITEMISED_YEARS)
    cost = cents(sum(ledger.balance[u] for u in units) * PAST_USE_SHARE)
    elevator = building.has_elevator
    title = f"{building.name}电梯更换" if elevator else f"{building.name}屋面防水及外墙保温修缮"
    app_id = session.execute(insert(FundApplication.__table__).values(
        estate_id=estate.id, title=title, category="major_repair", matter="use",
        repair_part="电梯曳引机、控制柜及轿厢" if elevator else "屋面防水层、外墙保温层",
        budget=cents(cost * Decimal("1.05") // 100 * 100), contractor="北京安达建设工程有限公司",
        plan="分两期施工，每期 45 天；施工期间张贴告示并设置安全围挡。", exclusion_declared=True,
        state="archived", publicity_from=paid_on - dt.timedelta(days=150),
        publicity_until=paid_on - dt.timedelta(days=144), vote_from=paid_on - dt.timedelta(days=140),
        vote_until=paid_on - dt.timedelta(days=126), actual_cost=cost, paid_on=paid_on,
        disclosed_on=paid_on + dt.timedelta(days=10), rule_quorum="2/3", rule_approval="1/2", rule_strict=True,
        rule_base="participating", silent_consent=False,  # fixed when its vote opened, as the rules then said
    ).returning(FundApplication.__table__.c.id)).scalar_one()
    session.execute(insert(FundScope.__table__).values(application_id=app_id, building_id=building.id, unit_id=None))
    shares = apportion(cost, units)
    session.execute(insert(FundPayment.__table__).values(
        application_id=app_id, estate_id=estate.id, amount=cost, units=len(shares), paid_on=paid_on,
        created_at=dt.datetime.combine(paid_on, dt.time(15))))
    for unit_id, share in shares.items():
        ledger.rows.append(_entry(estate.id, unit_id, "use", -share, paid_on, f"{title} 分摊", application_id=app_id))
        ledger.balance[unit_id] -= share
    _interest(estate, ledger, range(paid_on.year, today.year), today.year - ITEMISED_YEARS)
    # 续交 by a few owners of the drained building
    for unit_id in rng.sample(sorted(units), min(TOP_UPS, len(units))):
        amount = cents(units[unit_id] * Decimal("40"))
        ledger.rows.append(_entry(estate.id, unit_id, "top_up", amount, today - dt.timedelta(days=rng.randint(20, 90)),
                                  "业主续交"))
        ledger.balance[unit_id] += amount
    _history(session, app_id, paid_on, users)
    record_all(session, [(FundApplication, 1), (FundScope, 1), (FundPayment, 1)], "演示数据（历史记录）{count} 条")
    return 1


def _history(session: Session, app_id: int, paid_on: dt.date, users: dict) -> None:
    """The timeline of the past application, dated when it happened."""
    steps = (("submit", "draft", "submitted", "manager", 160), ("approve", "submitted", "publicity", "committee", 150),
             ("open_vote", "publicity", "voting", "committee", 140),
             ("close_vote", "voting", "vote_passed", "committee", 125),
             ("start_work", "vote_passed", "in_progress", "manager", 110),
             ("accept", "in_progress", "accepted", "committee", 30), ("settle", "accepted", "settled", "manager", 25),
             ("request_transfer", "settled", "transfer_requested", "manager", 20),
             ("file", "transfer_requested", "filed", "official", 5), ("pay", "filed", "paid", "official", 0),
             ("disclose", "paid", "disclosed", "committee", -10), ("archive", "disclosed", "archived", "committee", -40))
    session.execute(insert(WorkflowEvent.__table__), [
        dict(table_name=FundApplication.__tablename__, record_id=app_id, transition=name, from_state=a, to_state=b,
             comment="", user_id=users[who].id, username=users[who].username,
             created_at=dt.datetime.combine(paid_on - dt.timedelta(days=days_before), dt.time(9)))
        for name, a, b, who, days_before in steps
    ])


def _public_income(rng: random.Random, estate: Estate, ledger: Ledger, today: dt.date) -> None:
    """公共收益转入 of the last years (advertising, parking), kept on the estate's account."""
    for year in range(today.year - 2, today.year):
        amount = cents(Decimal(rng.randint(30_000, 60_000)))
        ledger.rows.append(_entry(estate.id, None, "public_income", amount, dt.date(year, 12, 20),
                                  f"{year} 年度电梯广告及地面停车公共收益转入"))


# -- applications through the real workflow ----------------------------------------------

def _application(session: Session, estate: Estate, building: Building, **values) -> FundApplication:
    app = FundApplication(estate_id=estate.id, estate=estate, exclusion_declared=True, **values)
    app.scope = [FundScope(building_id=building.id)]
    session.add(app)
    session.flush()
    return app


def _fire(session: Session, app: FundApplication, name: str, user, comment: str = "") -> None:
    FUND_FLOW.fire(session, app, name, user, comment)
    session.flush()


def _through_publicity(session: Session, app: FundApplication, users: dict, today: dt.date, days_ago: int) -> None:
    """Submitted, approved and published; the publicity is dated so that it is over today."""
    _fire(session, app, "submit", users["manager"])
    _fire(session, app, "approve", users["committee"], "方案符合使用范围，同意公示")
    start = today - dt.timedelta(days=days_ago)
    _backdate(session, app, publicity_from=start, publicity_until=start + dt.timedelta(days=6))
    date_steps(session, app, submit=start - dt.timedelta(days=1), approve=start)


def _backdate(session: Session, app: FundApplication, **dates: dt.date) -> None:
    """Dates of a step that happened before today (the timeline itself says 'now'): a
    plain UPDATE, as the row is frozen for every change but a transition's."""
    table = FundApplication.__table__
    session.execute(update(table).where(table.c.id == app.id).values(**dates))
    session.expire(app, list(dates))


def _ballots(session: Session, rng: random.Random, app: FundApplication, share: float, yes: float,
             recorder: str) -> int:
    """Ballots of ``share`` of the persons on the roll, one per person (第9条), half
    on paper (with a scan) and half electronic; written in bulk."""
    roll = session.execute(
        select(VoteRoll.unit_id, VoteRoll.person).where(VoteRoll.application_id == app.id).order_by(VoteRoll.unit_id)
    ).all()
    persons = sorted({person for _unit, person in roll})
    voting = set(rng.sample(persons, round(len(persons) * share)))
    choice_of = {p: "yes" if rng.random() < yes else rng.choice(("no", "no", "abstain")) for p in sorted(voting)}
    now = dt.datetime.combine(clock.today(), dt.time(9))
    first_unit: dict[str, int] = {}
    for unit_id, person in roll:  # a person's ballot is cast through their first unit
        first_unit.setdefault(person, unit_id)
    rows = []
    for person in sorted(voting):
        unit_id = first_unit[person]
        paper = rng.random() < 0.5
        scan = _scan(app.id, unit_id) if paper else None
        rows.append(dict(application_id=app.id, estate_id=app.estate_id, unit_id=unit_id, person=person,
                         choice=choice_of[person], channel="paper" if paper else "electronic", scan=scan,
                         recorded_by=recorder if paper else "业主电子投票", cast_at=now))
    if rows:
        session.execute(insert(Ballot.__table__), rows)
        record_all(session, [(Ballot, len(rows))], f"{app.title} 演示表决票 {{count}} 张")
    return len(rows)


def _scan(app_id: int, unit_id: int) -> str:
    """A small placeholder PDF standing for the scanned paper ballot."""
    return _placeholder(f"{app_id:06d}{unit_id:08d}.pdf", f"{app_id}-{unit_id}")


def _placeholder(name: str, text: str) -> str:
    from views.uploads import upload_folder

    path = upload_folder() / name
    if not path.exists():
        path.write_bytes(_pdf(text))
    return name


def _pdf(text: str) -> bytes:
    """A one-page PDF with a frame and a number (the ballot's application and unit)."""
    stream = f"2 w 40 40 515 762 re S BT /F1 28 Tf 220 420 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _paid_application(session: Session, rng: random.Random, estate: Estate, building: Building, users: dict,
                      today: dt.date, work: str, part: str) -> FundApplication:
    """A repair voted, done, paid (apportioned over the building) and disclosed."""
    unit_ids = list(session.execute(select(Unit.id).where(Unit.building_id == building.id)).scalars())
    fund = sum(balances(session, unit_ids).values())
    budget = max(cents(fund * Decimal("0.04") // 100 * 100), Decimal("5000.00"))
    app = _application(
        session, estate, building, title=f"{building.name}{work}", category="major_repair", matter="use",
        repair_part=part, budget=budget, contractor="北京恒信建筑防水工程有限公司",
        plan=f"逐户排查{part}，按设计方案修缮并做淋水试验，工期 30 天，质保 5 年。",
    )
    _through_publicity(session, app, users, today, days_ago=60)
    _fire(session, app, "open_vote", users["committee"])
    _backdate(session, app, vote_from=today - dt.timedelta(days=50), vote_until=today - dt.timedelta(days=36))
    _ballots(session, rng, app, share=0.85, yes=0.85, recorder=users["committee"].username)
    _fire(session, app, "close_vote", users["committee"])
    date_steps(session, app, open_vote=app.vote_from, close_vote=app.vote_until + dt.timedelta(days=1))
    _fire(session, app, "start_work", users["manager"])
    app.actual_cost = cents(budget * Decimal("0.97"))
    app.acceptance_note = "渗漏点已全部处理，淋水试验合格"
    if app.actual_cost > settings_for(session, app.estate_id).fund_audit_threshold:
        app.audit_report = _placeholder(f"{app.id:06d}{0:08d}.pdf", str(app.id))  # unit ids start at 1
    session.flush()
    _fire(session, app, "accept", users["committee"], "经业委会组织验收合格")
    _fire(session, app, "settle", users["manager"])
    _fire(session, app, "request_transfer", users["manager"])
    _fire(session, app, "file", users["official"], "材料齐全，予以备案")
    _fire(session, app, "pay", users["official"])
    _fire(session, app, "disclose", users["committee"])
    return app


def _emergency_application(session: Session, estate: Estate, building: Building, users: dict) -> FundApplication:
    """电梯故障 (or a leaking roof where there is no lift): no vote, confirmed and paid."""
    kind = "电梯故障" if building.has_elevator else "屋面/外墙渗漏"
    app = _application(
        session, estate, building, title=f"{building.name}{'电梯主板及制动器应急更换' if building.has_elevator else '屋面应急堵漏'}",
        category="emergency", emergency_kind=kind, matter="use",
        repair_part="电梯控制主板、制动器" if building.has_elevator else "屋面防水层",
        budget=Decimal("18600.00"), contractor="北京通力电梯维保有限公司" if building.has_elevator else "北京恒信建筑防水工程有限公司",
        plan="故障电梯已停运并设置警示，维保单位 48 小时内完成更换并经特种设备检验。",
    )
    _fire(session, app, "submit_emergency", users["manager"])
    _fire(session, app, "confirm_emergency", users["committee"], "情况属实，同意应急维修")
    _fire(session, app, "confirm_official", users["official"], "经社区现场核实")
    app.actual_cost = Decimal("18240.00")
    app.acceptance_note = "电梯经检验合格恢复运行" if building.has_elevator else "屋面淋水试验无渗漏"
    session.flush()
    _fire(session, app, "accept", users["committee"])
    _fire(session, app, "settle", users["manager"])
    _fire(session, app, "pay_emergency", users["official"])
    return app


def _voting_application(session: Session, rng: random.Random, estate: Estate, building: Building, users: dict,
                        today: dt.date) -> int:
    """In 业主表决: a partial tally, not yet passing."""
    unit_ids = list(session.execute(select(Unit.id).where(Unit.building_id == building.id)).scalars())
    fund = sum(balances(session, unit_ids).values())
    app = _application(
        session, estate, building, title=f"{building.name}单元门禁及楼道照明更新改造", category="renewal", matter="use",
        repair_part="单元门、门禁系统、楼道声控照明", budget=max(cents(fund * Decimal("0.02") // 100 * 100), Decimal("3000.00")),
        contractor="北京智安科技有限公司", plan="更换单元门及可视对讲门禁，楼道更换声光控节能灯，工期 20 天。",
    )
    _through_publicity(session, app, users, today, days_ago=12)
    _fire(session, app, "open_vote", users["committee"])
    _backdate(session, app, vote_from=today - dt.timedelta(days=4))
    date_steps(session, app, open_vote=today - dt.timedelta(days=4))
    return _ballots(session, rng, app, share=VOTED_SHARE, yes=0.7, recorder=users["committee"].username)
