"""业主委员会: each term (届) with its members, from the election that produced it to its 备案.

The count of an election seats the elected candidates and the 候补委员 in a new term (or,
for a 补选, in the current one). The committee then records who is 主任 and 副主任; the
街道 official confirms the 备案, due within the filing days of the settings from the day
of the election (物业管理条例第十六条: 30 days). The term's end (at most 5 years) drives the
换届 reminder.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Date, Index, Integer, String, UniqueConstraint, event, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import clock
from models.base import Admin, Choices, Entity, Menu, fk, zh
from models.election import Candidate
from models.errors import Refused
from models.estate import Estate
from models.people import Owner
from models.settings import settings_for
from models.workflow import Transition, Workflow

TERM_STATES = Choices(("elected", "待备案"), ("filed", "已备案"))
ROLES = Choices(("chair", "主任"), ("vice_chair", "副主任"), ("member", "委员"), ("alternate", "候补委员"))
ARTICLE_16 = "物业管理条例第十六条"


def _chair_chosen(term: CommitteeTerm, _session: Session) -> str | None:
    if not any(m.role == "chair" for m in term.members):
        return "备案材料须载明业委会主任：请业委会先在委员名单中推选主任、副主任"
    return None


def _file(term: CommitteeTerm, _session: Session) -> None:
    term.filed_on = clock.today()


TERM_FLOW = Workflow(
    states=TERM_STATES,
    transitions=(
        Transition("file", "确认备案", ("elected",), "filed", guard=_chair_chosen, effect=_file, style="success",
                   inputs=("filing_no",), guard_reads_inputs=False, consequence="确认该届业委会已向街道办事处备案"),
    ),
)


class CommitteeTerm(Entity):
    """业委会届次: one term of an estate's committee."""

    __tablename__ = "committee_term"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    meeting_id: Mapped[int | None] = fk("owners_meeting.id", nullable=True)
    meeting: Mapped[Any] = relationship("OwnersMeeting", info=zh("选举会议", "由业主大会会议选举产生；系统启用前成立的留空"))
    elected_on: Mapped[dt.date] = mapped_column(Date, info=zh("选举产生日期"))
    seats: Mapped[int] = mapped_column(Integer, info=zh("委员名额"))
    term_ends: Mapped[dt.date | None] = mapped_column(Date, info=zh("任期届满", "按系统设置的任期自选举产生之日起计算"))
    filing_due: Mapped[dt.date | None] = mapped_column(Date, info=zh("备案期限", f"选举产生之日起 30 日内（{ARTICLE_16}）"))
    filing_no: Mapped[str | None] = mapped_column(String(50), info=zh("备案回执编号"))
    filed_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("备案日期"))
    state: Mapped[str] = mapped_column(String(20), default="elected", info=zh("状态", choices=TERM_STATES))
    members: Mapped[list[CommitteeMember]] = relationship(
        back_populates="term", cascade="all, delete-orphan", order_by="CommitteeMember.id", info=zh("委员"),
    )

    __table_args__ = (TERM_STATES.constraint("state", "ck_committee_term_state"),)

    def __str__(self) -> str:
        return f"{self.estate} {self.elected_on} 选举产生的业委会"

    def workflow_notes(self, _session: Session) -> list[str]:
        if self.state != "elected" or self.filing_due is None:
            return []
        late = (clock.today() - self.filing_due).days
        if late > 0:
            return [f"备案期限 {self.filing_due} 已过 {late} 天（{ARTICLE_16}）。"]
        return [f"须于 {self.filing_due} 前向街道办事处备案（{ARTICLE_16}）。"]

    class Admin(Admin):
        label = "业委会届次"
        menu = Menu.ASSEMBLY
        icon = "fa-id-badge"
        list_columns = ("estate", "elected_on", "seats", "term_ends", "filing_due", "state", "filed_on")
        search_columns = ("estate", "state", "elected_on", "term_ends", "filing_due")
        # a committee formed before the product was used is entered by hand; elections write their own
        form_columns = ("estate", "elected_on", "seats")
        show_columns = ("estate", "meeting", "elected_on", "seats", "term_ends", "filing_due", "state", "filed_on",
                        "filing_no")
        order_by = ("elected_on", "desc")
        str_loads = ("estate",)
        workflow = TERM_FLOW
        details = ("members",)


class CommitteeMember(Entity):
    """业委会委员 of one term, with the office the committee gave them."""

    __tablename__ = "committee_member"

    term_id: Mapped[int] = fk("committee_term.id", ondelete="CASCADE")
    term: Mapped[CommitteeTerm] = relationship(back_populates="members", info=zh("业委会届次"))
    owner_id: Mapped[int] = fk("owner.id")
    owner: Mapped[Owner] = relationship(info=zh("委员（业主）"))
    role: Mapped[str] = mapped_column(String(20), default="member", info=zh("职务", choices=ROLES))

    __table_args__ = (
        UniqueConstraint("term_id", "owner_id", name="uq_committee_member_owner", info={"message": "该业主已在本届业委会中"}),
        ROLES.constraint("role", "ck_committee_member_role"),
        # one 主任 per term, also when two offices are given at the same moment
        Index("uq_committee_member_chair", "term_id", unique=True, sqlite_where=text("role = 'chair'"),
              postgresql_where=text("role = 'chair'")),
    )

    def __str__(self) -> str:
        return f"{self.owner} {ROLES.label(self.role)}"

    class Admin(Admin):
        label = "业委会委员"
        menu = Menu.ASSEMBLY
        icon = "fa-user"
        list_columns = ("term", "owner", "role")
        search_columns = ("term", "role")
        form_columns = ("term", "owner", "role")
        order_by = ("id", "desc")
        scope_path = "term.estate_id"
        str_loads = ("owner",)
        fixed_links = ("term", "owner")  # the committee gives offices; who was elected stays


def _set_dates(session: Session, term: CommitteeTerm) -> None:
    settings = settings_for(session, term.estate_id if term.estate_id is not None else term.estate.id)
    if term.term_ends is None:
        term.term_ends = term.elected_on + relativedelta(years=settings.committee_term_years)
    if term.filing_due is None:
        term.filing_due = term.elected_on + dt.timedelta(days=settings.committee_filing_days)


def _one_chair(session: Session, term_id: int | None, members: list[CommitteeMember]) -> None:
    chairs = sum(1 for m in members if m.role == "chair")
    if term_id is not None:
        chairs += session.scalar(select(func.count()).select_from(CommitteeMember).where(
            CommitteeMember.term_id == term_id, CommitteeMember.role == "chair",
            CommitteeMember.id.not_in([m.id for m in members if m.id is not None])))
    if chairs > 1:
        raise Refused("每届业委会只有一名主任：请先将原主任改为其他职务", {"role": ["每届业委会只有一名主任"]})


@event.listens_for(Session, "before_flush")
def _check_terms(session: Session, _context: Any, _instances: Any) -> None:
    with session.no_autoflush:
        changed = [*session.new, *session.dirty]
        for item in changed:
            if isinstance(item, CommitteeTerm) and item.elected_on is not None:
                _set_dates(session, item)
        by_term: dict[Any, list[CommitteeMember]] = {}
        for item in changed:
            if isinstance(item, CommitteeMember):
                key = item.term_id if item.term_id is not None else id(item.term)
                by_term.setdefault(key, []).append(item)
        for members in by_term.values():
            _one_chair(session, members[0].term_id, members)
        for item in changed:
            if isinstance(item, CommitteeMember) and item.owner is not None and item.term is not None \
                    and item.owner.estate_id != item.term.estate_id:
                raise Refused("委员须为本小区业主", {"owner": ["委员须为本小区业主"]})


def seat_committee(session: Session, meeting: Any, matter: Any, standings: list) -> CommitteeTerm | None:
    """The elected and the 候补委员 of an election take their seats: a new term for a 换届 or
    first election, the current term for a 补选. Nobody elected: no term."""
    seated = [s for s in standings if s.outcome in ("elected", "alternate")]
    if not any(s.outcome == "elected" for s in seated):
        return None
    owners = dict(session.execute(select(Candidate.id, Candidate.owner_id).where(
        Candidate.id.in_([s.candidate_id for s in seated]))).all())
    today = clock.today()
    term = None
    if matter.by_election:
        term = session.execute(select(CommitteeTerm).where(CommitteeTerm.estate_id == meeting.estate_id)
                               .order_by(CommitteeTerm.elected_on.desc(), CommitteeTerm.id.desc())).scalars().first()
    if term is None:
        term = CommitteeTerm(estate_id=meeting.estate_id, meeting_id=meeting.id, elected_on=today, seats=matter.seats)
        session.add(term)
    present = {m.owner_id for m in term.members}
    for s in seated:
        if owners[s.candidate_id] not in present:
            term.members.append(CommitteeMember(owner_id=owners[s.candidate_id],
                                                role="member" if s.outcome == "elected" else "alternate"))
    estate = session.get(Estate, meeting.estate_id)
    if estate.committee_founded_on is None:
        estate.committee_founded_on = today
    return term


def latest_terms(session: Session) -> Any:
    """Per estate, its latest term (a subquery: estate_id, term_ends, state, filing_due)."""
    newest = (select(CommitteeTerm.estate_id, func.max(CommitteeTerm.elected_on).label("elected_on"))
              .group_by(CommitteeTerm.estate_id).subquery())
    return (select(CommitteeTerm.estate_id, CommitteeTerm.term_ends, CommitteeTerm.state, CommitteeTerm.filing_due,
                   CommitteeTerm.elected_on)
            .join(newest, (newest.c.estate_id == CommitteeTerm.estate_id)
                  & (newest.c.elected_on == CommitteeTerm.elected_on)).subquery())
