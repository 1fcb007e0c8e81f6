"""Production serving: `make serve` (README 部署). Settings come from the environment.

Sync workers with one thread each: Flask-AppBuilder keeps a list view's search
filters on the view object, shared by the threads of a process (FAB issue #2366), so
concurrency comes from processes. Workers only serve: the schema and the permissions
are written once per deploy by `flask deploy`, never at worker start.

The app is built once in the master and the workers are forked from it (preload_app): a
worker that max_requests recycles serves again within milliseconds, where building the app
anew takes ~2.5 s, long enough to show as seconds of queueing in the slowest requests.
"""

import multiprocessing
import os

if not os.environ.get("SECRET_KEY"):
    # Every app server must sign sessions with the same key, and it must survive
    # redeploys: a per-machine generated key would log users out between servers.
    raise SystemExit("生产模式须设置环境变量 SECRET_KEY（至少 32 个随机字符，各应用服务器相同）。"
                     "例如：export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')")

wsgi_app = "wsgi:app"
bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
threads = 1
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))  # a large Excel export streams for a while
graceful_timeout = 30
# recycle workers now and then so that a slow leak never becomes an outage
max_requests = 2000
max_requests_jitter = 200
preload_app = True
accesslog = os.environ.get("ACCESS_LOG", "-")
# gunicorn's control socket is one path per user ($HOME/.gunicorn): several servers on a
# machine (or the tests' servers) would take it from each other; systemd/signals manage ours
control_socket_disable = True
errorlog = "-"


def when_ready(server):  # noqa: ARG001 (gunicorn's hook signature)
    """Before the first fork: a connection must never be shared by two processes."""
    from app.extensions import db
    from app.jobs import queue
    from wsgi import app

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()
    queue.storage.close()
