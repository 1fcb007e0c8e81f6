"""The demo fires its records' workflow steps on the day it is loaded, then dates what the
records say happened before; this puts those steps of the 办理记录 on the same days."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from models.workflow import WorkflowEvent


def date_steps(session: Session, record: object, **days: dt.date) -> None:
    """Move the record's steps named in ``days`` (transition: day) to 09:00 Beijing time of
    that day (a naive time is local to the database type)."""
    for transition, day in days.items():
        session.execute(update(WorkflowEvent).where(
            WorkflowEvent.table_name == type(record).__tablename__, WorkflowEvent.record_id == record.id,
            WorkflowEvent.transition == transition,
        ).values(created_at=dt.datetime.combine(day, dt.time(9))))
