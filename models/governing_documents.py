"""管理规约 and 业主大会议事规则: the estate's own rules, each version adopted by the owners.

民法典第二百七十八条第一款（一）（二）: the owners make and amend them together. A version is
written as a draft (草案) and put to a 业主大会会议 as a matter of its kind; when that matter
passes, the count puts the version in force and the version in force before it is superseded
(已废止). The record keeps which decision adopted each version. Nothing but a decision puts a
version in force, and a version in force or superseded no longer changes. Where a version in
force says so (未参与表决视为同意), owners who return nothing at a meeting (or in a repair-fund
vote) consent; each vote fixes this when it opens.

A draft may be published for comment (征求意见) until a date: owners send their comments on
the public board or on paper, the convener answers each one, and the answers are published
beside the draft. Comments are kept with the version once it is adopted, and no longer change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, false, func, inspect, select, text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import clock
from models.base import Admin, Choices, Document, Entity, Menu, fk, zh
from models.errors import Refused
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
    comment_until: Mapped[dt.date | None] = mapped_column(
        Date, info=zh("征求意见截止日期", "填写后草案在公示栏公开征求业主意见至该日（含）；对意见的答复随草案公示"),
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
        form_columns = ("estate", "kind", "title", "summary", "file", "silent_consent", "comment_until")  # numbered on saving
        show_columns = ("estate", "kind", "version", "title", "summary", "file", "silent_consent", "comment_until",
                        "state", "adopted_by", "adopted_on", "superseded_on")
        order_by = ("id", "desc")
        str_loads = ("estate",)
        fixed_links = ("estate",)
        workflow = DOCUMENT_FLOW
        details = ("comments",)

    def open_for_comment(self, day: dt.date) -> bool:
        return self.state == "draft" and self.comment_until is not None and day <= self.comment_until


COMMENT_CHANNELS = Choices(("online", "公示栏在线提交"), ("paper", "书面提交"))
NOT_UNDER_COMMENT = "该草案未在征求意见期内：只有填写了征求意见截止日期、尚未截止的草案可以提出意见"


class DraftComment(Entity):
    """草案意见: an owner's comment on a draft put out for comment, and the convener's answer."""

    __tablename__ = "draft_comment"

    document_id: Mapped[int] = fk("governing_document.id")
    document: Mapped[GoverningDocument] = relationship(back_populates="comments", info=zh("草案"))
    owner_id: Mapped[int] = fk("owner.id")
    owner: Mapped[Any] = relationship("Owner", info=zh("提出意见的业主", "须为本小区业主；公示时不显示姓名"))
    channel: Mapped[str] = mapped_column(String(10), default="paper", info=zh("提出方式", choices=COMMENT_CHANNELS))
    submitted_on: Mapped[dt.date] = mapped_column(
        Date, default=clock.today, info=zh("提出日期", "不晚于征求意见截止日期；不填为今天"))
    content: Mapped[str] = mapped_column(Text, info=zh("意见内容"))
    reply: Mapped[str | None] = mapped_column(Text, info=zh("答复", "召集人对意见的答复（采纳或不采纳的理由），随草案公示"))
    replied_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("答复日期"))

    __table_args__ = (COMMENT_CHANNELS.constraint("channel", "ck_draft_comment_channel"),)

    def __str__(self) -> str:
        return f"{self.document} 意见 {self.id or ''}".rstrip()

    class Admin(Admin):
        label = "草案意见"
        menu = Menu.ASSEMBLY
        icon = "fa-commenting-o"
        list_columns = ("document", "owner", "channel", "submitted_on", "replied_on")
        search_columns = ("document", "channel", "submitted_on", "replied_on")
        form_columns = ("document", "owner", "submitted_on", "content", "reply")
        show_columns = ("document", "owner", "channel", "submitted_on", "content", "reply", "replied_on")
        order_by = ("id", "desc")
        scope_path = "document.estate_id"
        frozen_by = "document"
        str_loads = ("document",)


GoverningDocument.comments = relationship(
    DraftComment, back_populates="document", order_by=DraftComment.id, passive_deletes="all",
    info=zh("业主意见"))


@event.listens_for(Session, "before_flush")
def _comments_while_under_comment(session: Session, _context: Any, _instances: Any) -> None:
    """A comment is made on a draft out for comment, within its period, not in the future; an
    answer is dated the day it is written."""
    today = clock.today()
    with session.no_autoflush:
        for comment in [*session.new, *session.dirty]:
            if not isinstance(comment, DraftComment):
                continue
            if comment in session.new:
                document = comment.document or session.get(GoverningDocument, comment.document_id)
                day = comment.submitted_on or today  # left empty: received today (the column's default)
                if document is None or document.comment_until is None or document.state != "draft":
                    raise Refused(NOT_UNDER_COMMENT, {"document": [NOT_UNDER_COMMENT]})
                if day > document.comment_until:
                    message = f"征求意见已于 {document.comment_until:%Y年%m月%d日} 截止，此后提出的意见不再登记"
                    raise Refused(message, {"submitted_on": [message]})
                if day > today:
                    raise Refused("提出日期不能晚于今天", {"submitted_on": ["提出日期不能晚于今天"]})
            answered = inspect(comment).attrs.reply.history
            if comment in session.new or answered.has_changes():
                comment.replied_on = today if (comment.reply or "").strip() else None


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
