"""``make bench``: build or reuse the data sets, measure everything, write the results.

    python -m bench                 # full size, SQLite and PostgreSQL
    python -m bench --size smoke    # 1,000 units (what tests/test_bench_smoke.py runs)
    python -m bench --skip-pg       # SQLite only

DATABASE_URL=postgresql://user@host/db points the PostgreSQL half at an existing
server (the user needs CREATEDB); without it a private cluster is started in
bench/data/pg.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import dataset, pages, report
from bench.common import DATA, ROOT, machine, run_worker, versions

RESULTS = ROOT / "bench" / "results.json"


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def sqlite_database(size: dataset.Size, rebuild: bool) -> tuple[str, dict]:
    """A fresh working copy of the cached SQLite data set (built first if needed)."""
    DATA.mkdir(parents=True, exist_ok=True)
    cache = dataset.sqlite_cache(size)
    built = {"cached": True}
    if rebuild or not cache.exists():
        _log(f"SQLite: generating the {size.name} data set (cache miss)")
        partial = cache.with_suffix(".partial.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        built = run_worker(["build", "--db", f"sqlite:///{partial}", "--size", size.name])
        dataset.copy_sqlite(partial, cache)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        built["cached"] = False
        dataset.prune_sqlite(size)
    work = DATA / f"run_{size.name}.db"
    dataset.copy_sqlite(cache, work)
    return f"sqlite:///{work}", built


def pg_database(server, size: dataset.Size, rebuild: bool) -> tuple[str, dict]:
    """A fresh working database cloned from the cached template database."""
    template = dataset.cache_name(size)
    built = {"cached": True}
    if rebuild or not server.exists(template):
        _log(f"PostgreSQL: generating the {size.name} data set (cache miss)")
        server.create(template)
        try:
            built = run_worker(["build", "--db", server.url(template), "--size", size.name])
        except Exception:
            server.drop(template)
            raise
        built["cached"] = False
        for old in server.databases(f"bench_{size.name}_"):
            if old != template:
                server.drop(old)
    work = f"bench_run_{size.name}"
    server.create(work, template=template)
    return server.url(work), built


def measure(url: str, size: dataset.Size, runs: int, warmup: int, found: dict, save) -> dict:
    """Every measurement on one database, into ``found``, saved after each part: a failure
    further on loses nothing measured."""
    common = ["--db", url, "--size", size.name]
    _log("  pages of the product, plain Flask-AppBuilder and Django admin, interleaved")
    found.update(pages.measure(url, runs, warmup, log=_log))
    save()
    _log("  product: bill generation, fund, dashboards, export, import, menu")
    found.update(run_worker(["suite", *common, "--runs", str(runs), "--warmup", str(warmup)]))
    save()
    _log("  background jobs: a consumer exporting every unit while the web serves, a bill run, reminders")
    found["jobs"] = run_worker(["jobs", *common, "--runs", str(runs), "--warmup", str(warmup)])
    save()
    _log("  the month's scheduled bill run of every estate, by one consumer process and by two")
    found["monthly"] = run_worker(["monthly", *common], timeout=2 * 3600)
    found["load_average"] = [round(x, 2) for x in os.getloadavg()]
    save()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--size", default="full", choices=sorted(dataset.SIZES))
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--rebuild", action="store_true", help="generate the data sets even if cached")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    size = dataset.SIZES[args.size]
    runs = args.runs or (20 if size.name == "full" else 3)
    started = time.time()
    results: dict = {
        "size": size.__dict__, "machine": machine(), "versions": versions(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"), "databases": {},
    }
    _log(f"size {size.name}: {size}")
    def save() -> None:
        _save(args, results, started)

    url, built = sqlite_database(size, args.rebuild)
    results["databases"]["sqlite"] = {"data_set": built}
    measure(url, size, runs, args.warmup, results["databases"]["sqlite"], save)

    if not args.skip_pg:
        from bench.pg import Server

        server = Server().start()
        try:
            url, built = pg_database(server, size, args.rebuild)
            results["versions"]["PostgreSQL"] = server.admin("SHOW server_version")[0][0]
            results["databases"]["postgresql"] = {"data_set": built}
            measure(url, size, runs, args.warmup, results["databases"]["postgresql"], save)
            if not args.skip_load:
                from bench import load

                _log("load test (gunicorn, 2 sync workers, PostgreSQL)")
                url, _ = pg_database(server, size, False)  # a clean copy: the import added owners
                paths = _load_mix(results["databases"]["postgresql"])
                try:
                    results["load"] = load.run(url, paths, duration=args.load_seconds)
                except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
                    _log(f"load test failed: {error}")  # what was measured before it stays in the report
                    results["load"] = {"error": str(error)}
        finally:
            server.stop()
    _save(args, results, started)
    _log(f"done in {results['total_minutes']} min: {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


def _save(args, results: dict, started: float) -> None:
    results["total_minutes"] = round((time.time() - started) / 60, 1)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str) + "\n")
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(report.markdown(results))


def _load_mix(measured: dict) -> list[str]:
    """list, filtered, search and detail pages and the estate dashboard, as measured (same URLs)."""
    keys = ("unit_first", "unit_filtered", "bill_first", "bill_filtered", "unit_search", "unit_show", "bill_search")
    return ([measured["pages_ours"]["users"]["manager"][k]["path"] for k in keys]
            + [measured["dashboard"]["manager"]["path"]])


if __name__ == "__main__":
    sys.exit(main())
