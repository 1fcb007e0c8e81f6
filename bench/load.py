"""Throughput: gunicorn (production config, 2 sync workers) on PostgreSQL, wrk, 20 connections, 60 s.

Two signed-in sessions (物业经理 and 街道监督员) share the connections; each request
is the next of a fixed mix of list, filtered list, detail and dashboard pages. wrk's Lua
hooks report p95 and every non-2xx/3xx answer.
"""

from __future__ import annotations

import http.client
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.common import DATA, DEMO_PASSWORD, PYTHON, ROOT

LUA = r"""
local paths = {%(paths)s}
local cookies = {%(cookies)s}
local n = 0
request = function()
  n = n + 1
  local path = paths[(n %% #paths) + 1]
  local cookie = cookies[(math.floor(n / #paths) %% #cookies) + 1]
  return wrk.format("GET", path, {["Cookie"] = cookie})
end
local bad = 0
response = function(status, headers, body)
  if status >= 400 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%%d duration_us=%%d p50_us=%%d p95_us=%%d p99_us=%%d max_us=%%d "
    .. "connect=%%d read=%%d write=%%d timeout=%%d status=%%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _login(port: int, username: str) -> str:
    """A real login through the form (CSRF token included); returns the Cookie header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login/")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)
    body = urlencode({"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1) if token else ""})
    conn.request("POST", "/login/", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"load test: login of {username} failed ({response.status})")
    return response.getheader("Set-Cookie", cookie).split(";")[0]


def wrk() -> str:
    """The load generator: Debian's wrk, installed here if missing (as root, or with sudo)."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is None or not shutil.which("apt-get"):
        raise RuntimeError("未找到 wrk：请先安装（Debian/Ubuntu：apt-get install wrk）")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", "wrk"], check=True, env=env)
    return shutil.which("wrk") or "wrk"


def run(database_url: str, paths: list[str], duration: int = 60, connections: int = 20) -> dict:
    generator = wrk()
    port = _free_port()
    instance = Path(tempfile.mkdtemp(prefix="bench-gunicorn-", dir=DATA))
    # the production configuration (gunicorn.conf.py), with 2 workers on a free port
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance),
           "SECRET_KEY": "bench-load-test-secret-key-0123456789abcdef", "RATELIMIT_ENABLED": "0",
           "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"}
    config = ROOT / "gunicorn.conf.py"
    options = ["-c", str(config)] if config.exists() else ["-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}", "wsgi:app"]
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", *options],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        cookies = [_login(port, user) for user in ("manager_a", "official_jd")]
        script = instance / "mix.lua"
        script.write_text(LUA % {
            "paths": ", ".join(f'"{p}"' for p in paths),
            "cookies": ", ".join(f'"{c}"' for c in cookies),
        })
        # warm both workers, then measure
        subprocess.run([generator, "-t", "2", "-c", "4", "-d", "5s", "-s", str(script), f"http://127.0.0.1:{port}"],
                       capture_output=True, text=True, check=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(
            [generator, "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
             "-s", str(script), f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True,
        ).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # the generator shares the 2 cores with gunicorn and PostgreSQL: what it takes is reported
        generator_cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(instance, ignore_errors=True)
    found = dict(re.findall(r"(\w+)=(\d+)", out.split("RESULT", 1)[1]))
    values = {k: int(v) for k, v in found.items()}
    seconds = values["duration_us"] / 1e6
    errors = sum(values[k] for k in ("connect", "read", "write", "timeout", "status"))
    return {
        "duration_s": round(seconds, 1), "connections": connections, "workers": 2,
        "requests": values["requests"], "requests_per_s": round(values["requests"] / seconds, 1),
        "p50_ms": round(values["p50_us"] / 1000, 1), "p95_ms": round(values["p95_us"] / 1000, 1),
        "p99_ms": round(values["p99_us"] / 1000, 1), "max_ms": round(values["max_us"] / 1000, 1),
        "errors": errors, "error_detail": {k: values[k] for k in ("connect", "read", "write", "timeout", "status")},
        "generator_cpu_s": round(generator_cpu_s, 1), "mix": paths, "load_average": [round(x, 2) for x in os.getloadavg()],
    }
