"""The product's consumer (``flask worker``) as the tests start it: on the tests' clock, and,
with JOB_TEST_SLOW=seconds, pausing after each progress report so that a test can kill it in
the middle of a job (tests/test_job_consumers.py)."""

import os
import time

from tests import shared_clock  # noqa: E402

shared_clock.join()

from app import create_app, jobs  # noqa: E402

pause = float(os.environ.get("JOB_TEST_SLOW", "0"))
if pause:
    reported = jobs.Progress.__call__

    def slowly(self, done, total=None):
        reported(self, done, total)
        time.sleep(pause)

    jobs.Progress.__call__ = slowly

jobs.consume(create_app(), workers=1)
