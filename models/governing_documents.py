"""管理规约 and 业主大会议事规则: the estate's own rules, each version adopted by the owners.

民法典第二百七十八条第一款（一）（二）: the owners make and amend them together. A version is
written as a draft (草案) and put to a 业主大会会议 as a matter of its kind; when that matter
passes, the count puts the version in force and the version in force before it is superseded
(已废止). The record keeps which decision adopted each version. Nothing but a decision puts a
version in force, and a version in force or superseded no longer changes. Where a version in
force says so (未参与表决视为同意), owners who return nothing at a meeting consent; a meeting
fixes this when its voting opens.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, false, func, select, text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import clock
from models.base import Admin, Choices, Document, Entity, Menu, fk, zh
from models.estate import Estate
from models.workflow import Workflow

#: the codes are the matter kinds that adopt each document (models.fund_vote.MATTERS)
KINDS = Choices(("covenant", "管理规约"), ("rules_of_procedure", "业主大会议事规则"))
STATES = Choices(("draft", "草案"), ("in_force", "现行有效"), ("superseded", "已废止"))

#: no button moves a version: the count of the meeting that adopts it does (``adopt``)
DOCUMENT_FLOW = Workflow(states=STATES, transitions=(), frozen=frozenset({"in_force", "superseded"}))


class GoverningDocument(Entity):
    """One version of an estate's 管理规约 or 议事规则."""

    __tablename__ = "governing_document"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    kind: Mapped[str] = mapped_column(String(20), info=zh("文件类别", choices=KINDS))
    version: Mapped[int] = mapped_column(Integer, info=zh("版本", "按本小区同类文件依次编号"))
    title: Mapped[str] = mapped_column(String(100), info=zh("文件名称", "如 某某小区管理规约（2027 年修订草案）"))
    summary: Mapped[str | None] = mapped_column(Text, info=zh("主要内容", "与上一版相比的主要修改，随会议公告公示"))
    file: Mapped[str | None] = mapped_column(Document(255), info=zh("全文", "扫描件或电子文档；业主可在会议公告中查阅"))
    silent_consent: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(),
        info=zh("未参与表决视为同意", "勾选：本文件明确约定业主大会会议表决时，未参与表决的业主视为同意（选举除外）"),
    )
    state: Mapped[str] = mapped_column(String(20), default="draft", info=zh("状态", choices=STATES))
    # the matter names its draft and the version names the matter that adopted it: the two tables
    # refer to each other, so this key is added after both exist
    adopted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting_matter.id", ondelete="RESTRICT", use_alter=True, name="fk_governing_document_adopted_by"),
        index=True)
    adopted_by: Mapped[Any] = relationship("MeetingMatter", foreign_keys=[adopted_by_id],
                                           info=zh("通过决定", "表决通过该版本的业主大会事项"))
    adopted_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("生效日期"))
    superseded_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("废止日期"))

    __table_args__ = (
        KINDS.constraint("kind", "ck_governing_document_kind"),
        STATES.constraint("state", "ck_governing_document_state"),
        UniqueConstraint("estate_id", "kind", "version", name="uq_governing_document_version",
                         info={"message": "本小区该文件已有此版本号"}),
        # one version in force per estate and kind, also when two meetings are counted at once
        Index("uq_governing_document_in_force", "estate_id", "kind", unique=True,
              sqlite_where=text("state = 'in_force'"), postgresql_where=text("state = 'in_force'")),
    )

    def __str__(self) -> str:
        return f"{self.title}（第 {self.version} 版）" if self.version else self.title

    class Admin(Admin):
        label = "管理规约与议事规则"
        menu = Menu.ASSEMBLY
        icon = "fa-book"
        list_columns = ("estate", "kind", "version", "title", "state", "adopted_on")
        search_columns = ("estate", "kind", "state", "title", "adopted_on")
        form_columns = ("estate", "kind", "title", "summary", "file", "silent_consent")  # numbered on saving
        show_columns = ("estate", "kind", "version", "title", "summary", "file", "silent_consent", "state", "adopted_by",
                        "adopted_on", "superseded_on")
        order_by = ("id", "desc")
        str_loads = ("estate",)
        fixed_links = ("estate",)
        workflow = DOCUMENT_FLOW


def silence_is_consent(session: Session, estate_id: int) -> bool:
    """Whether a 管理规约 or 议事规则 in force in the estate says that owners who do not vote
    consent (the only ground for counting silence at a meeting)."""
    return session.scalar(select(GoverningDocument.id).where(
        GoverningDocument.estate_id == estate_id, GoverningDocument.state == "in_force",
        GoverningDocument.silent_consent.is_(True)).limit(1)) is not None


def adopt(session: Session, document: GoverningDocument, matter: Any) -> None:
    """The owners passed ``matter``: its version is in force from today, the one before it ends."""
    today = clock.today()
    current = session.execute(select(GoverningDocument).where(
        GoverningDocument.estate_id == document.estate_id, GoverningDocument.kind == document.kind,
        GoverningDocument.state == "in_force")).scalars().all()
    for old in current:
        old._firing_transition = True  # a decision moves a frozen version, as a transition's effect would
        old.state, old.superseded_on = "superseded", today
    session.flush()  # the old version leaves "in force" before the new one enters (one per estate and kind)
    for old in current:
        old.__dict__.pop("_firing_transition", None)
    document.state, document.adopted_by_id, document.adopted_on = "in_force", matter.id, today


@event.listens_for(Session, "before_flush")
def _number_versions(session: Session, _context: Any, _instances: Any) -> None:
    with session.no_autoflush:
        for item in session.new:
            if isinstance(item, GoverningDocument) and item.version is None and item.kind:
                estate_id = item.estate_id if item.estate_id is not None else getattr(item.estate, "id", None)
                latest = session.scalar(select(func.max(GoverningDocument.version)).where(
                    GoverningDocument.estate_id == estate_id, GoverningDocument.kind == item.kind))
                item.version = (latest or 0) + 1
