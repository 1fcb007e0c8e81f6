"""Background jobs and the inbox (站内消息).

A :class:`Job` row is the truth about a piece of background work (an export, a bill run):
who asked for it, what it is, where it stands. The task queue (app/jobs.py) only carries
its id. A job moves 排队中 → 运行中 → 已完成 / 失败; its effect and its 已完成 are written
in one transaction, so a worker killed in the middle leaves nothing behind and the job is
simply run again (docs/jobs.md).

A :class:`Notification` is one message in a person's inbox, always delivered.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask_appbuilder import Model
from sqlalchemy import ForeignKey, Integer, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Choices
from models.clock import UTCDateTime, utc_now

JOB_KINDS = Choices(("export", "导出"), ("bill_run", "生成账单"), ("reminders", "待办提醒"))
JOB_STATES = Choices(("queued", "排队中"), ("running", "运行中"), ("done", "已完成"), ("failed", "失败"),
                     ("expired", "已过期"))
#: states a job is still owed work in
OPEN_STATES = ("queued", "running")


class Job(Model):
    __tablename__ = "job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    #: who asked (None: the schedule); their scope is the job's scope, as on the page
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    params: Mapped[str] = mapped_column(Text, default="{}")
    #: one job per key (a scheduled bill run per estate and month): the schedule may fire twice
    unique_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: what came of it, in Chinese: "已生成 1,200 张账单", or why it failed
    message: Mapped[str | None] = mapped_column(String(500))
    rows: Mapped[int | None] = mapped_column(Integer)
    file_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    #: when the queue was last given this job (the recovery re-offers jobs waiting far longer)
    enqueued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: a finished export's file is deleted after this moment
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        JOB_KINDS.constraint("kind", "ck_job_kind"),
        JOB_STATES.constraint("state", "ck_job_state"),
    )

    @property
    def arguments(self) -> dict[str, Any]:
        return json.loads(self.params or "{}")

    @property
    def state_label(self) -> str:
        return JOB_STATES.label(self.state)

    @property
    def kind_label(self) -> str:
        return JOB_KINDS.label(self.kind)


def claim(session: Session, job_id: int) -> bool:
    """Take a queued job to run (committed at once). One UPDATE, so of two workers handed the
    same job only one wins; a job already running, done or failed is not taken."""
    taken = session.execute(
        update(Job).where(Job.id == job_id, Job.state == "queued")
        .values(state="running", attempts=Job.attempts + 1, started_at=utc_now())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(taken)


class Notification(Model):
    """One message in a person's inbox (站内消息). Only ever about what the recipient may see."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(1000), default="")
    #: where the message leads (a path inside the product)
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


def notify(session: Session, user_id: int, title: str, body: str = "", link: str | None = None) -> Notification:
    """Put a message in one person's inbox (written with the caller's transaction)."""
    message = Notification(user_id=user_id, title=title, body=body, link=link)
    session.add(message)
    return message


def unread_of(user_id: Any) -> Any:
    """How many unread messages a person has, as SQL (a value, or a user-id column to correlate)."""
    return select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))


def unread_count(session: Session, user_id: int) -> int:
    return session.execute(unread_of(user_id)).scalar_one()
