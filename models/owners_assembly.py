"""业主大会会议: the owners decide several matters at one meeting, one ballot per person.

A meeting (集体讨论 or 书面征求意见) has an agenda of 表决事项, each of a kind of 民法典
第二百七十八条 with that kind's threshold (``models.fund_vote.legal_rule``, or the district's
stricter 表决规则). It is announced to all owners at least the notice days of the settings
before voting starts (物业管理条例第十四条: 15 days); then the agenda is frozen. When voting
opens, the roll of the whole estate is fixed the way every vote fixes it (one person per
owner, the developer's unsold units one person: ``models.fund_vote.roll_entries``). A person
returns ONE ballot for the whole agenda, through any of their units, with a choice on every
matter; it counts for all of their units. Closing the vote counts each matter with the same
arithmetic as every vote (``count_up``) and stores the figures with the outcome. An
election of the 业委会 is a matter with seats (``models.election``); a passed 选聘 of a
company writes the contract record it proposed; a repair-fund application whose 列支范围 is
the whole estate may be a matter, and the meeting's count is then its vote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    Boolean, CheckConstraint, Date, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text,
    UniqueConstraint, distinct, event, false, func, insert, inspect, select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import clock
from models.base import Admin, Area, Choices, Derived, Document, Entity, Menu, batches, fk, zh
from models.clock import UTCDateTime, utc_now
from models.company import BILLING_MODES, PropertyCompany, ServiceContract
from models.errors import Refused
from models.estate import Estate, Unit
from models.fund_vote import (
    BALLOT_CHOICES, CHANNELS, MATTERS, ONE_BALLOT, KeptCount, Rule, Tally, TallyFigures, code_matches, count_up, figures_of,
    kept_figures, percent_text, roll_entries, rule_for, vote_may_close,
)
from models.governing_documents import KINDS as DOCUMENT_KINDS
from models.governing_documents import GoverningDocument, adopt, silence_is_consent
from models.people import Owner, UnitOwnership
from models.repair_fund import STATES as FUND_STATES
from models.repair_fund import FundApplication, decided_at_meeting, electorate
from models.settings import GUIDANCE, LocalSettings, settings_for
from models.workflow import Transition, Workflow

KINDS = Choices(("regular", "定期会议"), ("extraordinary", "临时会议"))
#: who calls the meeting and runs it: the 业委会, or for the first assembly the 筹备组 led by the
#: 街道 (业主大会和业主委员会指导规则第九、十条; app.roles.MEETING_CONVENERS says which role acts for each)
CONVENERS = Choices(("committee", "业主委员会"), ("preparatory_group", "首次业主大会会议筹备组"))
FORMS = Choices(("discussion", "集体讨论"), ("written", "书面征求意见"))
#: why an extraordinary meeting is called (业主大会和业主委员会指导规则第二十一条; the proposers'
#: share is a setting, 20 % by default and lower where a district says so, so the label names no figure)
REASONS = Choices(
    ("proposal", "专有部分面积和人数均达到规定比例的业主提议"),
    ("emergency", "发生重大事故或者紧急事件需要及时处理"),
    ("rules", "议事规则或者管理规约规定的其他情况"),
)
STATES = Choices(
    ("draft", "草拟"), ("announced", "已公告"), ("voting", "表决中"), ("counted", "已计票"), ("cancelled", "已取消"),
)
#: states whose notice and agenda the public board shows
PUBLIC_STATES = ("announced", "voting", "counted", "cancelled")
NOT_ON_ROLL, WRONG_CODE = "该房屋不在本次会议的表决名册中", "电子投票码不正确"
ARTICLE_14 = "物业管理条例第十四条"
ARTICLE_21 = f"{GUIDANCE}第二十一条"


# -- the meeting and its agenda ------------------------------------------------------

def _agenda_announced(meeting: OwnersMeeting, session: Session) -> str | None:
    if not meeting.matters:
        return "议程为空：请先添加至少一项表决事项"
    if meeting.kind == "extraordinary" and meeting.reason == "proposal":
        refusal = proposal_refusal(session, meeting)
        if refusal:
            return refusal
    if meeting.convener == "preparatory_group":
        from models.first_assembly import first_meeting_refusal

        refusal = first_meeting_refusal(meeting, session)
        if refusal:
            return refusal
    settings = settings_for(session, meeting.estate_id)
    for matter in meeting.matters:
        refusal = _election_refusal(matter, settings) or _fund_application_refusal(session, meeting, matter)
        if refusal:
            return refusal
    days = settings.assembly_notice_days
    earliest = clock.today() + dt.timedelta(days=days)
    if meeting.vote_from < earliest:
        return (f"须于会议召开 {days} 日以前通知全体业主（{ARTICLE_14}）：今天公告，会议（表决开始）最早为 "
                f"{earliest:%Y年%m月%d日}，请先修改表决开始日期")
    return None


def proposal_figures(session: Session, meeting: OwnersMeeting) -> tuple[int, int, Decimal, Decimal]:
    """(proposing persons, all persons, their area, all area) of the estate as of today, by the
    roll's rule: a person proposes when one of the owners counted in that person signed."""
    entries = roll_entries(session, select(Unit.id).where(Unit.estate_id == meeting.estate_id), clock.today())
    signed = set(session.scalars(select(UnitOwnership.unit_id).join(
        MeetingProposer, MeetingProposer.owner_id == UnitOwnership.owner_id).where(
        MeetingProposer.meeting_id == meeting.id)))
    proposing = {e["person"] for e in entries if e["unit_id"] in signed}
    persons = {e["person"] for e in entries}
    area = sum((e["area"] for e in entries if e["person"] in proposing), Decimal(0))
    return len(proposing), len(persons), area, sum((e["area"] for e in entries), Decimal(0))


def proposal_refusal(session: Session, meeting: OwnersMeeting) -> str | None:
    """A 临时会议 on the owners' proposal needs proposers holding at least the settings' share of
    the area and of the persons (指导规则第二十一条: 20% 以上, both)."""
    percent = settings_for(session, meeting.estate_id).extraordinary_proposal_percent
    heads, all_heads, area, all_area = proposal_figures(session, meeting)
    share = Fraction(percent, 100)
    if all_heads and Fraction(heads, all_heads) >= share and Fraction(area) >= share * Fraction(all_area):
        return None
    heads_share = Fraction(heads, all_heads) if all_heads else Fraction(0)
    area_share = Fraction(area) / Fraction(all_area) if all_area else Fraction(0)
    return (f"业主提议召开的临时会议，提议业主的专有部分面积和人数均须占 {percent}% 以上（{ARTICLE_21}）："
            f"现为 {heads} 人（占 {percent_text(heads_share)}%）、{area} ㎡（占 {percent_text(area_share)}%），"
            "请在「临时会议提议业主」中登记提议的业主")


def _election_refusal(matter: MeetingMatter, settings: LocalSettings) -> str | None:
    """An election is announced with its candidate list: at least as many candidates as seats
    (等额 or 差额), and a 换届 or first election fills an odd number of seats within the range."""
    if not matter.is_election:
        return None
    low, high = settings.committee_seats_min, settings.committee_seats_max
    if not matter.by_election and (matter.seats % 2 == 0 or not low <= matter.seats <= high):
        return f"第 {matter.position} 项：业委会委员应选名额须为 {low} 至 {high} 人之间的单数（补选除外）"
    if len(matter.candidates) < matter.seats:
        return (f"第 {matter.position} 项应选 {matter.seats} 名，候选人只有 {len(matter.candidates)} 名："
                "候选人不得少于应选名额，请先登记候选人")
    return None


def _fund_application_refusal(session: Session, meeting: OwnersMeeting, matter: MeetingMatter) -> str | None:
    """An application goes on a meeting's agenda when the whole estate decides it: its 列支范围
    is every unit (otherwise the owners of the 列支范围 vote on it alone), its plan has been
    published for the full period before voting starts, and no other meeting decides it."""
    app = matter.fund_application
    if app is None:
        return None
    where = f"第 {matter.position} 项「{app.title}」"
    if app.state != "publicity":
        return f"{where}：维修资金使用申请须经业委会审核并处于方案公示阶段，现为「{FUND_STATES.label(app.state)}」"
    if app.publicity_until is not None and app.publicity_until >= meeting.vote_from:
        return f"{where}：方案公示期至 {app.publicity_until:%Y年%m月%d日}，会议表决开始须在公示期满之后"
    covered = session.scalar(select(func.count()).select_from(electorate(app).subquery()))
    units = session.scalar(select(func.count()).select_from(Unit).where(Unit.estate_id == meeting.estate_id))
    if covered != units:
        return (f"{where}：列支范围为 {covered} 套房屋，不是本小区全部 {units} 套：只涉及部分房屋的方案由列支范围内的"
                "业主单独表决，不列入业主大会会议")
    other = deciding_meeting(session, app, besides=meeting.id)
    if other is not None:
        return f"{where}：已列入「{other.title}」的议程"
    return None


def deciding_meeting(session: Session, app: FundApplication, besides: int | None = None) -> OwnersMeeting | None:
    """The announced, voting or counted meeting whose agenda holds the application, if any."""
    return session.scalar(select(OwnersMeeting).join(MeetingMatter).where(
        MeetingMatter.fund_application_id == app.id, OwnersMeeting.state.in_(("announced", "voting", "counted")),
        OwnersMeeting.id != (besides or 0)).limit(1))


def _announce(meeting: OwnersMeeting, _session: Session) -> None:
    meeting.announced_on = clock.today()


def _vote_may_open(meeting: OwnersMeeting, _session: Session) -> str | None:
    if clock.today() < meeting.vote_from:
        return f"会议定于 {meeting.vote_from:%Y年%m月%d日} 开始表决，届时方可开始"
    return None


def _open_vote(meeting: OwnersMeeting, session: Session) -> None:
    open_roll(session, meeting)


def _vote_may_close(meeting: OwnersMeeting, session: Session) -> str | None:
    persons = session.scalar(select(func.count(distinct(MeetingRoll.person))).where(MeetingRoll.meeting_id == meeting.id))
    cast = session.scalar(select(func.count()).select_from(MeetingBallot).where(MeetingBallot.meeting_id == meeting.id))
    return vote_may_close(meeting.vote_until, persons, cast)


def _count(meeting: OwnersMeeting, session: Session) -> None:
    record_results(session, meeting)


MEETING_FLOW = Workflow(
    states=STATES,
    transitions=(
        Transition("announce", "发布会议公告", ("draft",), "announced", guard=_agenda_announced, effect=_announce,
                   style="success", consequence="公告后会议通知与议程向全体业主公开，议程不能再修改"),
        Transition("open_vote", "开始表决", ("announced",), "voting", guard=_vote_may_open, effect=_open_vote,
                   consequence="开始后按本小区全部房屋生成表决名册并接受投票"),
        Transition("close_vote", "结束表决并计票", ("voting",), "counted", guard=_vote_may_close, effect=_count,
                   style="danger", consequence="计票后不再接受投票，各事项的表决结果保存并公布"),
        Transition("cancel", "取消会议", ("draft", "announced"), "cancelled", comment_required=True, style="warning",
                   consequence="取消后会议不能恢复；已公告的会议在公示栏显示为已取消"),
    ),
    frozen=frozenset(STATES.codes) - {"draft"},
)


def _place_for_discussion(values: dict) -> list[tuple[str, str]]:
    if values.get("form") == "discussion" and not (values.get("place") or "").strip():
        return [("place", "集体讨论形式的会议须填写会议地点")]
    return []


def _reason_for_extraordinary(values: dict) -> list[tuple[str, str]]:
    """A 临时会议 is called for one of the reasons the rules name; a 定期会议 needs none."""
    if values.get("kind") == "extraordinary" and not values.get("reason"):
        return [("reason", "临时会议须选择召开事由（业主大会和业主委员会指导规则第二十一条）")]
    return []


def _seats_for_elections(values: dict) -> list[tuple[str, str]]:
    """Only an election of the 业委会 has seats; 候补 places and 补选 belong to an election."""
    found = []
    seats, alternates = values.get("seats"), values.get("alternates")
    if seats is not None and values.get("matter") != "committee":
        found.append(("seats", "只有「选举业主委员会」事项填写应选名额"))
    elif seats is not None and seats <= 0:
        found.append(("seats", "应选名额须大于 0"))
    if alternates and seats is None:
        found.append(("alternates", "候补委员名额随选举填写：请先填写应选名额"))
    elif alternates is not None and alternates < 0:
        found.append(("alternates", "候补委员名额不能为负数"))
    if values.get("by_election") and seats is None:
        found.append(("by_election", "补选须填写应选名额"))
    return found


def _contract_for_property_manager(values: dict) -> list[tuple[str, str]]:
    """A contract proposal belongs to 选聘物业 and names the company, its term and 计费模式."""
    fields = ("company", "contract_starts", "contract_ends", "billing_mode")
    given = [f for f in fields if values.get(f) not in (None, "")]
    if not given:
        return []
    if values.get("matter") != "property_manager":
        return [(given[0], "只有「选聘和解聘物业服务企业」事项填写拟签合同")]
    return [(f, "选聘物业须同时填写企业、合同起止日期和计费模式") for f in fields if f not in given]


def _fund_application_of_its_kind(values: dict) -> list[tuple[str, str]]:
    """An application is decided by a matter of the kind it names (its use, or a rebuilding)."""
    application = values.get("fund_application")  # another estate's: the check of every link (app.scoping)
    if application is None or values.get("matter") == application.matter:
        return []
    return [("fund_application", f"该维修资金使用申请的表决事项为「{MATTERS.label(application.matter)}」，"
                                 "请选择相同的事项类别")]


def _document_of_its_kind(values: dict) -> list[tuple[str, str]]:
    """A draft of the estate's 管理规约 or 议事规则 is decided by a matter of that kind."""
    document = values.get("document")  # another estate's is refused by the check of every link (app.scoping)
    if document is None or values.get("matter") == document.kind:
        return []
    return [("document", f"「{DOCUMENT_KINDS.label(document.kind)}」草案须由「{MATTERS.label(document.kind)}」事项表决")]


class OwnersMeeting(Entity):
    """业主大会会议."""

    __tablename__ = "owners_meeting"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    title: Mapped[str] = mapped_column(String(100), info=zh("会议名称", "如 2027 年第一次业主大会会议"))
    kind: Mapped[str] = mapped_column(String(20), default="regular", info=zh("会议类型", choices=KINDS))
    convener: Mapped[str] = mapped_column(
        String(20), default="committee", server_default="committee",
        info=zh("召集人", "首次业主大会会议由筹备组召集，此后由业主委员会召集", choices=CONVENERS),
    )
    reason: Mapped[str | None] = mapped_column(
        String(20), info=zh("临时会议事由", "召开临时会议时必选", choices=REASONS)
    )
    form: Mapped[str] = mapped_column(
        String(20), default="written", info=zh("召开形式", "书面征求意见：业主在表决期内交回表决票或电子投票", choices=FORMS)
    )
    place: Mapped[str | None] = mapped_column(String(200), info=zh("会议地点", "集体讨论形式必填"))
    vote_from: Mapped[dt.date] = mapped_column(Date, info=zh("表决开始", "即会议召开日；须在公告之日起满通知天数以后"))
    vote_until: Mapped[dt.date] = mapped_column(Date, info=zh("表决截止"))
    description: Mapped[str | None] = mapped_column(Text, info=zh("会议说明", "召集人、投票方式、票箱位置、咨询电话等"))
    state: Mapped[str] = mapped_column(String(20), default="draft", info=zh("状态", choices=STATES))
    announced_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("公告日期"))
    # fixed when voting opens from the estate's rules then in force (a later version does not apply)
    silent_consent: Mapped[bool | None] = mapped_column(
        Boolean, info=zh("未参与表决视为同意", "开始表决时按本小区现行管理规约、议事规则的约定确定；选举不适用"),
    )
    matters: Mapped[list[MeetingMatter]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingMatter.position",
        info=zh("表决事项"),
    )
    proposers: Mapped[list[MeetingProposer]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingProposer.id",
        info=zh("临时会议提议业主"),
    )

    __table_args__ = (
        KINDS.constraint("kind", "ck_owners_meeting_kind"),
        CONVENERS.constraint("convener", "ck_owners_meeting_convener"),
        REASONS.constraint("reason", "ck_owners_meeting_reason"),
        FORMS.constraint("form", "ck_owners_meeting_form"),
        STATES.constraint("state", "ck_owners_meeting_state"),
        CheckConstraint("vote_until >= vote_from", name="ck_owners_meeting_dates"),
    )

    def __str__(self) -> str:
        return self.title

    def workflow_notes(self, session: Session) -> list[str]:
        days = settings_for(session, self.estate_id).assembly_notice_days
        notes = {
            "draft": f"议程确定后发布公告；须于表决开始 {days} 日以前公告（{ARTICLE_14}），公告后议程不能修改。",
            "announced": f"已于 {self.announced_on} 公告；{self.vote_from} 起可开始表决。",
            "voting": f"表决期至 {self.vote_until}；每位业主一张表决票，对全部事项逐项表决。",
        }
        return [notes[self.state]] if self.state in notes else []

    class Admin(Admin):
        label = "业主大会会议"
        menu = Menu.ASSEMBLY
        icon = "fa-users"
        list_columns = ("estate", "title", "kind", "form", "vote_from", "vote_until", "state")
        search_columns = ("estate", "title", "kind", "form", "state", "vote_from", "vote_until")
        form_columns = ("estate", "title", "convener", "kind", "reason", "form", "place", "vote_from", "vote_until",
                        "description")
        show_columns = ("estate", "title", "convener", "kind", "reason", "form", "place", "vote_from", "vote_until",
                        "description", "state", "announced_on", "silent_consent")
        order_by = ("vote_from", "desc")
        date_order = (("vote_from", "vote_until"),)
        rules = (_place_for_discussion, _reason_for_extraordinary)
        workflow = MEETING_FLOW
        extra_actions = frozenset({"ballot"})  # 录入纸质表决票, 打印表决票
        details = ("matters", "proposers")


class MeetingMatter(Entity):
    """表决事项: one item of a meeting's agenda, decided by the threshold of its kind."""

    __tablename__ = "meeting_matter"

    meeting_id: Mapped[int] = fk("owners_meeting.id", ondelete="CASCADE")
    meeting: Mapped[OwnersMeeting] = relationship(back_populates="matters", info=zh("业主大会会议"))
    position: Mapped[int] = mapped_column(Integer, default=1, info=zh("序号", "表决票上的顺序"))
    matter: Mapped[str] = mapped_column(String(20), info=zh("事项类别", "决定法定的表决比例", choices=MATTERS))
    title: Mapped[str] = mapped_column(String(200), info=zh("事项名称", "如 续聘某某物业服务有限公司"))
    content: Mapped[str | None] = mapped_column(Text, info=zh("事项内容", "方案要点；全文可在会议说明中注明查阅方式"))
    # an election of the 业委会 (models/election.py): the seats, the 候补 places, whether it fills vacancies
    seats: Mapped[int | None] = mapped_column(
        Integer, info=zh("应选名额", "选举业委会委员时填写（换届或首次选举为系统设置的最少与最多人数之间的单数）；其他事项留空")
    )
    alternates: Mapped[int | None] = mapped_column(
        Integer, info=zh("候补委员名额", "可留空；达到当选票数而未当选的候选人按得票依次成为候补委员")
    )
    by_election: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), info=zh("补选", "勾选：补足本届业委会缺额或另行选举，当选者加入本届，名额不受单数限制")
    )
    # 选聘物业服务企业: the contract put to the owners; when it passes it becomes the contract record
    company_id: Mapped[int | None] = fk("property_company.id", nullable=True)
    company: Mapped[PropertyCompany | None] = relationship(
        info=zh("拟选聘物业服务企业", "选聘或续聘物业时填写；表决通过后据此生成物业服务合同记录，无需重新录入")
    )
    contract_starts: Mapped[dt.date | None] = mapped_column(Date, info=zh("拟签合同起始日期"))
    contract_ends: Mapped[dt.date | None] = mapped_column(Date, info=zh("拟签合同终止日期"))
    billing_mode: Mapped[str | None] = mapped_column(String(20), info=zh("拟定计费模式", choices=BILLING_MODES))
    # 管理规约 / 议事规则: the draft version put to the owners; when it passes it is in force
    document_id: Mapped[int | None] = fk("governing_document.id", nullable=True)
    document: Mapped[GoverningDocument | None] = relationship(
        foreign_keys=[document_id],
        info=zh("表决的文件草案", "制定或修改管理规约、议事规则时选择草案；表决通过后该版本生效，原版本废止"),
    )
    # 使用维修资金 / 改建重建: an application whose 列支范围 is the whole estate, decided with the agenda
    fund_application_id: Mapped[int | None] = fk("fund_application.id", nullable=True)
    fund_application: Mapped[FundApplication | None] = relationship(
        info=zh("维修资金使用申请", "列支范围为本小区全部房屋、正在公示的方案可列入议程一并表决；计票后申请随表决结果进入下一步，无需另行表决"),
    )
    candidates: Mapped[list[Any]] = relationship(
        "Candidate", back_populates="matter", cascade="all, delete-orphan", order_by="Candidate.position",
        info=zh("候选人"),
    )
    # the rule in force when voting opened (a later change of the rules does not apply)
    rule_quorum: Mapped[str | None] = mapped_column(String(10))
    rule_approval: Mapped[str | None] = mapped_column(String(10))
    rule_strict: Mapped[bool | None] = mapped_column(Boolean)
    rule_base: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (
        MATTERS.constraint("matter", "ck_meeting_matter_matter"),
        UniqueConstraint("meeting_id", "position", name="uq_meeting_matter_position",
                         info={"message": "同一会议的事项序号不能重复"}),
        CheckConstraint("position > 0", name="ck_meeting_matter_position"),
        CheckConstraint("seats IS NULL OR (seats > 0 AND matter = 'committee')", name="ck_meeting_matter_seats"),
        CheckConstraint("alternates IS NULL OR (alternates >= 0 AND seats IS NOT NULL)",
                        name="ck_meeting_matter_alternates"),
        CheckConstraint("company_id IS NULL OR (matter = 'property_manager' AND contract_starts IS NOT NULL "
                        "AND contract_ends >= contract_starts AND billing_mode IS NOT NULL)",
                        name="ck_meeting_matter_contract"),
        BILLING_MODES.constraint("billing_mode", "ck_meeting_matter_billing_mode"),
        CheckConstraint("document_id IS NULL OR matter IN ('covenant', 'rules_of_procedure')",
                        name="ck_meeting_matter_document"),
        CheckConstraint("fund_application_id IS NULL OR matter IN ('use', 'rebuild')",
                        name="ck_meeting_matter_fund_application"),
        UniqueConstraint("id", "meeting_id", name="uq_meeting_matter_of_meeting"),  # target of a choice's key
    )

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"

    @property
    def is_election(self) -> bool:
        return bool(self.seats)

    def rule(self) -> Rule:
        """The rule fixed when voting opened."""
        return Rule(Fraction(self.rule_quorum), Fraction(self.rule_approval), bool(self.rule_strict), self.rule_base)

    class Admin(Admin):
        label = "表决事项"
        menu = Menu.ASSEMBLY
        icon = "fa-list-ol"
        list_columns = ("meeting", "position", "matter", "title", "seats", "company")
        search_columns = ("meeting", "matter", "title")
        form_columns = ("meeting", "position", "matter", "title", "content", "document", "fund_application", "seats",
                        "alternates", "by_election", "company", "contract_starts", "contract_ends", "billing_mode")
        order_by = ("id", "desc")
        scope_path = "meeting.estate_id"
        frozen_by = "meeting"
        date_order = (("contract_starts", "contract_ends"),)
        rules = (_seats_for_elections, _contract_for_property_manager, _document_of_its_kind,
                 _fund_application_of_its_kind)
        details = ("candidates",)


class MeetingProposer(Entity):
    """临时会议提议业主: an owner who signed the proposal to call an extraordinary meeting."""

    __tablename__ = "meeting_proposer"

    meeting_id: Mapped[int] = fk("owners_meeting.id", ondelete="CASCADE")
    meeting: Mapped[OwnersMeeting] = relationship(back_populates="proposers", info=zh("业主大会会议"))
    owner_id: Mapped[int] = fk("owner.id")
    owner: Mapped[Owner] = relationship(info=zh("提议业主", "须为本小区业主；共有房屋由其中一位共有人签名即计入"))
    signed_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("签名日期"))

    __table_args__ = (
        UniqueConstraint("meeting_id", "owner_id", name="uq_meeting_proposer_owner", info={"message": "该业主已在提议名单中"}),
    )

    def __str__(self) -> str:
        return str(self.owner)

    class Admin(Admin):
        label = "临时会议提议业主"
        menu = Menu.ASSEMBLY
        icon = "fa-hand-paper-o"
        list_columns = ("meeting", "owner", "signed_on")
        search_columns = ("meeting", "signed_on")
        form_columns = ("meeting", "owner", "signed_on")
        order_by = ("id", "desc")
        scope_path = "meeting.estate_id"
        frozen_by = "meeting"
        str_loads = ("owner",)


# -- the roll, the ballots, the results ----------------------------------------------

class MeetingRoll(Entity):
    """会议表决名册: every unit of the estate, fixed when voting opens."""

    __tablename__ = "meeting_roll"

    meeting_id: Mapped[int] = fk("owners_meeting.id", index=False)  # ix_meeting_roll_person starts with it
    meeting: Mapped[OwnersMeeting] = relationship(info=zh("业主大会会议"))
    estate_id: Mapped[int] = fk("estate.id")
    unit_id: Mapped[int] = fk("unit.id")
    unit: Mapped[Unit] = relationship(info=zh("房屋"))
    area: Mapped[Decimal] = mapped_column(Area, info=zh("专有部分面积（㎡）"))
    person: Mapped[str] = mapped_column(String(200), info=zh("计人数的业主"))
    voter_name: Mapped[str] = mapped_column(String(200), info=zh("业主"))
    # the person's secret for electronic voting: unlabelled, so no page, export or API shows it
    code: Mapped[str] = mapped_column(String(12))

    __table_args__ = (
        UniqueConstraint("meeting_id", "unit_id", name="uq_meeting_roll_unit", info={"message": "该房屋已在表决名册中"}),
        UniqueConstraint("meeting_id", "unit_id", "person", name="uq_meeting_roll_unit_person"),
        # a person's units: what a ballot is counted for
        Index("ix_meeting_roll_person", "meeting_id", "person"),
    )

    def __str__(self) -> str:
        return str(self.unit)

    class Admin(Admin):
        label = "会议表决名册"
        menu = Menu.ASSEMBLY
        icon = "fa-address-book"
        list_columns = ("meeting", "unit", "area", "voter_name")
        search_columns = ("meeting",)
        order_by = ("id", "asc")
        str_loads = ("unit",)
        actions = frozenset()  # written when voting opens
        append_only = True


class MeetingBallot(Entity):
    """会议表决票: one per person and meeting, with a choice on every matter of the agenda."""

    __tablename__ = "meeting_ballot"

    meeting_id: Mapped[int] = fk("owners_meeting.id")
    meeting: Mapped[OwnersMeeting] = relationship(info=zh("业主大会会议"))
    estate_id: Mapped[int] = fk("estate.id")
    unit_id: Mapped[int] = fk("unit.id")
    unit: Mapped[Unit] = relationship(info=zh("房屋", "投票时出示的房屋；表决意见计入该业主在名册中的全部房屋"))
    person: Mapped[str] = mapped_column(String(200))  # the roll's key of the person (never shown)
    channel: Mapped[str] = mapped_column(String(12), info=zh("表决方式", choices=CHANNELS))
    scan: Mapped[str | None] = mapped_column(Document(255), info=zh("表决票扫描件"))
    recorded_by: Mapped[str] = mapped_column(String(100), info=zh("录入人", login=True))
    cast_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=zh("投票时间"))
    choices: Mapped[list[MeetingChoice]] = relationship(
        back_populates="ballot", foreign_keys="MeetingChoice.ballot_id", order_by="MeetingChoice.id",
        passive_deletes="all", info=zh("表决意见"))
    approvals: Mapped[list[Any]] = relationship(
        "MeetingApproval", back_populates="ballot", foreign_keys="MeetingApproval.ballot_id",
        order_by="MeetingApproval.id", passive_deletes="all", info=zh("选举表决意见"))

    __table_args__ = (
        UniqueConstraint("meeting_id", "person", name="uq_meeting_ballot_person", info={"message": ONE_BALLOT}),
        ForeignKeyConstraint(("meeting_id", "unit_id", "person"),
                             ("meeting_roll.meeting_id", "meeting_roll.unit_id", "meeting_roll.person"),
                             name="fk_meeting_ballot_roll"),
        CHANNELS.constraint("channel", "ck_meeting_ballot_channel"),
        CheckConstraint("channel <> 'paper' OR scan IS NOT NULL", name="ck_meeting_ballot_paper_scan"),
        UniqueConstraint("id", "meeting_id", name="uq_meeting_ballot_of_meeting"),  # target of a choice's key
    )

    def __str__(self) -> str:
        return f"{self.unit} {CHANNELS.label(self.channel)}"

    class Admin(Admin):
        label = "会议表决票"
        menu = Menu.ASSEMBLY
        icon = "fa-check-square-o"
        list_columns = ("meeting", "unit", "channel", "recorded_by", "cast_at")
        search_columns = ("meeting", "channel")
        order_by = ("cast_at", "desc")
        str_loads = ("unit",)
        actions = frozenset()  # cast on the meeting's tally page or the public board
        append_only = True
        details = ("choices", "approvals")


class MeetingChoice(Entity):
    """表决意见: a ballot's choice on one matter."""

    __tablename__ = "meeting_choice"

    ballot_id: Mapped[int] = fk("meeting_ballot.id")
    ballot: Mapped[MeetingBallot] = relationship(back_populates="choices", foreign_keys=[ballot_id],
                                                 info=zh("会议表决票"))
    estate_id: Mapped[int] = fk("estate.id")
    matter_id: Mapped[int] = fk("meeting_matter.id")
    matter: Mapped[MeetingMatter] = relationship(foreign_keys=[matter_id], info=zh("表决事项"))
    # the ballot's meeting: the two keys below hold the matter to the same meeting as the ballot
    meeting_id: Mapped[int] = mapped_column(Integer)
    choice: Mapped[str] = mapped_column(String(10), info=zh("表决意见", choices=BALLOT_CHOICES))

    __table_args__ = (
        UniqueConstraint("ballot_id", "matter_id", name="uq_meeting_choice_matter",
                         info={"message": "同一张表决票对每个事项只有一个表决意见"}),
        ForeignKeyConstraint(("ballot_id", "meeting_id"), ("meeting_ballot.id", "meeting_ballot.meeting_id"),
                             name="fk_meeting_choice_ballot_meeting"),
        ForeignKeyConstraint(("matter_id", "meeting_id"), ("meeting_matter.id", "meeting_matter.meeting_id"),
                             name="fk_meeting_choice_matter_meeting"),
        BALLOT_CHOICES.constraint("choice", "ck_meeting_choice_choice"),
    )

    def __str__(self) -> str:
        return BALLOT_CHOICES.label(self.choice)

    class Admin(Admin):
        label = "会议表决意见"
        menu = Menu.ASSEMBLY
        icon = "fa-check"
        list_columns = ("ballot", "matter", "choice")
        search_columns = ("matter", "choice")
        order_by = ("id", "desc")
        str_loads = ("matter",)
        actions = frozenset()
        append_only = True


class MatterTally(KeptCount, Derived):
    """The live count of one matter of a meeting (triggers of migration d7a3c9e5f1b2, on the
    roll, the choices and the matters)."""

    __tablename__ = "matter_tally"

    matter_id: Mapped[int] = mapped_column(ForeignKey("meeting_matter.id", ondelete="CASCADE"), primary_key=True)


class MatterResult(TallyFigures, Entity):
    """事项表决结果: the outcome of one matter with every number it was computed from."""

    __tablename__ = "matter_result"

    matter_id: Mapped[int] = fk("meeting_matter.id")
    matter: Mapped[MeetingMatter] = relationship(info=zh("表决事项"))
    meeting_id: Mapped[int] = fk("owners_meeting.id")
    meeting: Mapped[OwnersMeeting] = relationship(info=zh("业主大会会议"))
    estate_id: Mapped[int] = fk("estate.id")

    __table_args__ = (UniqueConstraint("matter_id", name="uq_matter_result_matter", info={"message": "该事项已经计票"}),)

    def __str__(self) -> str:
        return "通过" if self.passed else "未通过"

    class Admin(Admin):
        label = "事项表决结果"
        menu = Menu.ASSEMBLY
        icon = "fa-bar-chart"
        list_columns = ("meeting", "matter", "passed", "participating_area", "yes_area", "participating_heads",
                        "yes_heads", "computed_at")
        search_columns = ("meeting", "passed")
        order_by = ("computed_at", "desc")
        str_loads = ("matter",)
        actions = frozenset()  # written by the count when the vote closes
        append_only = True


# -- the services --------------------------------------------------------------------

def open_roll(session: Session, meeting: OwnersMeeting) -> int:
    """Fix the electorate (every unit of the estate) and each matter's rule."""
    units = select(Unit.id).where(Unit.estate_id == meeting.estate_id)
    entries = roll_entries(session, units, meeting.vote_from)
    if not entries:
        raise Refused("本小区没有登记房屋，不能表决")
    rows = [dict(meeting_id=meeting.id, estate_id=meeting.estate_id, **entry) for entry in entries]
    for chunk in batches(rows):
        session.execute(insert(MeetingRoll), chunk)
    district_id = meeting.estate.community.street.district_id
    meeting.silent_consent = silence_is_consent(session, meeting.estate_id)
    for matter in meeting.matters:
        rule = rule_for(session, district_id, matter.matter)
        matter.rule_quorum, matter.rule_approval = str(rule.quorum), str(rule.approval)
        matter.rule_strict, matter.rule_base = rule.strict, rule.base
    return len(rows)


def tally_of(session: Session, matter: MeetingMatter) -> Tally:
    """The live count of one matter from the figures the database keeps per choice (``MatterTally``)."""
    area, units, heads = kept_figures(session.execute(
        select(MatterTally).where(MatterTally.matter_id == matter.id)).scalars())
    # silence is consent only where the estate's rules in force when voting opened say so
    return count_up(area, heads, units, matter.rule(), silent_consent=bool(matter.meeting.silent_consent))


def record_results(session: Session, meeting: OwnersMeeting) -> None:
    """Close the count: each matter's outcome stored with the numbers it came from; an
    election's candidates ranked and the elected seated on the 业委会."""
    # elections build on the meeting's tables, so their module imports this one
    from models.committee import seat_committee
    from models.election import record_election

    now = utc_now()
    for matter in meeting.matters:
        if matter.is_election:
            seat_committee(session, meeting, matter, record_election(session, matter, now))
        else:
            counted = tally_of(session, matter)
            result = MatterResult(matter_id=matter.id, meeting_id=meeting.id, estate_id=meeting.estate_id,
                                  **figures_of(counted), computed_at=now)
            session.add(result)
            if result.passed and matter.company_id is not None:
                session.add(contract_decided(meeting, matter))
            if result.passed and matter.document is not None:
                adopt(session, matter.document, matter)
            if matter.fund_application is not None:
                decided_at_meeting(session, matter.fund_application, counted, meeting,
                                   f"{meeting.title} 第 {matter.position} 项", now)


def contract_decided(meeting: OwnersMeeting, matter: MeetingMatter) -> ServiceContract:
    """The contract record of a passed 选聘: company, term and 计费模式 as the owners decided them;
    物业 add the signing date (and may correct the number) once it is signed."""
    return ServiceContract(estate_id=meeting.estate_id, company_id=matter.company_id, decided_by_id=matter.id,
                           contract_no=f"{meeting.estate.code}-{meeting.vote_until:%Y}-{matter.id}",
                           starts_on=matter.contract_starts, ends_on=matter.contract_ends,
                           billing_mode=matter.billing_mode)


def cast_agenda(session: Session, meeting: OwnersMeeting, unit_id: int, choices: Mapping[int, str], *,
                channel: str, recorded_by: str, scan: str | None = None, code: str | None = None,
                approvals: Mapping[int, Sequence[int]] | None = None) -> MeetingBallot:
    """The ballot of the person a unit of the roll belongs to, with a choice on every matter
    (on an election: the candidates approved, at most its seats), counted for all of that
    person's units; refused (nothing written) when not allowed."""
    from models.election import MeetingApproval, check_approvals

    if meeting.state != "voting":
        raise Refused(f"会议当前状态为「{STATES.label(meeting.state)}」，不在表决期内")
    missing = [m for m in meeting.matters if not m.is_election and choices.get(m.id) not in BALLOT_CHOICES.codes]
    if missing:
        raise Refused(f"请对每个表决事项选择同意、反对或弃权：第 {'、'.join(str(m.position) for m in missing)} 项未选择")
    approved = {m.id: check_approvals(m, (approvals or {}).get(m.id, ())) for m in meeting.matters if m.is_election}
    roll = session.execute(select(MeetingRoll).where(MeetingRoll.meeting_id == meeting.id,
                                                     MeetingRoll.unit_id == unit_id)).scalar_one_or_none()
    if roll is None:
        raise Refused(NOT_ON_ROLL)
    if channel == "paper" and not scan:
        raise Refused("纸质表决票须上传扫描件")
    if channel == "electronic" and not code_matches(session, MeetingRoll, MeetingRoll.meeting_id == meeting.id,
                                                    roll.person, code):
        raise Refused(WRONG_CODE)
    if session.scalar(select(MeetingBallot.id).where(MeetingBallot.meeting_id == meeting.id,
                                                     MeetingBallot.person == roll.person)):
        raise Refused(ONE_BALLOT)
    ballot = MeetingBallot(meeting_id=meeting.id, estate_id=meeting.estate_id, unit_id=unit_id, person=roll.person,
                           channel=channel, scan=scan, recorded_by=recorded_by[:100], cast_at=utc_now())
    ballot.choices = [MeetingChoice(estate_id=meeting.estate_id, meeting_id=meeting.id, matter_id=m.id,
                                    choice=choices[m.id]) for m in meeting.matters if not m.is_election]
    ballot.approvals = [MeetingApproval(estate_id=meeting.estate_id, meeting_id=meeting.id, matter_id=matter_id,
                                        candidate_id=candidate_id)
                        for matter_id, candidate_ids in approved.items() for candidate_id in candidate_ids]
    try:
        # two ballots of one person at the same moment: the database's unique key decides
        with session.begin_nested():
            session.add(ballot)
    except IntegrityError:
        raise Refused(ONE_BALLOT) from None
    return ballot


def covered_by(session: Session, ballot: MeetingBallot) -> tuple[int, Decimal]:
    """The units and area of the roll a ballot is counted for (all of its person's)."""
    return tuple(session.execute(select(func.count(), func.sum(MeetingRoll.area)).where(
        MeetingRoll.meeting_id == ballot.meeting_id, MeetingRoll.person == ballot.person)).one())


@event.listens_for(Session, "before_flush")
def _drafts_on_an_announced_agenda(session: Session, _context: Any, _instances: Any) -> None:
    """Only a draft is put to the owners; they are told it with the meeting's notice, and from
    then on it is what they vote on."""
    with session.no_autoflush:
        for matter in [*session.new, *session.dirty]:
            if not isinstance(matter, MeetingMatter) or (matter.document_id is None and matter.document is None):
                continue
            state = inspect(matter).attrs
            chosen = matter in session.new or state.document_id.history.has_changes() \
                or state.document.history.has_changes()
            document = matter.document or session.get(GoverningDocument, matter.document_id)
            if chosen and document.state != "draft":
                raise Refused("该版本已生效或已废止：只有草案可以提交表决", {"document": ["只有草案可以提交表决"]})
    drafts = [d for d in session.dirty if isinstance(d, GoverningDocument) and d.state == "draft"
              and session.is_modified(d, include_collections=False)]
    if not drafts:
        return
    with session.no_autoflush:
        announced = session.scalar(select(MeetingMatter.id).join(OwnersMeeting).where(
            MeetingMatter.document_id.in_([d.id for d in drafts]), OwnersMeeting.state != "draft").limit(1))
    if announced is not None:
        raise Refused("该草案已随业主大会会议公告，内容不能再修改；如需修改，请新建草案并在下次会议表决")
