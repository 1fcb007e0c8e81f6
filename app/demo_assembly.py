"""Demo 业主大会: the large estate's meetings of this year, as the committee ran them.

A meeting counted two months ago (its three matters: two carried, the 3/4 one not), one
voting now and an extraordinary one, which three in ten owners asked for, announced for later
this month; the second estate's counted meeting.
The next estate that has no 业委会 yet is preparing its first assembly: the 街道's
筹备组 has published the owners' roll and drafted the first meeting. Each goes through its
workflow like the clicks of whoever does it; the steps that happened before today are
backdated afterwards.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.audit import record_all
from app.demo_timeline import date_steps
from models import clock
from models.committee import TERM_FLOW, CommitteeTerm
from models.election import Candidate, MeetingApproval
from models.estate import Building, Estate
from models.fees import Bill, arrears_before
from models.first_assembly import GROUP_FLOW, PreparatoryGroup, PreparatoryMember
from models.governing_documents import DraftComment, GoverningDocument
from models.owners_assembly import (
    MEETING_FLOW, MeetingBallot, MeetingChoice, MeetingMatter, MeetingProposer, MeetingRoll, OwnersMeeting,
)
from models.people import Owner, UnitOwnership
from models.repair_fund import FUND_FLOW, FundApplication, FundScope
from models.region import Community, Street
from models.settings import LocalSetting, Settings

#: (matter kind, title, content, share of voters agreeing)
PAST_AGENDA = (
    ("rules_of_procedure", "修订《业主大会议事规则》", "明确业主大会会议可采用电子投票方式，电子投票与纸质表决票同等有效。", 0.92),
    ("property_manager", "续聘现物业服务企业，合同期三年", "服务内容、标准及收费标准不变，包干制。", 0.81),
    ("common_parts", "在地面停车场增设电动自行车充电设施并收取服务费", "收益扣除成本后全部计入公共收益。", 0.70),
)
CURRENT_AGENDA = (
    ("covenant", "修订《管理规约》：增加高空抛物、违规停放电动自行车的约束条款", "修订对照表在物业服务中心和本页公示。", 0.9),
    ("raise_fund", "续筹住宅专项维修资金", "按建筑面积每平方米 30 元续筹，分两年交存。", 0.8),
)
NEXT_AGENDA = (
    ("other", "设立小区公共收益专户并按季度公开", "公共收益单独记账，由业委会与物业共同管理。", 0.0),
    ("use", "使用维修资金更新全小区监控和门禁系统", "列支范围为全小区，方案已经业委会审核并公示，计票结果即为该方案的表决结果。", 0.0),
)


#: what this year's drafts change (the meetings put them to the owners)
DRAFT_CHANGES = {
    "covenant": "增加高空抛物、违规停放电动自行车的约束条款。",
    "rules_of_procedure": "业主大会会议可采用电子投票方式，电子投票与纸质表决票同等有效。",
}

#: owners' comments on the drafts and the answers ("" = not answered yet)
COMMENTS = {
    "covenant": (("建议明确电动自行车违规停放的处理程序和责任人。", "已采纳：增加物业劝阻、书面告知、报有关部门处理三个步骤。"),
                 ("高空抛物条款应写明业主对访客、租户的告知义务。", "已采纳：出租人应将本条款告知承租人。")),
    "rules_of_procedure": (("电子投票如何核实是本人投票？", "不修改：电子投票须凭表决票上的电子投票码，每位业主一码。"),),
    "first_assembly": (("管理规约草案中的停车位分配办法请再公示细则。", ""),),
}

#: the counted meetings also elect the committee: seats, 候补 places, candidates standing (差额)
ELECTION = (5, 1, 7)


def load_assembly(session: Session, rng: random.Random, estate_ids: list[int], *, manager: str, committee: str,
                  official: str, today: dt.date | None = None) -> dict[str, int]:
    """The large estate's three meetings; the second estate's counted one (the scoping tests
    try to reach it)."""
    today = today or clock.today()
    user = current_app.appbuilder.sm.find_user(username=committee)
    manager = current_app.appbuilder.sm.find_user(username=manager)
    _local_rule(session, estate_ids[0])
    notice = dt.timedelta(days=Settings.current(session).assembly_notice_days)
    estate_id = estate_ids[0]
    for other in estate_ids[:2]:
        _documents_in_force(session, other, today)
    # the second estate's owners asked for theirs (an extraordinary meeting)
    ballots = sum(_counted(session, rng, other, user, today, notice, asked=other != estate_id) for other in estate_ids[:2])
    _seat(session, estate_ids[0], user, current_app.appbuilder.sm.find_user(username=official))
    _seat(session, estate_ids[1], user, None)  # its 备案 is overdue: the officials' figure shows it
    for other in estate_ids[:2]:
        _dissolved_group(session, rng, other)
    current = _meeting(session, estate_id, "2026 年第二次业主大会会议", CURRENT_AGENDA, today + notice, user)
    _backdate(session, current, announced_on=today - dt.timedelta(days=19), vote_from=today - dt.timedelta(days=3),
              vote_until=today + dt.timedelta(days=11))
    MEETING_FLOW.fire(session, current, "open_vote", user)
    date_steps(session, current, announce=current.announced_on, open_vote=current.vote_from)
    ballots += _ballots(session, rng, current, CURRENT_AGENDA, share=0.3)
    _meeting(session, estate_id, "2026 年第一次临时业主大会会议", NEXT_AGENDA, today + notice + dt.timedelta(days=10), user,
             proposers=_proposers(session, rng, estate_id, today),
             fund_application_id=_estate_wide_plan(session, estate_id, manager, user))
    first = 0
    preparing = session.scalar(select(Estate.id).where(Estate.id.in_(estate_ids[2:]), Estate.committee_founded_on.is_(None))
                               .order_by(Estate.id).limit(1))
    if preparing is not None:
        first = _first_assembly(session, rng, preparing, current_app.appbuilder.sm.find_user(username=official),
                                today, notice)
    session.flush()
    return {"业主大会会议": 2 + min(len(estate_ids), 2) + first, "会议表决票": ballots}


def _documents_in_force(session: Session, estate_id: int, today: dt.date) -> None:
    """The 管理规约 and 议事规则 the owners adopted when the committee was founded (before the
    product was used, so no decision is linked), and the drafts this year's meetings put to them,
    out for comment until six weeks ago, with the owners' comments answered."""
    founded = session.scalar(select(Estate.committee_founded_on).where(Estate.id == estate_id))
    for kind, name in (("covenant", "管理规约"), ("rules_of_procedure", "业主大会议事规则")):
        if founded is not None:
            session.add(GoverningDocument(estate_id=estate_id, kind=kind, version=1, title=name, state="in_force",
                                          adopted_on=founded, summary="首次业主大会会议表决通过。"))
            session.flush()
        session.add(GoverningDocument(estate_id=estate_id, kind=kind, title=f"{name}（2026 年修订）",
                                      summary=DRAFT_CHANGES[kind], comment_until=today - dt.timedelta(days=45)))
    session.flush()
    for kind in DRAFT_CHANGES:
        _comments(session, estate_id, _draft_of(session, estate_id, kind), COMMENTS[kind], today - dt.timedelta(days=43))


def _dissolved_group(session: Session, rng: random.Random, estate_id: int) -> None:
    """The 筹备组 that prepared the estate's first assembly, dissolved once its first
    业委会 was filed (before the product was used: entered as history, not clicked through)."""
    founded = session.scalar(select(Estate.committee_founded_on).where(Estate.id == estate_id))
    if founded is None:
        return
    owners = session.execute(select(Owner.id, Owner.name).where(Owner.estate_id == estate_id,
                                                                Owner.is_developer.is_(False))
                             .order_by(Owner.id).limit(40)).all()
    session.add(PreparatoryGroup(
        estate_id=estate_id, applied_on=founded - dt.timedelta(days=130), formed_on=founded - dt.timedelta(days=100),
        announced_on=founded - dt.timedelta(days=96), roll_published_on=founded - dt.timedelta(days=70),
        dissolved_on=founded + dt.timedelta(days=25), state="dissolved", members=[
            PreparatoryMember(side="street", name="孙立新", is_leader=True),
            PreparatoryMember(side="residents", name="高玉梅"),
            *[PreparatoryMember(side="owner", name=name, owner_id=owner_id) for owner_id, name in rng.sample(owners, 3)],
        ]))


def _comments(session: Session, estate_id: int, document_id: int, comments: tuple, answered_on: dt.date) -> None:
    """Comments of the estate's first owners on a draft, each answered on ``answered_on`` (if at all)."""
    owners = session.scalars(select(Owner.id).where(Owner.estate_id == estate_id, Owner.is_developer.is_(False))
                             .order_by(Owner.id).limit(len(comments))).all()
    written = [DraftComment(document_id=document_id, owner_id=owner_id, channel=channel, content=content,
                            reply=reply or None, submitted_on=answered_on - dt.timedelta(days=5))
               for owner_id, (content, reply), channel in zip(owners, comments, ("online", "paper", "online"))]
    session.add_all(written)
    session.flush()
    table = DraftComment.__table__
    session.execute(update(table).where(table.c.id.in_([c.id for c in written if c.reply])).values(replied_on=answered_on))


def _draft_of(session: Session, estate_id: int, kind: str) -> int | None:
    return session.scalar(select(GoverningDocument.id).where(
        GoverningDocument.estate_id == estate_id, GoverningDocument.kind == kind, GoverningDocument.state == "draft"))


def _first_assembly(session: Session, rng: random.Random, estate_id: int, official, today: dt.date,
                    notice: dt.timedelta) -> int:
    """The estate without a 业委会: owners asked in writing 40 days ago; the group, formed 30
    days ago and announced three days later, published the roll last week and drafted the first
    meeting for the official to announce."""
    owners = session.execute(select(Owner.id, Owner.name).where(Owner.estate_id == estate_id,
                                                                Owner.is_developer.is_(False))
                             .order_by(Owner.id).limit(40)).all()
    group = PreparatoryGroup(estate_id=estate_id, applied_on=today - dt.timedelta(days=40), members=[
        PreparatoryMember(side="street", name=official.last_name + official.first_name if official else "街道代表",
                          is_leader=True),
        PreparatoryMember(side="residents", name="刘秀兰"),
        PreparatoryMember(side="developer", name="陈志强"),
        *[PreparatoryMember(side="owner", name=name, owner_id=owner_id) for owner_id, name in rng.sample(owners, 4)],
    ])
    session.add(group)
    session.flush()
    for step in ("form", "announce", "publish_roll"):
        GROUP_FLOW.fire(session, group, step, official)
    table = PreparatoryGroup.__table__
    session.execute(update(table).where(table.c.id == group.id).values(
        formed_on=today - dt.timedelta(days=30), announced_on=today - dt.timedelta(days=27),
        roll_published_on=today - dt.timedelta(days=6)))
    session.expire(group)
    date_steps(session, group, form=group.formed_on, announce=group.announced_on, publish_roll=group.roll_published_on)
    for kind, name in (("covenant", "管理规约"), ("rules_of_procedure", "业主大会议事规则")):
        session.add(GoverningDocument(estate_id=estate_id, kind=kind, title=name, comment_until=today + dt.timedelta(days=9),
                                      summary="依据示范文本草拟，征求意见期间业主可在物业服务中心查阅全文。"))
    session.flush()
    _comments(session, estate_id, _draft_of(session, estate_id, "covenant"), COMMENTS["first_assembly"], today)
    candidates = _candidates(session, rng, estate_id, today)[:6]
    for candidate in candidates:
        candidate.nomination = "organiser"
    session.add(OwnersMeeting(
        estate_id=estate_id, title="首次业主大会会议", convener="preparatory_group", kind="regular", form="written",
        vote_from=today + notice + dt.timedelta(days=10), vote_until=today + notice + dt.timedelta(days=24),
        description="首次业主大会会议筹备组召集，街道办事处代表任组长。表决通过管理规约、议事规则并选举产生业主委员会之日起，业主大会成立。",
        matters=[
            MeetingMatter(position=1, matter="covenant", title="表决通过《管理规约》",
                          document_id=_draft_of(session, estate_id, "covenant")),
            MeetingMatter(position=2, matter="rules_of_procedure", title="表决通过《业主大会议事规则》",
                          document_id=_draft_of(session, estate_id, "rules_of_procedure")),
            MeetingMatter(position=3, matter="committee", title="选举第一届业主委员会委员", seats=5,
                          content="差额选举：候选人 6 名，应选 5 名。", candidates=candidates),
        ]))
    return 1


def _local_rule(session: Session, estate_id: int) -> None:
    """The district's own rule on who may stand for the 业委会 (the same as the national default
    here: it shows where a locality keeps its numbers)."""
    district_id = session.scalar(select(Street.district_id).join(Community, Community.street_id == Street.id)
                                 .join(Estate, Estate.community_id == Community.id).where(Estate.id == estate_id))
    session.add(LocalSetting(district_id=district_id, setting="candidate_no_arrears", value="是",
                             basis="《北京市物业管理条例》关于业主委员会委员条件的规定（演示数据）"))


def _counted(session: Session, rng: random.Random, estate_id: int, user, today: dt.date, notice: dt.timedelta,
             asked: bool = False) -> int:
    """The year's first meeting: announced, voted and counted two months ago (``asked``: an
    extraordinary meeting the owners proposed)."""
    past = _meeting(session, estate_id, "2026 年第一次业主大会会议", PAST_AGENDA, today + notice, user,
                    election=_candidates(session, rng, estate_id, today),
                    proposers=_proposers(session, rng, estate_id, today) if asked else ())
    _backdate(session, past, announced_on=today - dt.timedelta(days=80), vote_from=today - dt.timedelta(days=62),
              vote_until=today - dt.timedelta(days=48))
    MEETING_FLOW.fire(session, past, "open_vote", user)
    ballots = _ballots(session, rng, past, PAST_AGENDA, share=0.8)
    MEETING_FLOW.fire(session, past, "close_vote", user)
    # the versions it adopted came into force (and those before them ended) the day after voting
    counted_on = past.vote_until + dt.timedelta(days=1)
    date_steps(session, past, announce=past.announced_on, open_vote=past.vote_from, close_vote=counted_on)
    table = GoverningDocument.__table__
    session.execute(update(table).where(table.c.estate_id == estate_id, table.c.adopted_on == today)
                    .values(adopted_on=counted_on))
    session.execute(update(table).where(table.c.estate_id == estate_id, table.c.superseded_on == today)
                    .values(superseded_on=counted_on))
    return ballots


def _candidates(session: Session, rng: random.Random, estate_id: int, today: dt.date) -> list[Candidate]:
    """Owners who may stand: holding a unit of the estate, not the developer, no overdue fees."""
    overdue = select(UnitOwnership.owner_id).join(Bill, Bill.unit_id == UnitOwnership.unit_id).where(
        Bill.outstanding > 0, Bill.period < arrears_before(today, Settings.current(session).arrears_notice_days))
    eligible = session.execute(
        select(Owner.id).join(UnitOwnership, UnitOwnership.owner_id == Owner.id)
        .where(Owner.estate_id == estate_id, Owner.is_developer.is_(False), Owner.id.not_in(overdue))
        .group_by(Owner.id).order_by(Owner.id).limit(200)).scalars().all()
    statements = ("退休教师，愿意为邻里服务", "从事财务工作十余年，可协助公共收益公开", "楼栋长，熟悉小区设施情况",
                  "律师，熟悉物业管理法规", "社区志愿者", "工程师，关注电梯与消防设施维护", "个体经营者，时间较充裕")
    return [Candidate(position=i, owner_id=owner_id, nomination=rng.choice(("self", "self", "organiser")),
                      statement=statements[i - 1])
            for i, owner_id in enumerate(rng.sample(eligible, ELECTION[2]), start=1)]


def _seat(session: Session, estate_id: int, user, official) -> None:
    """The term the counted election produced, dated the day after voting ended: the committee
    names its 主任 and 副主任; in the large estate the 街道 confirmed the 备案."""
    term = session.execute(select(CommitteeTerm).where(CommitteeTerm.estate_id == estate_id)
                           .order_by(CommitteeTerm.id.desc())).scalars().first()
    if term is None:
        return  # nobody reached the threshold
    elected_on = session.scalar(select(OwnersMeeting.vote_until).where(OwnersMeeting.id == term.meeting_id)) \
        + dt.timedelta(days=1)
    # the term's end and 备案 deadline follow from the new date (models.committee fills them at the flush)
    term.elected_on, term.term_ends, term.filing_due = elected_on, None, None
    estate = session.get(Estate, estate_id)
    if estate.committee_founded_on == clock.today():  # its first committee: founded when elected
        estate.committee_founded_on = elected_on
    members = [m for m in term.members if m.role == "member"]
    for member, role in zip(members, ("chair", "vice_chair")):
        member.role = role
    session.flush()
    if official is not None:
        TERM_FLOW.fire(session, term, "file", official, values={"filing_no": f"备案{elected_on:%Y}-{estate_id:03d}"})
        term.filed_on = elected_on + dt.timedelta(days=12)
        date_steps(session, term, file=term.filed_on)


def _proposers(session: Session, rng: random.Random, estate_id: int, today: dt.date) -> list[MeetingProposer]:
    """Three in ten of the estate's owners sign a proposal for an extraordinary meeting (more than
    the 20 % of persons and of area it needs), over the last three weeks."""
    owners = session.scalars(select(Owner.id).where(Owner.estate_id == estate_id, Owner.is_developer.is_(False))
                             .order_by(Owner.id)).all()
    return [MeetingProposer(owner_id=owner_id, signed_on=today - dt.timedelta(days=rng.randint(20, 40)))
            for owner_id in rng.sample(owners, len(owners) * 3 // 10)]


def _estate_wide_plan(session: Session, estate_id: int, manager, committee) -> int:
    """A repair-fund plan for every building of the estate, submitted by 物业 and approved by the
    committee today: published for the fund's publicity days, then decided at a meeting."""
    buildings = session.scalars(select(Building.id).where(Building.estate_id == estate_id).order_by(Building.id)).all()
    app = FundApplication(
        estate_id=estate_id, title="全小区监控和门禁系统更新改造", category="renewal", matter="use",
        repair_part="各楼栋单元门禁、公共区域监控", budget=Decimal("386000.00"), contractor="北京安视达智能科技有限公司",
        plan="分楼栋施工，90 天完成；旧设备拆除后统一回收。", exclusion_declared=True,
        scope=[FundScope(building_id=building_id) for building_id in buildings])
    session.add(app)
    session.flush()
    FUND_FLOW.fire(session, app, "submit", manager)
    FUND_FLOW.fire(session, app, "approve", committee, "同意公示，列入临时业主大会会议议程")
    return app.id


def _meeting(session: Session, estate_id: int, title: str, agenda: tuple, vote_from: dt.date, user,
             election: list[Candidate] = (), proposers: list[MeetingProposer] = (),
             fund_application_id: int | None = None) -> OwnersMeeting:
    """A written meeting with its agenda (and, given candidates, a committee election as its
    last matter; given proposers, an extraordinary meeting the owners asked for), announced
    today for ``vote_from``."""
    meeting = OwnersMeeting(
        estate_id=estate_id, title=title, kind="extraordinary" if proposers else "regular",
        reason="proposal" if proposers else None, proposers=list(proposers), form="written", vote_from=vote_from,
        vote_until=vote_from + dt.timedelta(days=14),
        description="业委会召集。表决票由楼栋长送达，可投入物业服务中心票箱，或凭表决票上的电子投票码在公示栏投票。咨询：业委会办公室。",
        matters=[MeetingMatter(position=i, matter=kind, title=name, content=content,
                               document_id=_draft_of(session, estate_id, kind) if kind in DRAFT_CHANGES else None,
                               fund_application_id=fund_application_id if kind == "use" else None)
                 for i, (kind, name, content, _yes) in enumerate(agenda, start=1)],
    )
    for matter in meeting.matters:
        if matter.matter == "property_manager":  # a 续聘: the contract the owners decide on
            starts = (vote_from + dt.timedelta(days=45)).replace(day=1)
            matter.company_id = session.get(Estate, estate_id).company_id
            matter.contract_starts, matter.billing_mode = starts, "lump_sum"
            matter.contract_ends = starts + relativedelta(years=3) - dt.timedelta(days=1)
    if election:
        seats, alternates, _standing = ELECTION
        meeting.matters.append(MeetingMatter(
            position=len(agenda) + 1, matter="committee", title="选举第二届业主委员会委员", seats=seats,
            alternates=alternates, content=f"差额选举：候选人 {len(election)} 名，应选 {seats} 名，另设候补委员 {alternates} 名。",
            candidates=list(election)))
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
    elections = [m for m in meeting.matters if m.is_election]
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
    choices = [dict(ballot_id=ballot_id, estate_id=meeting.estate_id, meeting_id=meeting.id, matter_id=matter_id,
                    choice="yes" if rng.random() < yes else rng.choice(("no", "no", "abstain")))
               for ballot_id in ids for matter_id, yes in agreeing.items()]
    session.execute(insert(MeetingChoice.__table__), choices)
    # each voter approves up to the seats, the candidates' popularity falling with their place
    approvals = [dict(ballot_id=ballot_id, estate_id=meeting.estate_id, meeting_id=meeting.id, matter_id=m.id,
                      candidate_id=c.id)
                 for ballot_id in ids for m in elections for c in m.candidates
                 if rng.random() < 0.9 - 0.07 * c.position]
    approvals = _at_most(approvals, {m.id: m.seats for m in elections}, {c.id: m.id for m in elections
                                                                        for c in m.candidates})
    if approvals:
        session.execute(insert(MeetingApproval.__table__), approvals)
    record_all(session, [(MeetingBallot, len(rows)), (MeetingChoice, len(choices)), (MeetingApproval, len(approvals))],
               f"{meeting.title} 演示表决票 {{count}} 条")
    return len(rows)


def _at_most(approvals: list[dict], seats: dict[int, int], matter_of: dict[int, int]) -> list[dict]:
    """A ballot approves no more candidates of an election than its seats (the first ones kept)."""
    kept, count = [], {}
    for row in approvals:
        key = (row["ballot_id"], matter_of[row["candidate_id"]])
        count[key] = count.get(key, 0) + 1
        if count[key] <= seats[key[1]]:
            kept.append(row)
    return kept
