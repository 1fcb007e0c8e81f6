"""The production gunicorn.conf.py, plus a signal for the tests that a worker has loaded
the application (tests/live.py waits for all of them before racing requests)."""

import os
from pathlib import Path

exec((Path(__file__).resolve().parent.parent / "gunicorn.conf.py").read_text())


def post_worker_init(worker):
    from tests import shared_clock

    shared_clock.join()  # the tests' clock, to the second, in every worker
    (Path(os.environ["LIVE_READY_DIR"]) / str(worker.pid)).touch()


# the worker's pid in each access-log line: tests see which process answered
access_log_format = '%(p)s %(h)s "%(r)s" %(s)s'
