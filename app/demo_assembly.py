"""Demo 业主大会: the large estate's meetings of this year, as the committee ran them.

A meeting counted two months ago (its three matters: two carried, the 3/4 one not), one
voting now and one announced for later this month; the second estate's counted meeting.
Each goes through its workflow like the committee's clicks; the steps that happened
before today are backdated afterwards.
"""

from __future__ import annotations

import datetime as dt
import random

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.audit import record_all
from models import clock
from models.owners_assembly import MEETING_FLOW, MeetingBallot, MeetingChoice, MeetingMatter, MeetingRoll, OwnersMeeting
from models.settings import Settings

#: (matter kind, title, content, share of voters agreeing)
PAST_AGENDA = (
    ("rules_of_procedure", "修订《业主大会议事规则》", "明确业主大会会议可采用电子投票方式，电子投票与纸质表决票同等有效。", 0.92),
    ("property_manager", "续聘现物业服务企业，合同期三年", "服务内容、标准及收费标准不变，合同期 2026 年 7 月 1 日至 2029 年 6 月 30 日。", 0.81),
    ("common_parts", "在地面停车场增设电动自行车充电设施并收取服务费", "收益扣除成本后全部计入公共收益。", 0.70),
)
CURRENT_AGENDA = (
    ("covenant", "修订《管理规约》：增加高空抛物、违规停放电动自行车的约束条款", "修订对照表在物业服务中心和本页公示。", 0.9),
    ("raise_fund", "续筹住宅专项维修资金", "按建筑面积每平方米 30 元续筹，分两年交存。", 0.8),
)
NEXT_AGENDA = (
    ("other", "设立小区公共收益专户并按季度公开", "公共收益单独记账，由业委会与物业共同管理。", 0.0),
)


def load_assembly(session: Session, rng: random.Random, estate_ids: list[int], *, committee: str,
                  today: dt.date | None = None) -> dict[str, int]:
    """The large estate's three meetings; the second estate's counted one (the scoping tests
    try to reach it)."""
    today = today or clock.today()
    user = current_app.appbuilder.sm.find_user(username=committee)
    notice = dt.timedelta(days=Settings.current(session).assembly_notice_days)
    estate_id = estate_ids[0]
    ballots = sum(_counted(session, rng, other, user, today, notice) for other in estate_ids[:2])
    current = _meeting(session, estate_id, "2026 年第二次业主大会会议", CURRENT_AGENDA, today + notice, user)
    _backdate(session, current, announced_on=today - dt.timedelta(days=19), vote_from=today - dt.timedelta(days=3),
              vote_until=today + dt.timedelta(days=11))
    MEETING_FLOW.fire(session, current, "open_vote", user)
    ballots += _ballots(session, rng, current, CURRENT_AGENDA, share=0.3)
    _meeting(session, estate_id, "2026 年第三次业主大会会议", NEXT_AGENDA, today + notice + dt.timedelta(days=10), user)
    session.flush()
    return {"业主大会会议": 2 + min(len(estate_ids), 2), "会议表决票": ballots}


def _counted(session: Session, rng: random.Random, estate_id: int, user, today: dt.date, notice: dt.timedelta) -> int:
    """The year's first meeting: announced, voted and counted two months ago."""
    past = _meeting(session, estate_id, "2026 年第一次业主大会会议", PAST_AGENDA, today + notice, user)
    _backdate(session, past, announced_on=today - dt.timedelta(days=80), vote_from=today - dt.timedelta(days=62),
              vote_until=today - dt.timedelta(days=48))
    MEETING_FLOW.fire(session, past, "open_vote", user)
    ballots = _ballots(session, rng, past, PAST_AGENDA, share=0.8)
    MEETING_FLOW.fire(session, past, "close_vote", user)
    return ballots


def _meeting(session: Session, estate_id: int, title: str, agenda: tuple, vote_from: dt.date, user) -> OwnersMeeting:
    """A written meeting with its agenda, announced today for ``vote_from``."""
    meeting = OwnersMeeting(
        estate_id=estate_id, title=title, kind="regular", form="written", vote_from=vote_from,
        vote_until=vote_from + dt.timedelta(days=14),
        description="业委会召集。表决票由楼栋长送达，可投入物业服务中心票箱，或凭表决票上的电子投票码在公示栏投票。咨询：业委会办公室。",
        matters=[MeetingMatter(position=i, matter=kind, title=name, content=content)
                 for i, (kind, name, content, _yes) in enumerate(agenda, start=1)],
    )
    session.add(meeting)
    session.flush()
    MEETING_FLOW.fire(session, meeting, "announce", user)
    return meeting


def _backdate(session: Session, meeting: OwnersMeeting, **dates: dt.date) -> None:
    """Dates of steps before today: a plain UPDATE (the row is frozen but for transitions)."""
    table = OwnersMeeting.__table__
    session.execute(update(table).where(table.c.id == meeting.id).values(**dates))
    session.expire(meeting, list(dates))


def _ballots(session: Session, rng: random.Random, meeting: OwnersMeeting, agenda: tuple, share: float) -> int:
    """Electronic ballots of ``share`` of the persons on the roll, one per person, each with
    a choice on every matter; written in bulk."""
    agreeing = {m.id: yes for m, (*_rest, yes) in zip(meeting.matters, agenda)}
    first_unit: dict[str, int] = {}
    for unit_id, person in session.execute(select(MeetingRoll.unit_id, MeetingRoll.person)
                                           .where(MeetingRoll.meeting_id == meeting.id).order_by(MeetingRoll.unit_id)):
        first_unit.setdefault(person, unit_id)
    voting = sorted(rng.sample(sorted(first_unit), round(len(first_unit) * share)))
    now = dt.datetime.combine(clock.today(), dt.time(9))
    rows = [dict(meeting_id=meeting.id, estate_id=meeting.estate_id, unit_id=first_unit[person], person=person,
                 channel="electronic", scan=None, recorded_by="业主电子投票", cast_at=now) for person in voting]
    if not rows:
        return 0
    ids = session.execute(insert(MeetingBallot.__table__).returning(MeetingBallot.__table__.c.id,
                                                                    sort_by_parameter_order=True), rows).scalars().all()
    choices = [dict(ballot_id=ballot_id, estate_id=meeting.estate_id, matter_id=matter_id,
                    choice="yes" if rng.random() < yes else rng.choice(("no", "no", "abstain")))
               for ballot_id in ids for matter_id, yes in agreeing.items()]
    session.execute(insert(MeetingChoice.__table__), choices)
    record_all(session, [(MeetingBallot, len(rows)), (MeetingChoice, len(choices))],
               f"{meeting.title} 演示表决票 {{count}} 条")
    return len(rows)
