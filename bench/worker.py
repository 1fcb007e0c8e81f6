"""One measurement in a fresh process: ``python -m bench.worker <task> --db URL --size S``.

Tasks: build, suite, jobs, billgen, export, import, ... Each prints one JSON document
(bench.common.emit) that the runner collects; ``serve --app ours|plain|django`` instead
answers the page requests of bench.pages, one per line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import time
from typing import Any

from bench.common import (
    DATA, DEMO_PASSWORD, PYTHON, ROOT, QueryCounter, emit, repeat, reset_peak_rss, rss_mb, summary,
)
from bench.dataset import SIZES, Size
from bench.pages import SYSTEMS, USERS, serve

os.environ.setdefault("INSTANCE_PATH", str(DATA / "instance"))

def our_app(url: str):
    from app import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
    })


def login(client, username: str) -> None:
    response = client.post("/login/", data={"username": username, "password": DEMO_PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"login of {username} failed ({response.status_code})")


def _fixtures(session) -> dict[str, Any]:
    """Ids the pages need: the flagship estate, one of its units, the last billed month, and the
    deep page: page 300, or the last but one of the flagship's units on a smaller data set."""
    from sqlalchemy import text

    estate_id = session.execute(text("SELECT id FROM estate WHERE code = 'BJCY0001'")).scalar_one()
    unit_id = session.execute(text("SELECT min(id) FROM unit WHERE estate_id = :e"), {"e": estate_id}).scalar_one()
    period = session.execute(text("SELECT max(period) FROM bill")).scalar_one()
    if isinstance(period, str):
        period = dt.date.fromisoformat(period[:10])
    # the application with the largest roll: the bench's 10,000-unit one, not a demo application
    application_id = session.execute(text(
        "SELECT application_id FROM vote_roll GROUP BY application_id ORDER BY count(*) DESC, application_id LIMIT 1"
    )).scalar_one_or_none()
    units = session.execute(text("SELECT count(*) FROM unit WHERE estate_id = :e"), {"e": estate_id}).scalar_one()
    return {"estate_id": estate_id, "unit_id": unit_id, "period": period, "application_id": application_id,
            "deep_page": min(300, units // 25 - 1)}


def task_menu(args, app=None) -> dict:
    """The unit list's query count before and after adding 30 menu entries."""
    app = app or our_app(args.db)
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    counter = QueryCounter(engine)
    client = app.test_client()
    login(client, USERS["manager"])
    client.get("/unit/list/")
    with counter.measuring():
        client.get("/unit/list/")
    before = counter.count
    with app.app_context():
        for n in range(30):
            app.appbuilder.add_link(f"bench_link_{n}", href="/unit/list/", label=f"附加菜单{n}",
                                    category="基础资料")
    client.get("/unit/list/")
    with counter.measuring():
        client.get("/unit/list/")
    return {"unit_list_queries": before, "with_30_more_menu_entries": counter.count}


# -- services ------------------------------------------------------------------------------

def task_billgen(args, app=None) -> dict:
    from dateutil.relativedelta import relativedelta

    from app.extensions import db
    from models.estate import Estate
    from models.fees import generate_bills, month_start

    app = app or our_app(args.db)
    runs, cpu = [], []
    count = 0
    with app.app_context():
        fixtures = _fixtures(db.session)
        first = month_start(fixtures["period"]) + relativedelta(months=1)
        for _ in range(args.runs):
            estate = db.session.get(Estate, fixtures["estate_id"])
            start, start_cpu = time.perf_counter(), time.process_time()
            count = generate_bills(db.session, estate, first, 12)
            db.session.flush()
            runs.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            db.session.rollback()
        units = db.session.execute(
            __import__("sqlalchemy").text("SELECT count(*) FROM unit WHERE estate_id = :e"),
            {"e": fixtures["estate_id"]},
        ).scalar_one()
    best = sorted(runs)[len(runs) // 2]
    return {"units": units, "months": 12, "bills": count, "median_s": round(best, 3),
            "runs_s": [round(r, 3) for r in runs], "cpu_s": [round(c, 3) for c in cpu],
            "bills_per_s": round(count / best)}


def task_fund(args, app=None) -> dict:
    """The live tally over the 10,000-unit roll and the apportionment of the actual cost."""
    from app.extensions import db

    app = app or our_app(args.db)
    with app.app_context():
        fixtures = _fixtures(db.session)
        from models.repair_fund import FundApplication, apportion, current_tally, planned_shares

        application = db.session.get(FundApplication, fixtures["application_id"])
        result = current_tally(db.session, application)
        tally = {"voters": result.total_heads, "passed": result.passed,
                 **summary(repeat(lambda: current_tally(db.session, application), args.warmup, args.runs))}
        shares = planned_shares(db.session, application)
        from models.estate import Unit
        from sqlalchemy import select

        areas = dict(db.session.execute(select(Unit.id, Unit.floor_area).where(Unit.id.in_(list(shares)))).all())
        apportionment = {
            "units": len(shares), "amount": str(application.actual_cost), "sum_of_shares": str(sum(shares.values())),
            "with_reading_areas": summary(repeat(lambda: planned_shares(db.session, application), 1, 5)),
            "arithmetic_only": summary(repeat(lambda: apportion(application.actual_cost, areas), 1, 5)),
        }
        db.session.rollback()
    return {"tally": tally, "apportionment": apportionment}


#: (user key, page) of the dashboards: the jurisdiction's for the official, one estate's for the manager
DASHBOARDS = {"official": ("辖区概览（全部小区）", "/dashboard/jurisdiction/"),
              "manager": ("小区概览（最大的小区）", "/dashboard/estate/")}


def task_dashboard(args, app=None) -> dict:
    """The dashboards, figures computed in SQL over the user's estates."""
    app = app or our_app(args.db)
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        fixtures = _fixtures(app.appbuilder.session)
        app.appbuilder.session.remove()
    counter = QueryCounter(engine)
    found = {}
    for key, (label, path) in DASHBOARDS.items():
        client = app.test_client()
        login(client, USERS[key])
        if key == "manager":
            path = f"{path}?estate={fixtures['estate_id']}"
        if (status := client.get(path).status_code) != 200:
            raise RuntimeError(f"dashboard {path}: HTTP {status}")
        with counter.measuring():
            client.get(path)
        found[key] = {"label": label, "path": path, "queries": counter.count,
                      **summary(repeat(lambda: client.get(path), args.warmup, args.runs))}
    return found


def _export_threshold(app, rows: int) -> None:
    from app.extensions import db
    from models.settings import Settings

    with app.app_context():
        Settings.current(db.session).export_background_rows = rows
        db.session.commit()


def task_export(args, app=None) -> dict:
    """The export streamed by the web request itself (the threshold raised above the data set)."""
    app = app or our_app(args.db)
    _export_threshold(app, 10**9)
    client = app.test_client()
    login(client, USERS["official"])
    client.get("/unit/list/")
    reset_peak_rss()
    before = rss_mb()
    start, start_cpu = time.perf_counter(), time.process_time()
    response = client.get("/unit/export/")
    body = response.get_data()
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    after = rss_mb()
    if response.status_code != 200:
        raise RuntimeError(f"export: HTTP {response.status_code}")
    from openpyxl import load_workbook

    rows = None
    if args.size == "smoke":  # reading 100k rows back would take longer than writing them
        rows = sum(1 for _ in load_workbook(io.BytesIO(body), read_only=True).active.iter_rows(min_row=2))
    with app.app_context():
        from sqlalchemy import text

        units = app.extensions["sqlalchemy"].session.execute(text("SELECT count(*) FROM unit")).scalar_one()
    return {"seconds": round(seconds, 2), "cpu_s": round(cpu, 2), "bytes": len(body), "units": units, "rows_checked": rows,
            "rss_before_mb": before["rss_mb"], "peak_rss_mb": after["peak_rss_mb"],
            "peak_rss_growth_mb": round(after["peak_rss_mb"] - before["rss_mb"], 1)}


def task_jobs(args, app=None) -> dict:
    """Background jobs, run by a real consumer process (``flask worker``) on a SQLite queue:
    the manager's unit list while the consumer is idle and while it exports every unit for
    the official; the export's and a 12-month bill run's durations; and how long after the daily
    reminder falls due every inbox has its message (the consumer's minute tick included)."""
    from dateutil.relativedelta import relativedelta
    from sqlalchemy import delete, func, select

    from app import jobs
    from app.extensions import db
    from models.fees import month_start
    from models.jobs import Job, Notification
    from models.settings import Settings

    queue_file = DATA / "jobs_queue.db"
    queue_file.unlink(missing_ok=True)
    jobs.use_queue(f"sqlite:///{queue_file}")
    app = app or our_app(args.db)
    _export_threshold(app, 0)  # every export in the background
    manager, official = app.test_client(), app.test_client()
    login(manager, USERS["manager"])
    login(official, USERS["official"])
    path = "/unit/list/"
    idle = summary(repeat(lambda: manager.get(path), args.warmup, args.runs))
    consumers = _start_consumers(1, args.db, queue_file)

    def finished(job_id: int) -> Job:
        return _finished(app, [job_id])[0]

    def job_id_of(response) -> int:
        if response.status_code != 302 or "/my/jobs/" not in response.headers.get("Location", ""):
            raise RuntimeError(f"no job was submitted ({response.status_code})")
        return int(response.headers["Location"].rsplit("/", 1)[1])

    try:
        export = job_id_of(official.get("/unit/export/"))
        while True:  # the export must be running before the busy samples count
            with app.app_context():
                if db.session.get(Job, export).state != "queued":
                    break
            time.sleep(0.02)
        busy_ms, busy_cpu = [], []
        while True:
            with app.app_context():
                if db.session.get(Job, export).state in ("done", "failed"):
                    break
            start, start_cpu = time.perf_counter(), time.process_time()
            manager.get(path)
            busy_ms.append((time.perf_counter() - start) * 1000)
            busy_cpu.append((time.process_time() - start_cpu) * 1000)
        exported = finished(export)
        with app.app_context():
            fixtures = _fixtures(db.session)
        first = month_start(fixtures["period"]) + relativedelta(months=1)  # as billgen (which rolled back)
        run = finished(job_id_of(manager.post("/bill/generate/", data={
            "estate": fixtures["estate_id"], "first": f"{first:%Y-%m}", "months": "12"})))
        with app.app_context():  # the reminder falls due now; the consumer's minute tick finds it
            db.session.execute(delete(Notification).where(Notification.title.like("今日待办提醒%")))
            db.session.execute(delete(Job).where(Job.kind == "reminders"))  # today's, if its tick was first
            Settings.current(db.session).reminder_hour = 0
            db.session.commit()
        due = time.perf_counter()
        while True:
            with app.app_context():
                reminder_id = db.session.execute(select(Job.id).where(Job.kind == "reminders")).scalars().first()
            if reminder_id is not None:
                break
            time.sleep(0.1)
        reminders = finished(reminder_id)
        delivered_s = time.perf_counter() - due
        with app.app_context():
            told = db.session.scalar(select(func.count()).select_from(Notification).where(
                Notification.title.like("今日待办提醒%")))
    finally:
        _stop(consumers)

    def seconds(job: Job) -> float:
        return round((job.finished_at - job.started_at).total_seconds(), 2)

    return {
        "page": path, "idle": idle,
        "busy": {"samples": len(busy_ms), **summary((busy_ms, busy_cpu))} if busy_ms else None,
        "export": {"state": exported.state, "rows": exported.rows, "seconds": seconds(exported),
                   "rows_per_s": round(exported.rows / max(seconds(exported), 0.01)) if exported.rows else None},
        "bill_run": {"state": run.state, "bills": run.rows, "seconds": seconds(run),
                     "bills_per_s": round(run.rows / max(seconds(run), 0.01)) if run.rows else None},
        "reminders": {"state": reminders.state, "people": told, "due_to_inbox_s": round(delivered_s, 2),
                      "job_s": seconds(reminders)},
    }


def _finished(app, ids: list[int], timeout: float = 1800) -> list:
    """The jobs, once every one is done or failed (detached from the session). While waiting
    it asks only how many are left: reading a city's 1,000 jobs every 50 ms took CPU from the
    consumers and the database it measures, on the same two cores."""
    from sqlalchemy import func, select

    from app.extensions import db
    from models.jobs import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            left = db.session.scalar(select(func.count()).select_from(Job).where(
                Job.id.in_(ids), Job.state.not_in(("done", "failed"))))
            if not left:
                jobs = db.session.execute(select(Job).where(Job.id.in_(ids))).scalars().all()
                db.session.expunge_all()
                return jobs
        time.sleep(0.2)
    raise RuntimeError(f"{len(ids)} jobs (the first {ids[0]}) did not finish in {timeout} s")


def _start_consumers(count: int, url: str, queue_file) -> list:
    """``count`` consumer processes (``flask worker``, one job at a time each) on a SQLite queue."""
    import subprocess

    env = {**os.environ, "DATABASE_URL": url, "JOB_QUEUE_URL": f"sqlite:///{queue_file}"}
    return [subprocess.Popen([PYTHON, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(count)]


def _stop(consumers: list) -> None:
    for consumer in consumers:
        consumer.terminate()
    for consumer in consumers:
        consumer.wait(30)


def task_monthly(args, app=None) -> dict:
    """The month's scheduled bill run of every estate, as the schedule submits it (one job per
    estate, docs/jobs.md), done by one consumer process and then, for the next month, by two.
    The rate is every bill of the month over the time from the first job's start to the last
    one's end, read from the jobs' own timestamps (the consumers' start-up is not counted).
    The bills, jobs and messages are deleted afterwards: the city's database is kept between runs."""
    from dateutil.relativedelta import relativedelta
    from sqlalchemy import delete, func, select

    from app import jobs
    from app.extensions import db
    from models.estate import Estate, Unit
    from models.fees import Bill, month_start
    from models.jobs import Job, Notification
    from views.fees import submit_bill_run

    app = app or our_app(args.db)
    with app.app_context():
        fixtures = _fixtures(db.session)
        units = db.session.scalar(select(func.count()).select_from(Unit))
    # the jobs task bills the 12 months after the data set's last; these are the two after those
    period = month_start(fixtures["period"]) + relativedelta(months=13)
    found, job_ids, periods = [], [], []
    queue_file = DATA / "monthly_queue.db"
    try:
        for consumers in (1, 2):
            _vacuum_bills(app)  # as a month later: a run does not meet the previous one's vacuum
            queue_file.unlink(missing_ok=True)
            jobs.use_queue(f"sqlite:///{queue_file}")
            with app.app_context():
                session = db.session
                submitted = [submit_bill_run(session, estate, period, 1, user_id=None,
                                             unique_key=f"bill_run:{estate.id}:{period:%Y-%m}")
                             for estate in session.execute(select(Estate).order_by(Estate.id)).scalars()]
                session.commit()
                ids = [job.id for job in submitted]
            job_ids += ids
            periods.append(period)
            for job_id in ids:
                jobs.enqueue(job_id)
            running = _start_consumers(consumers, args.db, queue_file)
            try:
                done = _finished(app, ids, timeout=3600)
            finally:
                _stop(running)
            failed = [job.message for job in done if job.state != "done"]
            retried = sum(1 for job in done if job.attempts > 1)  # a retry waits 30 s: the rate would show it
            bills = sum(job.rows or 0 for job in done)
            seconds = (max(job.finished_at for job in done) - min(job.started_at for job in done)).total_seconds()
            found.append({"consumers": consumers, "period": f"{period:%Y-%m}", "estates": len(ids), "bills": bills,
                          "seconds": round(seconds, 2), "bills_per_s": round(bills / max(seconds, 0.01)),
                          "retried": retried, "failed": len(failed), "first_failure": failed[0] if failed else None})
            period += relativedelta(months=1)
    finally:
        queue_file.unlink(missing_ok=True)
        with app.app_context():
            session = db.session
            session.execute(delete(Bill).where(Bill.period.in_(periods)))
            session.execute(delete(Notification).where(Notification.link.in_([f"/my/jobs/{i}" for i in job_ids])))
            session.execute(delete(Job).where(Job.id.in_(job_ids)))
            session.commit()
        _vacuum_bills(app)
    return {"units": units, "runs": found}


def _vacuum_bills(app) -> None:
    """PostgreSQL's VACUUM ANALYZE of the bill table, now rather than by autovacuum in the middle
    of the next measurement (a city month adds 2.2 million bills; deleting them leaves as many
    dead rows)."""
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE bill"))


def owners_workbook(count: int, estate_name: str, seed: int = 99) -> bytes:
    import random

    from openpyxl import Workbook

    from app import fakes
    from models.people import Owner
    from views.excel import ImportSheet

    rng = random.Random(seed)
    sheet = ImportSheet(Owner)
    book = Workbook(write_only=True)
    ws = book.create_sheet("业主")
    ws.append(sheet.headers)
    seen = set()
    for n in range(count):
        while True:
            number = fakes.id_card_for(rng, dt.date(1950 + rng.randint(0, 50), rng.randint(1, 12), rng.randint(1, 28)),
                                       rng.random() < 0.5, "110105")
            if number not in seen:
                seen.add(number)
                break
        values = {"estate": estate_name, "name": fakes.person_name(rng), "id_type": "resident_id",
                  "id_number": number, "mobile": fakes.mobile(rng), "is_developer": "否"}
        row = []
        for _header, owner, _part in sheet.columns:
            row.append(values.get(owner.name, ""))
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def task_import(args, app=None) -> dict:
    from sqlalchemy import text

    from app.extensions import db

    size: Size = SIZES[args.size]
    app = app or our_app(args.db)
    with app.app_context():
        estate_name = db.session.execute(text("SELECT name FROM estate WHERE code = 'BJCY0001'")).scalar_one()
        before = db.session.execute(text("SELECT count(*) FROM owner")).scalar_one()
        workbook = owners_workbook(size.import_owners, estate_name)
        db.session.remove()
    client = app.test_client()
    login(client, USERS["manager"])
    timings = {}
    for dry_run in ("1", ""):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.post("/owner/import/", data={
            "dry_run": dry_run, "file": (io.BytesIO(workbook), "owners.xlsx"),
        }, content_type="multipart/form-data")
        key = "dry_run" if dry_run else "import"
        timings[f"{key}_s"] = round(time.perf_counter() - start, 2)
        timings[f"{key}_cpu_s"] = round(time.process_time() - start_cpu, 2)
        expected = 200 if dry_run else 302
        if response.status_code != expected:
            raise RuntimeError(f"import (dry_run={dry_run!r}): HTTP {response.status_code}\n"
                               + response.get_data(as_text=True)[-2000:])
    with app.app_context():
        after = db.session.execute(text("SELECT count(*) FROM owner")).scalar_one()
    return {"owners": size.import_owners, "imported": after - before, **timings}


def task_build(args) -> dict:
    from bench.dataset import build

    app = our_app(args.db)
    with app.app_context():
        return build(SIZES[args.size])


def task_plans(args, app=None) -> dict:
    """The slowest statement of each page an official opens, with the plan the database chose
    for it (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite): what the time of the
    page rests on, and whether it reads an index or every row."""
    from sqlalchemy import event

    from app.extensions import db
    from bench.pages import LABELS, paths

    app = app or our_app(args.db)
    client = app.test_client()
    login(client, USERS["official"])
    with app.app_context():
        engine, fixtures = db.engine, _fixtures(db.session)
    fixtures["period"] = fixtures["period"].isoformat()  # as the page driver receives them
    pages = paths("ours", fixtures, "official")
    timed: list[tuple[float, str, Any]] = []

    def started(conn, _cursor, _statement, _parameters, _context, _many) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def finished(conn, _cursor, statement, parameters, _context, _many) -> None:
        timed.append((time.perf_counter() - conn.info["bench_started"], statement, parameters))

    event.listen(engine, "before_cursor_execute", started)
    event.listen(engine, "after_cursor_execute", finished)
    found = {}
    try:
        for key, path in pages.items():
            client.get(path)  # caches warm, as in the page measurements
            timed.clear()
            client.get(path)
            seconds, statement, parameters = max(timed, key=lambda entry: entry[0])
            with engine.connect() as conn:
                if engine.dialect.name == "postgresql":
                    explained = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar()
                    plan, executed = _plan_outline(explained[0]["Plan"]), explained[0]["Execution Time"]
                else:
                    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
                    plan, executed = " / ".join(row[-1] for row in rows), None
            found[key] = {"label": LABELS[key].format(deep=fixtures["deep_page"]), "path": path,
                          "statement_ms": round(seconds * 1000, 2), "explained_ms": executed, "plan": plan}
    finally:
        event.remove(engine, "before_cursor_execute", started)
        event.remove(engine, "after_cursor_execute", finished)
    return found


def _plan_outline(node: dict[str, Any]) -> str:
    """A PostgreSQL plan in one line: each node with the index or table it reads."""
    name = node["Node Type"]
    if "Index Name" in node:
        name += f" {node['Index Name']}"
    elif "Relation Name" in node:
        name += f" {node['Relation Name']}"
    children = node.get("Plans", [])
    if len(children) == 1:
        return f"{name} → {_plan_outline(children[0])}"
    return f"{name} [{'; '.join(_plan_outline(child) for child in children)}]" if children else name


def task_replicate(args) -> dict:
    """The city: the database at ``--db`` (a copy of the full data set) copied over (bench/city.py)."""
    from bench.city import replicate

    our_app(args.db)  # the models' tables, as the app declares them
    return replicate(args.db)


def task_suite(args) -> dict:
    """Every measurement of the product in one process (one app start instead of five);
    the 30 extra menu entries go last, they stay in the app."""
    app = our_app(args.db)
    found = {}
    runs = args.runs
    args.runs = min(args.runs, 3)  # batch jobs run 3 times, not 20
    found["billgen"] = task_billgen(args, app)
    args.runs = runs
    found.update(task_fund(args, app))
    found["dashboard"] = task_dashboard(args, app)
    found["export"] = task_export(args, app)
    found["import"] = task_import(args, app)
    found["plans"] = task_plans(args, app)
    found["menu"] = task_menu(args, app)
    return found


TASKS = {"build": task_build, "suite": task_suite, "jobs": task_jobs, "fund": task_fund, "dashboard": task_dashboard,
         "menu": task_menu, "billgen": task_billgen, "export": task_export, "import": task_import,
         "plans": task_plans, "replicate": task_replicate, "monthly": task_monthly}


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.worker")
    parser.add_argument("task", choices=sorted([*TASKS, "serve"]))
    parser.add_argument("--db", required=True)
    parser.add_argument("--size", default="full", choices=sorted(SIZES))
    parser.add_argument("--app", default="ours", choices=SYSTEMS)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if args.task == "serve":
        serve(args.app, args.db)
    else:
        emit(TASKS[args.task](args))


if __name__ == "__main__":
    main()
