"""List and detail pages of the product, plain Flask-AppBuilder and Django admin, measured
interleaved.

Each system runs in a process of its own (``python -m bench.worker serve --app NAME``) and
answers one JSON request per line. The driver here asks them in turn, page by page: in every
round each page is requested from all three, in an order rotated from page to page and round
to round, so that the machine's drift lands on every system alike. Ratios are judged on the
CPU medians (the time this process spends per request, not the time waiting for a core); the
spread of the per-round medians says how steady a figure was.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Any

from bench.common import PYTHON, ROOT, QueryCounter, repeat, summary

SYSTEMS = ("ours", "plain", "django")
#: who reads the pages, as the product's demo users (plain FAB logs in as its admin)
USERS = {"manager": "manager_a", "official": "official_jd"}
LABELS = {
    "fund_show": "维修资金使用申请详情", "fund_tally": "表决与计票（1 万户）",
    "unit_first": "房屋列表 首页", "unit_deep": "房屋列表 第 {deep} 页", "unit_filtered": "房屋列表 筛选（出租）",
    "unit_search": "房屋列表 搜索房号", "bill_first": "账单列表 首页", "bill_deep": "账单列表 第 {deep} 页",
    "bill_filtered": "账单列表 筛选（欠费）", "bill_search": "账单列表 按账期", "unit_show": "房屋详情",
}


def paths(system: str, fixtures: dict[str, Any], user: str) -> dict[str, str]:
    """The same pages in each system's own URLs. The plain baseline has no scoping: its admin
    is narrowed to the manager's estate by a filter. Django's page numbers start at 1, FAB's at 0,
    so page 300 is ``p=301`` there."""
    unit, period, deep = fixtures["unit_id"], dt.date.fromisoformat(fixtures["period"]), fixtures["deep_page"]
    if system == "django":
        day = period + dt.timedelta(days=1)
        return {
            "unit_first": "/admin/bench_admin/unit/",
            "unit_deep": f"/admin/bench_admin/unit/?p={deep + 1}",
            "unit_filtered": "/admin/bench_admin/unit/?status__exact=rented",
            "unit_search": "/admin/bench_admin/unit/?q=2-150",
            "bill_first": "/admin/bench_admin/bill/",
            "bill_deep": f"/admin/bench_admin/bill/?p={deep + 1}",
            "bill_filtered": "/admin/bench_admin/bill/?arrears=yes",
            "bill_search": f"/admin/bench_admin/bill/?period__gte={period:%Y-%m-%d}&period__lt={day:%Y-%m-%d}",
            "unit_show": f"/admin/bench_admin/unit/{unit}/change/",
        }
    plain = system == "plain"
    scope = f"_flt_0_estate={fixtures['estate_id']}&" if plain and user == "manager" else ""
    status = "_flt_3_status" if plain else "_flt_0_status"  # FAB's text 等于 / the product's closed list
    application = fixtures.get("application_id")
    fund = {} if plain or not application else {
        "fund_show": f"/fund_application/show/{application}", "fund_tally": f"/fund_application/tally/{application}"}
    return fund | {
        "unit_first": f"/unit/list/?{scope}",
        "unit_deep": f"/unit/list/?{scope}page_UnitView={deep}",
        "unit_filtered": f"/unit/list/?{scope}{status}=rented",
        "unit_search": f"/unit/list/?{scope}_flt_2_room_no=2-150",
        "bill_first": f"/bill/list/?{scope}",
        "bill_deep": f"/bill/list/?{scope}page_BillView={deep}",
        "bill_filtered": f"/bill/list/?{scope}_flt_1_outstanding=0",
        "bill_search": f"/bill/list/?{scope}_flt_0_period={period:%Y-%m-%d}",
        "unit_show": f"/unit/show/{unit}",
    }


# -- inside a system's process ---------------------------------------------------------------

class System:
    """One system's logged-in clients, timing its own requests."""

    clients: dict[str, Any]

    def status(self, user: str, path: str) -> dict[str, Any]:
        response = self.clients[user].get(path)
        return {"status": response.status_code, "bytes": len(self.body(response))}

    def time(self, user: str, path: str, runs: int) -> dict[str, list[float]]:
        get = self.clients[user].get
        wall, cpu = repeat(lambda: get(path), 0, runs)
        return {"wall": wall, "cpu": cpu}


class FlaskSystem(System):
    body = staticmethod(lambda response: response.data)

    def __init__(self, db: str, plain: bool):
        from bench.worker import login, our_app

        if plain:
            from bench.plain_fab import create_plain_app

            app = create_plain_app(db)
        else:
            app = our_app(db)
        self.app = app
        with app.app_context():
            self.counter = QueryCounter(app.extensions["sqlalchemy"].engine)
        self.clients = {}
        for user, username in USERS.items():
            self.clients[user] = app.test_client()
            login(self.clients[user], "admin" if plain else username)

    def fixtures(self) -> dict[str, Any]:
        from bench.worker import _fixtures

        with self.app.app_context():
            session = self.app.appbuilder.session
            found = _fixtures(session)
            session.remove()
        return found

    def queries(self, user: str, path: str) -> int:
        with self.counter.measuring():
            self.clients[user].get(path)
        return self.counter.count

    def constancy(self, user: str) -> dict[str, int]:
        """Queries of the same list at other page sizes."""
        found = {}
        for size in (10, 25, 100):
            self.clients[user].get(f"/unit/list/?psize_UnitView={size}")
            found[f"unit_list_psize_{size}"] = self.queries(user, f"/unit/list/?psize_UnitView={size}")
        return found


class DjangoSystem(System):
    body = staticmethod(lambda response: response.content)

    def __init__(self, db: str):
        from bench import django_baseline

        django_baseline.setup(db)
        self.clients = {user: django_baseline.client(user) for user in USERS}

    def queries(self, user: str, path: str) -> int:
        from django.db import connection

        seen = []

        def count(execute, sql, params, many, context):
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            self.clients[user].get(path)
        return len(seen)


def serve(system: str, db: str) -> None:
    """The worker's loop: one JSON request per line on stdin, one JSON answer per line."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the apps print goes to stderr, never into the answers
    found = DjangoSystem(db) if system == "django" else FlaskSystem(db, plain=system == "plain")
    answers.write(json.dumps({"ready": system}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        action = getattr(found, request.pop("do"))
        answers.write(json.dumps(action(**request), default=str) + "\n")


# -- the driver ------------------------------------------------------------------------------

class Remote:
    """A system's worker process, asked one thing at a time."""

    def __init__(self, system: str, db: str):
        self.system = system
        self.errors = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "bench.worker", "serve", "--app", system, "--db", db], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors, text=True, bufsize=1,
        )
        self._answer()

    def _answer(self) -> Any:
        line = self.process.stdout.readline()
        if not line:
            self.errors.seek(0)
            raise RuntimeError(f"the {self.system} page server stopped:\n{self.errors.read()[-6000:]}")
        return json.loads(line)

    def ask(self, do: str, **arguments: Any) -> Any:
        self.process.stdin.write(json.dumps({"do": do, **arguments}) + "\n")
        return self._answer()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.errors.close()


def measure(db: str, runs: int, warmup: int, rounds: int = 5, log=print,
            systems: tuple[str, ...] = SYSTEMS) -> dict[str, Any]:
    """``runs`` requests of every page from every system, in ``rounds`` interleaved rounds."""
    rounds = max(1, min(rounds, runs))
    per_round = math.ceil(runs / rounds)
    remotes = {}
    try:
        for system in systems:
            log(f"  starting the {system} pages")
            remotes[system] = Remote(system, db)
        fixtures = remotes["ours"].ask("fixtures")
        results = {system: {"fixtures": fixtures, "users": {}} for system in systems}
        for user in USERS:
            plan = {system: paths(system, fixtures, user) for system in systems}
            samples: dict[tuple[str, str], dict[str, list[float]]] = {}
            for key in plan["ours"]:
                for system in systems:
                    path = plan[system].get(key)
                    if path is None:
                        continue
                    probe = remotes[system].ask("status", user=user, path=path)
                    entry = {"label": LABELS[key].format(deep=fixtures["deep_page"]), "path": path, "html_bytes": probe["bytes"]}
                    if probe["status"] != 200:
                        if system == "ours":
                            raise RuntimeError(f"ours {user} {path}: HTTP {probe['status']}")
                        # a failure of a baseline is a finding, not a crash
                        results[system]["users"].setdefault(user, {})[key] = {**entry, "error": f"HTTP {probe['status']}"}
                        continue
                    entry["queries"] = remotes[system].ask("queries", user=user, path=path)
                    results[system]["users"].setdefault(user, {})[key] = entry
                    remotes[system].ask("time", user=user, path=path, runs=warmup)
                    samples[system, key] = {"wall": [], "cpu": [], "rounds": []}
            keys = list(plan["ours"])
            for round_no in range(rounds):
                for index, key in enumerate(keys):
                    shift = (round_no + index) % len(systems)
                    for system in systems[shift:] + systems[:shift]:
                        if (system, key) not in samples:
                            continue
                        found = remotes[system].ask("time", user=user, path=plan[system][key], runs=per_round)
                        sample = samples[system, key]
                        sample["wall"] += found["wall"]
                        sample["cpu"] += found["cpu"]
                        sample["rounds"].append(statistics.median(found["cpu"]))
            for (system, key), sample in samples.items():
                # with the CPU median of each round: how much the figure moved while the machine drifted
                results[system]["users"][user][key].update(
                    summary((sample["wall"], sample["cpu"])),
                    cpu_round_medians=[round(median, 2) for median in sample["rounds"]])
            results["ours"].setdefault("query_constancy", {})[user] = remotes["ours"].ask("constancy", user=user)
        return {f"pages_{system}": found for system, found in results.items()}
    finally:
        for remote in remotes.values():
            remote.close()
