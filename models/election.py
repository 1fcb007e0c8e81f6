"""业委会选举 at an 业主大会会议: candidates, approval ballots, the count, and who is elected.

A 表决事项 of the kind 选举业主委员会 that names 应选名额 (N seats) is an election: each
person's one ballot for the agenda approves up to N of its candidates. Every candidate is
counted like any matter (``count_up``: 2/3 quorum, more than half of the participating area
and persons approving); those who reach it fill the seats in order of approving persons,
then approving area. Equal on both at the last seat is a tie the count does not break: the
seats left are filled by another election (另行选举). The rules in words: docs/owners-assembly.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import (
    ForeignKey, ForeignKeyConstraint, Integer, String, Text, UniqueConstraint, event, func, select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import clock
from models.base import Admin, Choices, Derived, Entity, Menu, fk, row_id, zh
from models.errors import Refused
from models.fees import Bill, arrears_before
from models.fund_vote import KeptCount, Tally, TallyFigures, count_up, figures_of, kept_figures
from models.owners_assembly import MeetingBallot, MeetingMatter
from models.people import Owner, UnitOwnership
from models.settings import settings_for

NOMINATIONS = Choices(("self", "业主自荐"), ("joint", "业主联名推荐"), ("organiser", "筹备组或业委会推荐"))
OUTCOMES = Choices(
    ("elected", "当选"), ("alternate", "候补委员"), ("tied", "得票相同，名额待另行选举"), ("not_elected", "未当选"),
)


def _nominators_named(values: dict) -> list[tuple[str, str]]:
    if values.get("nomination") == "joint" and not (values.get("nominators") or "").strip():
        return [("nominators", "联名推荐须填写推荐人（业主姓名及房号）")]
    return []


class Candidate(Entity):
    """业委会委员候选人 of one election matter."""

    __tablename__ = "candidate"

    matter_id: Mapped[int] = fk("meeting_matter.id", ondelete="CASCADE")
    matter: Mapped[MeetingMatter] = relationship(back_populates="candidates", info=zh("选举事项"))
    position: Mapped[int] = mapped_column(Integer, default=1, info=zh("序号", "选票上的顺序"))
    owner_id: Mapped[int] = fk("owner.id")
    owner: Mapped[Owner] = relationship(info=zh("候选人", "须为本小区业主"))
    nomination: Mapped[str] = mapped_column(String(20), default="self", info=zh("提名方式", choices=NOMINATIONS))
    nominators: Mapped[str | None] = mapped_column(Text, info=zh("联名推荐人", "联名推荐时填写推荐业主的姓名及房号"))
    statement: Mapped[str | None] = mapped_column(Text, info=zh("候选人简介", "年龄、职业、履职承诺等，随会议公告公示"))

    __table_args__ = (
        UniqueConstraint("matter_id", "owner_id", name="uq_candidate_owner", info={"message": "该业主已是本次选举的候选人"}),
        UniqueConstraint("matter_id", "position", name="uq_candidate_position", info={"message": "候选人序号不能重复"}),
        UniqueConstraint("id", "matter_id", name="uq_candidate_of_matter"),  # target of an approval's key
        NOMINATIONS.constraint("nomination", "ck_candidate_nomination"),
    )

    def __str__(self) -> str:
        return str(self.owner)

    class Admin(Admin):
        label = "业委会委员候选人"
        menu = Menu.ASSEMBLY
        icon = "fa-user-plus"
        list_columns = ("matter", "position", "owner", "nomination")
        search_columns = ("matter", "nomination")
        form_columns = ("matter", "position", "owner", "nomination", "nominators", "statement")
        order_by = ("id", "desc")
        scope_path = "matter.meeting.estate_id"
        frozen_by = "matter"
        str_loads = ("owner",)
        rules = (_nominators_named,)


class MeetingApproval(Entity):
    """选举表决意见: a ballot's approval of one candidate (at most 应选名额 per ballot)."""

    __tablename__ = "meeting_approval"

    ballot_id: Mapped[int] = fk("meeting_ballot.id")
    ballot: Mapped[MeetingBallot] = relationship(back_populates="approvals", foreign_keys=[ballot_id],
                                                 info=zh("会议表决票"))
    estate_id: Mapped[int] = fk("estate.id")
    candidate_id: Mapped[int] = fk("candidate.id")
    candidate: Mapped[Candidate] = relationship(foreign_keys=[candidate_id], info=zh("赞成的候选人"))
    # the candidate's election and the ballot's meeting: the keys below hold the candidate to an
    # election of the same meeting as the ballot
    matter_id: Mapped[int] = mapped_column(Integer)
    meeting_id: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("ballot_id", "candidate_id", name="uq_meeting_approval_candidate",
                         info={"message": "同一张表决票对一位候选人只能赞成一次"}),
        ForeignKeyConstraint(("ballot_id", "meeting_id"), ("meeting_ballot.id", "meeting_ballot.meeting_id"),
                             name="fk_meeting_approval_ballot_meeting"),
        ForeignKeyConstraint(("candidate_id", "matter_id"), ("candidate.id", "candidate.matter_id"),
                             name="fk_meeting_approval_candidate_matter"),
        ForeignKeyConstraint(("matter_id", "meeting_id"), ("meeting_matter.id", "meeting_matter.meeting_id"),
                             name="fk_meeting_approval_matter_meeting"),
    )

    def __str__(self) -> str:
        return str(self.candidate)

    class Admin(Admin):
        label = "选举表决意见"
        menu = Menu.ASSEMBLY
        icon = "fa-check"
        list_columns = ("ballot", "candidate")
        search_columns = ("candidate",)
        order_by = ("id", "desc")
        str_loads = ("candidate",)
        actions = frozenset()  # written with the ballot
        append_only = True


class CandidateTally(KeptCount, Derived):
    """A candidate's live count: 'yes' (the person approved the candidate), 'abstain' (returned
    a ballot without approving) and '' (no ballot yet); triggers of migration d7a3c9e5f1b2, on
    the roll, the ballots, the approvals and the candidates."""

    __tablename__ = "candidate_tally"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id", ondelete="CASCADE"), primary_key=True)


class CandidateResult(TallyFigures, Entity):
    """候选人得票结果: one candidate's count with every number, the rank and the outcome."""

    __tablename__ = "candidate_result"

    candidate_id: Mapped[int] = fk("candidate.id")
    candidate: Mapped[Candidate] = relationship(info=zh("候选人"))
    matter_id: Mapped[int] = fk("meeting_matter.id")
    meeting_id: Mapped[int] = fk("owners_meeting.id")
    estate_id: Mapped[int] = fk("estate.id")
    rank: Mapped[int | None] = mapped_column(Integer, info=zh("名次", "达到当选票数的候选人按得票排序"))
    outcome: Mapped[str] = mapped_column(String(20), info=zh("选举结果", choices=OUTCOMES))

    __table_args__ = (
        UniqueConstraint("candidate_id", name="uq_candidate_result_candidate", info={"message": "该候选人已经计票"}),
        OUTCOMES.constraint("outcome", "ck_candidate_result_outcome"),
    )

    def __str__(self) -> str:
        return OUTCOMES.label(self.outcome)

    class Admin(Admin):
        label = "候选人得票结果"
        menu = Menu.ASSEMBLY
        icon = "fa-trophy"
        list_columns = ("candidate", "outcome", "rank", "yes_heads", "yes_area", "participating_heads",
                        "participating_area", "computed_at")
        search_columns = ("candidate", "outcome")
        order_by = ("computed_at", "desc")
        str_loads = ("candidate",)
        actions = frozenset()  # written by the count when the vote closes
        append_only = True


# -- eligibility -----------------------------------------------------------------------

def eligibility_refusal(session: Session, candidate: Candidate) -> str | None:
    """Why this owner cannot stand in this election, or None: the matter must be an election,
    the candidate an owner holding a unit of the estate (not the developer), and — where the
    settings say so — without fee bills overdue beyond the 欠费催缴天数."""
    matter = candidate.matter or session.get(MeetingMatter, candidate.matter_id)
    owner = candidate.owner or session.get(Owner, candidate.owner_id)
    if matter is None or owner is None:
        return None  # the required fields answer for themselves
    if not matter.seats:
        return "该表决事项不是业委会选举：请先在表决事项中选择「选举业主委员会」并填写应选名额"
    estate_id = matter.meeting.estate_id
    units = select(UnitOwnership.unit_id).where(UnitOwnership.owner_id == owner.id)
    if owner.estate_id != estate_id or owner.is_developer or session.scalar(select(func.count()).select_from(
            units.subquery())) == 0:
        return f"{owner.name} 不是本小区登记有产权房屋的业主，不能作为候选人"
    settings = settings_for(session, estate_id)
    if settings.candidate_no_arrears:
        cutoff = arrears_before(clock.today(), settings.arrears_notice_days)
        count, owed = session.execute(
            select(func.count(), func.coalesce(func.sum(Bill.outstanding), 0))
            .where(Bill.unit_id.in_(units), Bill.outstanding > 0, Bill.period < cutoff)).one()
        if count:
            return (f"{owner.name} 有 {count} 笔逾期未缴的物业费（合计 {Decimal(owed):.2f} 元），"
                    "按规定不能作为业委会委员候选人（系统设置或地方规定：候选人不得欠缴物业费）")
    return None


@event.listens_for(Session, "before_flush")
def _check_candidates(session: Session, _context: Any, _instances: Any) -> None:
    with session.no_autoflush:
        for item in [*session.new, *session.dirty]:
            if isinstance(item, Candidate) and session.is_modified(item, include_collections=False):
                refusal = eligibility_refusal(session, item)
                if refusal:
                    raise Refused(refusal, {"owner": [refusal]})


# -- the count -------------------------------------------------------------------------

def election_tallies(session: Session, matter: MeetingMatter) -> dict[int, Tally]:
    """Each candidate's live count from the figures the database keeps (``CandidateTally``): a
    unit of the roll whose person approved the candidate is 同意, one whose person returned a
    ballot without approving is counted as taking part (弃权 for this candidate), one without a
    ballot is silent."""
    kept = select(CandidateTally).join(Candidate, Candidate.id == CandidateTally.candidate_id) \
        .where(Candidate.matter_id == matter.id).order_by(CandidateTally.candidate_id)
    rule = matter.rule()
    tallies = {}
    for candidate_id, rows in groupby(session.execute(kept).scalars(), key=lambda row: row.candidate_id):
        area, units, heads = kept_figures(rows)
        if units:
            tallies[candidate_id] = count_up(area, heads, units, rule, silent_consent=False)
    return tallies


@dataclass(frozen=True)
class Standing:
    """A candidate's place after the count."""

    candidate_id: int
    tally: Tally
    rank: int | None
    outcome: str


def elect(tallies: Mapping[int, Tally], seats: int, alternates: int = 0) -> list[Standing]:
    """Who fills the seats, then the 候补 places: the candidates who reached the threshold, by
    approving persons, then approving area (competition ranks: equals share a rank). A group
    of equals that does not fit in the places left is a tie: those places stay open for
    another election, and the next places go on to the candidates below."""
    passing = sorted((cid for cid, t in tallies.items() if t.passed),
                     key=lambda cid: (-tallies[cid].yes_heads, -tallies[cid].yes_area, cid))
    places = [["elected", seats], ["alternate", alternates]]
    found, ahead = [], 0
    for _key, group in groupby(passing, key=lambda cid: (tallies[cid].yes_heads, tallies[cid].yes_area)):
        group = list(group)
        while places and places[0][1] == 0:
            places.pop(0)
        if not places:
            outcome = "not_elected"
        elif len(group) <= places[0][1]:
            outcome = places[0][0]
            places[0][1] -= len(group)
        else:
            outcome, places[0][1] = "tied", 0
        found += [Standing(cid, tallies[cid], ahead + 1, outcome) for cid in group]
        ahead += len(group)
    found += [Standing(cid, t, None, "not_elected") for cid, t in sorted(tallies.items()) if not t.passed]
    return found


def unfilled_seats(outcomes: Iterable[str], seats: int) -> int:
    """Seats no candidate took (the candidates' outcomes, live or stored)."""
    return seats - sum(1 for outcome in outcomes if outcome == "elected")


def election_words(outcomes: Iterable[str], seats: int) -> str:
    """The election's outcome in one sentence (the tally page and the public notice)."""
    outcomes = list(outcomes)
    elected = seats - unfilled_seats(outcomes, seats)
    if elected == seats:
        return f"应选 {seats} 名，当选 {elected} 名"
    tied = outcomes.count("tied")
    why = f"其中 {tied} 名候选人得票相同，" if tied else ""
    return f"应选 {seats} 名，当选 {elected} 名，尚缺 {seats - elected} 名：{why}须另行选举（补选）"


def approvals_of(form: Any, matter: MeetingMatter) -> list[int]:
    """The candidate ids a form approves for one election matter (``approve_<matter id>``)."""
    return [number for number in map(row_id, form.getlist(f"approve_{matter.id}")) if number is not None]


def check_approvals(matter: MeetingMatter, chosen: Iterable[int]) -> list[int]:
    """The approvals of one ballot for one election, or a refusal: only this election's
    candidates, each once, at most 应选名额."""
    chosen = list(dict.fromkeys(chosen))
    known = {c.id for c in matter.candidates}
    if any(cid not in known for cid in chosen):
        raise Refused(f"第 {matter.position} 项：所选候选人不在本次选举的候选人名单中")
    if len(chosen) > matter.seats:
        raise Refused(f"第 {matter.position} 项应选 {matter.seats} 名，最多赞成 {matter.seats} 位候选人，"
                      f"您选了 {len(chosen)} 位")
    return chosen


def record_election(session: Session, matter: MeetingMatter, at: dt.datetime) -> list[Standing]:
    """Close an election: each candidate's figures, rank and outcome stored."""
    standings = elect(election_tallies(session, matter), matter.seats, matter.alternates or 0)
    session.add_all([
        CandidateResult(candidate_id=s.candidate_id, matter_id=matter.id, meeting_id=matter.meeting_id,
                        estate_id=matter.meeting.estate_id, rank=s.rank, outcome=s.outcome, computed_at=at,
                        **figures_of(s.tally))
        for s in standings
    ])
    return standings
