"""The tests' one clock, shared by every process they start (pytest workers, gunicorn workers,
job consumers).

tests/conftest.py sets FROZEN_CLOCK (the moment the clock starts from) and FROZEN_SINCE (the
real time it started); every process joins where that clock has ticked to by now, so all of
them read the same time to the millisecond: a session cookie signed by one worker is never
"from the future" for another (itsdangerous refuses a negative age), and a heartbeat written
by one consumer is judged by the next on the same clock.
"""

import datetime
import os
import time


def join() -> None:
    if not os.environ.get("FROZEN_CLOCK"):
        return
    import time_machine

    now = time.time()
    elapsed = datetime.timedelta(seconds=now - float(os.environ.setdefault("FROZEN_SINCE", repr(now))))
    time_machine.travel(datetime.datetime.fromisoformat(os.environ["FROZEN_CLOCK"]) + elapsed, tick=True).start()
    # time-machine starts the tick at the first reading, not at start(): read it now, or a
    # process that first asks for the time seconds later would run seconds behind the others
    time.time()
