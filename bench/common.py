"""Timing, query counting and memory probes shared by the workers."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
PYTHON = sys.executable
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "Demo@2026")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 20 runs is the 19th fastest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(timed: tuple[list[float], list[float]]) -> dict[str, float]:
    """Wall-clock median/p95, and the median CPU time of this process per run: on a
    shared machine the wall clock includes waiting for a core, the CPU time does not
    (it leaves out the database server's own CPU on PostgreSQL)."""
    times_ms, cpu_ms = timed
    return {
        "median_ms": round(statistics.median(times_ms), 2),
        "p95_ms": round(percentile(times_ms, 95), 2),
        "min_ms": round(min(times_ms), 2),
        "cpu_median_ms": round(statistics.median(cpu_ms), 2),
        "runs": len(times_ms),
    }


def repeat(action: Callable[[], Any], warmup: int, runs: int) -> tuple[list[float], list[float]]:
    for _ in range(warmup):
        action()
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return times, cpu


class QueryCounter:
    """Counts statements sent to the database (SQLAlchemy ``before_cursor_execute``)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        self.statements.append(statement)

    @contextmanager
    def measuring(self):
        self.count, self.statements = 0, []
        yield self


def rss_mb() -> dict[str, float]:
    """Current and peak resident memory of this process (Linux /proc)."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":")
            found[key] = int(value.split()[0]) / 1024
    return {"rss_mb": round(found.get("VmRSS", 0), 1), "peak_rss_mb": round(found.get("VmHWM", 0), 1)}


def reset_peak_rss() -> None:
    """Start the VmHWM high-water mark afresh (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def emit(result: Any) -> None:
    """Workers print exactly one JSON document on the last line of stdout."""
    sys.stdout.write("\n" + json.dumps(result, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def run_worker(args: list[str], env: dict[str, str] | None = None, timeout: int = 1800) -> Any:
    """Runs ``python -m bench.worker <args>`` and returns its JSON result."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [PYTHON, "-m", "bench.worker", *args], cwd=ROOT, env=full_env,
        capture_output=True, text=True, timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    last = proc.stdout.strip().splitlines()[-1]
    return json.loads(last)


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    except (OSError, AttributeError):
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(), "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("Flask-AppBuilder", "Flask", "SQLAlchemy", "Django", "openpyxl", "XlsxWriter", "lxml", "psycopg", "gunicorn"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "-"
    import sqlite3

    found["SQLite"] = sqlite3.sqlite_version
    return found
