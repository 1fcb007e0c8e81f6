"""``make bench-city``: a city on one PostgreSQL (1,000 estates, a million units, 13 million bills).

The demo generator builds the full data set (100 estates) in about eight minutes on PostgreSQL;
ten times that would take well over an hour. The city is made from the full data set instead,
inside PostgreSQL: every row that belongs to an estate is inserted ``COPIES - 1`` more times with
its ids (and every id that points at another estate-owned row) shifted past the originals', so
each copy is a whole, consistent set of estates with ids of its own. The copies stay in the
originals' 街道 and 社区, so the official sees all 1,000 estates; the property manager still has
one. The tables' own triggers are off while rows are copied, since every derived table (kept
totals and counts) is copied too, shifted the same way; the foreign keys stay on, so the
database checks that every copied reference lands inside its own copy.

    python -m bench.city                # build (or reuse) the city and measure it
    python -m bench.city --rebuild      # build it again
"""

from __future__ import annotations

import argparse
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import dataset, pages, report
from bench.common import ROOT, machine, run_worker, versions

COPIES = 10
RESULTS = ROOT / "bench" / "results_city.json"
#: the tables whose rows the report counts
COUNTED = ("estate", "unit", "bill", "owner", "fund_entry")

#: integer columns that hold a row's id without a foreign key: 0 there means "the estate itself"
IMPLICIT_REFERENCES = {("fund_unit_total", "unit_key"): "unit"}
#: tables that only point at estates (nullable) but belong to people or the queue, not to an
#: estate: a copy of the city keeps its users, their scopes and an empty queue
NOT_COPIED = frozenset({"job", "user_scope", "department"})


def _log(message: str) -> None:
    print(f"[bench-city {time.strftime('%H:%M:%S')}] {message}", flush=True)


def estate_tables(metadata) -> list:
    """The tables whose every row belongs to one estate: the estate, and (transitively) every
    table with a NOT NULL foreign key to such a table."""
    owned = {"estate"}
    grew = True
    while grew:
        grew = False
        for table in metadata.sorted_tables:
            if table.name not in owned and table.name not in NOT_COPIED and any(
                    key.column.table.name in owned and not key.parent.nullable for key in table.foreign_keys):
                owned.add(table.name)
                grew = True
    return [table for table in metadata.sorted_tables if table.name in owned]


def id_table(column, owned: set[str]) -> str | None:
    """The estate-owned table whose ids ``column`` holds (its own id, or through a foreign key,
    also one pointing at another table's key column), or None: the value is copied as it is."""
    if column.primary_key and column.name == "id" and column.table.name in owned:
        return column.table.name
    implicit = IMPLICIT_REFERENCES.get((column.table.name, column.name))
    if implicit:
        return implicit
    for key in column.foreign_keys:
        found = id_table(key.column, owned)
        if found:
            return found
    return None


def _unique_texts(table, owned: set[str]) -> set[str]:
    """Columns of a uniqueness that no shifted id separates (an estate's name or code, a contract
    number): a copy's value gets the copy's number appended."""
    from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint

    groups = [list(c.columns) for c in table.constraints if isinstance(c, (UniqueConstraint, PrimaryKeyConstraint))]
    groups += [list(index.columns) for index in table.indexes if index.unique]
    found = set()
    for columns in groups:
        if columns and all(id_table(column, owned) is None for column in columns):
            found.update(column.name for column in columns)
    return found


def copy_statement(table, owned: set[str], offsets: dict[str, int], copies: int, later: set[str] = frozenset()) -> str:
    """One INSERT ... SELECT making copies 1 .. copies-1 of the table's original rows; the
    ``later`` columns (pointing at a table copied after this one) are left empty for now."""
    names, values = [], []
    texts = _unique_texts(table, owned)
    for column in table.columns:
        target = id_table(column, owned)
        name = f'"{column.name}"'
        names.append(name)
        if column.name in later:
            values.append("NULL")
        elif target is None:
            values.append(f"{name} || '-' || copy" if column.name in texts else name)
        elif (table.name, column.name) in IMPLICIT_REFERENCES:
            values.append(f"CASE WHEN {name} = 0 THEN 0 ELSE {name} + copy * {offsets[target]} END")
        else:
            values.append(f"{name} + copy * {offsets[target]}")
    # the original rows are those whose first shifted key column is within the originals' ids
    first = next(c for c in table.primary_key.columns if id_table(c, owned))
    original = f'"{first.name}" <= {offsets[id_table(first, owned)]}'
    return (f'INSERT INTO "{table.name}" ({", ".join(names)}) SELECT {", ".join(values)}'
            f' FROM "{table.name}", generate_series(1, {copies - 1}) AS copy WHERE {original}')


def copy_estates(conn, copies: int) -> dict[str, float]:
    """Inserts copies 1 .. copies-1 of every estate-owned row on ``conn`` (no commit); seconds per table.

    The tables' own triggers are off while their rows are copied (the kept totals and counts
    are copied as rows, shifted like the rest; an append-only table refuses nothing here), the
    foreign keys are not: PostgreSQL checks every copied reference."""
    from flask_appbuilder import Model  # its tables: the caller has built the app, which declares ours
    from sqlalchemy import text

    tables = estate_tables(Model.metadata)
    owned = {table.name for table in tables}
    offsets = {table.name: conn.execute(text(f'SELECT coalesce(max(id), 0) FROM "{table.name}"')).scalar_one()
               for table in tables if "id" in table.columns and table.columns["id"].primary_key}
    position = {table.name: index for index, table in enumerate(tables)}
    # a few references close a cycle (a 管理规约 adopted by a later meeting's matter): filled in last
    later = {table.name: {key.parent.name for key in table.foreign_keys
                          if position.get(key.column.table.name, -1) > position[table.name]} for table in tables}
    timings = {}
    for table in tables:
        start = time.perf_counter()
        with _own_triggers_off(conn, table.name):
            conn.execute(text(copy_statement(table, owned, offsets, copies, later[table.name])))
        if table.name in offsets:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'),"
                              f' (SELECT max(id) FROM "{table.name}"))'))
        timings[table.name] = round(time.perf_counter() - start, 2)
    for table in tables:
        for name in sorted(later[table.name]):
            own, target = offsets[table.name], offsets[id_table(table.columns[name], owned)]
            with _own_triggers_off(conn, table.name):
                # a copy's row k * own + i is the original row i's copy number k
                conn.execute(text(
                    f'UPDATE "{table.name}" AS copy SET "{name}" = original."{name}" + (copy.id - 1) / {own} * {target}'
                    f' FROM "{table.name}" AS original WHERE copy.id > {own}'
                    f' AND original.id = copy.id - (copy.id - 1) / {own} * {own} AND original."{name}" IS NOT NULL'))
    return timings


@contextmanager
def _own_triggers_off(conn, table: str):
    from sqlalchemy import text

    conn.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER USER'))
    yield
    conn.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER USER'))


def replicate(url: str, copies: int = COPIES) -> dict[str, Any]:
    """Makes the database at ``url`` (a copy of the full data set) ``copies`` times as large."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        timings = copy_estates(conn, copies)
    start = time.perf_counter()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    analyze = time.perf_counter() - start
    engine.dispose()
    slowest = dict(sorted(timings.items(), key=lambda item: -item[1])[:5])
    return {"copy_s": round(sum(timings.values()), 1), "analyze_s": round(analyze, 1), "slowest_tables_s": slowest}


def main(argv: list[str] | None = None) -> int:
    from bench import runner
    from bench.pg import Server

    parser = argparse.ArgumentParser(prog="bench.city")
    parser.add_argument("--rebuild", action="store_true", help="make the city again even if cached")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "benchmarks-city.md")
    args = parser.parse_args(argv)
    started = time.time()
    results: dict[str, Any] = {"copies": COPIES, "machine": machine(), "versions": versions(),
                               "started": time.strftime("%Y-%m-%d %H:%M:%S")}

    def save() -> None:
        results["total_minutes"] = round((time.time() - started) / 60, 1)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str) + "\n")
        args.markdown.write_text(report.city_markdown(results))

    server = Server().start()
    try:
        results["versions"]["PostgreSQL"] = server.admin("SHOW server_version")[0][0]
        full = dataset.FULL
        city = f"bench_city_{dataset.fingerprint(full)}"
        if args.rebuild or not server.exists(city):
            _log("the full data set (generated if not cached)")
            start = time.perf_counter()
            _url, built = runner.pg_database(server, full, False)
            server.drop(f"bench_run_{full.name}")  # the city needs the disk more than this copy
            results["full_data_set"] = built
            template_s = time.perf_counter() - start
            _log(f"copying it {COPIES} times over")
            server.create(city + "_partial", template=dataset.cache_name(full))
            built = run_worker(["replicate", "--db", server.url(city + "_partial")], timeout=4 * 3600)
            server.admin(f'ALTER DATABASE "{city}_partial" RENAME TO "{city}"')
            built["full_data_set_s"] = round(template_s, 1)
            built["built_at"] = results["started"]
            results["build"] = built
            for old in server.databases("bench_city_"):
                if old != city:
                    server.drop(old)
        else:
            previous = json.loads(args.out.read_text()) if args.out.exists() else {}
            same = previous.get("city") == city
            results["build"] = {**(previous.get("build", {}) if same else {}), "cached": True}
            if same and "full_data_set" in previous:
                results["full_data_set"] = previous["full_data_set"]
        results["city"] = city
        url = server.url(city)
        # a previous run's bill runs were rolled back: their dead rows would sit at the head of
        # the flagship estate's bill index, where a vacuumed database has none
        server.admin_in(city, "VACUUM ANALYZE bill")
        results["counts"] = {name: server.admin_in(city, f"SELECT count(*) FROM {name}")[0][0] for name in COUNTED}
        save()
        _log("pages (product only)")
        results.update(pages.measure(url, args.runs, args.warmup, log=_log, systems=("ours",)))
        save()
        common = ["--db", url, "--size", full.name, "--warmup", str(args.warmup)]
        _log("bill run, dashboards, plans")
        results["billgen"] = run_worker(["billgen", *common, "--runs", "3"])  # batch jobs run 3 times
        save()
        _log("the month's scheduled bill run of every estate, by one consumer process and by two")
        results["monthly"] = run_worker(["monthly", *common], timeout=4 * 3600)
        save()
        results["dashboard"] = run_worker(["dashboard", *common, "--runs", str(args.runs)])
        save()
        results["plans"] = run_worker(["plans", *common, "--runs", "3"])
        results["load_average"] = [round(x, 2) for x in os.getloadavg()]
        save()
    finally:
        server.stop()
    _log(f"done in {results['total_minutes']} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
