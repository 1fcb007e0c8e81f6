"""A PostgreSQL server for the benchmark: DATABASE_URL's, or a private local cluster.

The local cluster lives in bench/data/pg (kept between runs with the data set) and
listens on 127.0.0.1 only, trust authentication. PostgreSQL refuses to run as root,
so as root the server runs as the ``postgres`` system user (``runuser``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.common import DATA

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PORT = int(os.environ.get("BENCH_PG_PORT", "55491"))
CLUSTER = DATA / "pg"
#: settings a small dedicated benchmark server gets (durability off: nothing here is precious)
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c shared_buffers=512MB -c work_mem=32MB -c maintenance_work_mem=256MB "
    "-c max_wal_size=4GB -c listen_addresses=127.0.0.1 -c unix_socket_directories="
)


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class Server:
    """Where the benchmark databases live; ``url(name)`` is one database's URL."""

    def __init__(self) -> None:
        given = os.environ.get("DATABASE_URL", "")
        self.external = given.startswith("postgresql")
        self.base = given.replace("postgresql://", "postgresql+psycopg://", 1) if self.external else (
            f"postgresql+psycopg://postgres@127.0.0.1:{PORT}/postgres"
        )
        self.started_here = False

    def url(self, name: str) -> str:
        return with_database(self.base, name)

    def start(self) -> "Server":
        if self.external or (self._ours() and self._ready()):
            return self
        if self._ready():  # someone else's server on our port: never use or touch it
            raise RuntimeError(f"端口 {PORT} 上已有别的 PostgreSQL；请设 BENCH_PG_PORT 为空闲端口，或用 DATABASE_URL 指定服务器")
        if not (CLUSTER / "PG_VERSION").exists():
            shutil.rmtree(CLUSTER, ignore_errors=True)
            CLUSTER.mkdir(parents=True)
            if os.geteuid() == 0:
                shutil.chown(CLUSTER, "postgres", "postgres")
            subprocess.run(_as_server_user([str(PG_BIN / "initdb"), "-D", str(CLUSTER), "-U", "postgres",
                                            "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                           check=True, capture_output=True)
        log = CLUSTER / "server.log"
        subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(CLUSTER), "-l", str(log), "-w",
                                        "-o", f"-p {PORT} {SERVER_OPTIONS}", "start"]),
                       check=True, capture_output=True)
        self.started_here = True
        for _ in range(50):
            if self._ready():
                return self
            time.sleep(0.2)
        raise RuntimeError("local PostgreSQL did not start; see " + str(log))

    def stop(self) -> None:
        if self.started_here:
            subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(CLUSTER), "-m", "fast", "stop"]),
                           capture_output=True)

    def _ours(self) -> bool:
        """Our cluster is running (its postmaster.pid names our port)."""
        pid = CLUSTER / "postmaster.pid"
        try:
            return pid.exists() and str(PORT) in pid.read_text().splitlines()[3:4]
        except (OSError, IndexError):
            return False

    def _ready(self) -> bool:
        if self.external:
            return True
        return subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(PORT)],
                              capture_output=True).returncode == 0

    # -- databases ----------------------------------------------------------------------
    def admin(self, sql: str) -> list[tuple]:
        """Runs SQL outside a transaction on the server's maintenance database."""
        return _autocommit(self.base, sql)

    def admin_in(self, database: str, sql: str) -> list[tuple]:
        """Runs SQL outside a transaction in one database (VACUUM cannot run inside one)."""
        return _autocommit(with_database(self.base, database), sql)

    def exists(self, name: str) -> bool:
        return bool(self.admin(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))

    def drop(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def create(self, name: str, template: str | None = None) -> None:
        self.drop(name)
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))

    def databases(self, prefix: str) -> list[str]:
        return [r[0] for r in self.admin(f"SELECT datname FROM pg_database WHERE datname LIKE '{prefix}%'")]


def _autocommit(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []
