"""The performance targets on this 2-core machine (docs/benchmarks.md), and how each figure is judged."""

from __future__ import annotations

#: every list and detail page, on SQLite and on PostgreSQL
PAGE_CPU_MS = 15
PAGE_MEDIAN_MS = 25
#: CPU medians over the baselines' on the same page, measured interleaved
RATIO_TO_DJANGO = 0.8
RATIO_TO_PLAIN = 0.5
MAX_QUERIES = 8
BILLS_PER_S = 50_000
TALLY_MS = 50
APPORTION_MS = 500
EXPORT_S = 15
EXPORT_PEAK_MB = 300
IMPORT_S = 15
DASHBOARD_MS = 100
#: the web's median while a consumer exports, over its median with the consumer idle: the export
#: holds one of the two cores, the web keeps the other (docs/jobs.md)
BUSY_SLOWDOWN = 1.5
#: a city on one PostgreSQL (bench/city.py): every page for the official of the whole city
CITY_PAGE_P95_MS = 50
CITY_BILLS_PER_S = 100_000
LOAD_RPS = 80
LOAD_P95_MS = 300


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("达标" if ok else "未达标")
