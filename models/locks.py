"""Row locks for decisions that read a row and then change it (a transition, a payment).

Two users clicking at the same moment run the same check in two transactions; without
a lock both see the old state and both act. ``lock_row`` takes the row lock
(``SELECT ... FOR UPDATE``; PostgreSQL makes the second transaction wait for the first
to commit) and re-reads the row, so the second one decides on the new state. SQLite
has no row locks: it serialises writers on the whole database instead.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def lock_row(session: Session, obj: T) -> T:
    """Lock ``obj``'s row until the transaction ends and refresh it from the database.

    A row with unsaved changes of the caller's is locked but not refreshed (the pending
    changes are flushed first and would otherwise be lost); a new row needs no lock.
    """
    state = inspect(obj)
    if not state.persistent:
        return obj
    model = type(obj)
    query = select(model).where(model.id == obj.id).with_for_update()
    if not session.is_modified(obj):
        # the identity map would otherwise hand back the copy read before the lock
        query = query.execution_options(populate_existing=True)
    return session.execute(query).scalar_one()
