"""The product's consumer (``flask worker``) as the tests start it: on the tests' clock, and,
with JOB_TEST_SLOW=seconds, pausing after each progress report so that a test can kill it in
the middle of a job (tests/test_job_consumers.py)."""

import datetime
import os
import time

if os.environ.get("FROZEN_CLOCK"):
    # the tests' clock (tests/conftest.py), where it has ticked to by now: heartbeats written by
    # one consumer are judged by the next on the same clock
    import time_machine

    elapsed = datetime.timedelta(seconds=time.time() - float(os.environ["FROZEN_SINCE"]))
    time_machine.travel(datetime.datetime.fromisoformat(os.environ["FROZEN_CLOCK"]) + elapsed, tick=True).start()

from app import create_app, jobs  # noqa: E402

pause = float(os.environ.get("JOB_TEST_SLOW", "0"))
if pause:
    reported = jobs.Progress.__call__

    def slowly(self, done, total=None):
        reported(self, done, total)
        time.sleep(pause)

    jobs.Progress.__call__ = slowly

jobs.consume(create_app(), workers=1)
