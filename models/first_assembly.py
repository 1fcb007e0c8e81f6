"""首次业主大会会议筹备: the 街道-led preparation of an estate's first owners' assembly.

业主大会和业主委员会指导规则 (住房和城乡建设部, 2009): when more than half of the estate's
exclusive area is delivered (第八条, a locality may set another share), the 街道 forms a
筹备组 within 60 days of the owners' written request (第九条): an odd number of members,
owners at least half of them, the 街道's representative its 组长 (第十条). The group announces
its members within 7 days (第十二条), confirms and publishes who the owners are with their
persons and area (第十三条（一）), drafts the 管理规约 and 议事规则, fixes the candidates and
publishes all of it with the first meeting's notice at least 15 days before (第十三条), and
holds the meeting within 90 days of being formed (第十五条). The meeting it convenes is an
ordinary 业主大会会议 (models.owners_assembly) whose convener is the group. The owners'
assembly exists once that meeting adopts both documents and elects the 业委会 (第十六条); the
group is dissolved once the 业委会 is filed with the 街道. The steps in words:
docs/owners-assembly.md.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    Boolean, Date, Index, Integer, String, Text, UniqueConstraint, event, false, func, select, text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import clock
from models.base import Admin, Area, Choices, Entity, Menu, fk, zh
from models.committee import CommitteeTerm
from models.errors import Refused
from models.estate import Estate, Unit
from models.fund_vote import percent_text, roll_entries
from models.owners_assembly import OwnersMeeting
from models.people import Owner
from models.settings import GUIDANCE, LocalSettings, settings_for
from models.workflow import Transition, Workflow

STATES = Choices(
    ("applied", "待成立"), ("formed", "已成立"), ("announced", "成员已公告"), ("roll_published", "业主名册已公示"),
    ("dissolved", "已解散"),
)
SIDES = Choices(
    ("owner", "业主代表"), ("street", "街道办事处（乡镇人民政府）代表"), ("residents", "居民委员会代表"),
    ("developer", "建设单位代表"),
)
#: the agenda of a first assembly (第十六条): the owners' assembly exists once it passes both
#: documents and elects the 业委会
FIRST_AGENDA = (("covenant", "管理规约草案"), ("rules_of_procedure", "业主大会议事规则草案"))


def _delivered(today: dt.date) -> Any:
    return (Unit.status != "unsold") & (Unit.delivered_on.is_(None) | (Unit.delivered_on <= today))


def delivered_share(session: Session, estate_id: int) -> Fraction | None:
    """The share of the estate's exclusive area delivered to buyers today (None: no area)."""
    delivered = _delivered(clock.today())
    total, handed = session.execute(select(func.sum(Unit.floor_area), func.sum(Unit.floor_area).filter(delivered))
                                    .where(Unit.estate_id == estate_id)).one()
    if not total:
        return None
    return Fraction(Decimal(handed or 0)) / Fraction(Decimal(total))


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without it: the anniversary is 1 March
        return dt.date(day.year + years, 3, 1)


def qualification_refusal(session: Session, estate_id: int, settings: LocalSettings) -> str | None:
    """第八条: more than the settings' share of the exclusive area delivered; where a local rule
    adds other conditions (a share of the units delivered, years since the first delivery), any
    one of them is enough. The refusal names every condition with today's figure."""
    today = clock.today()
    share = delivered_share(session, estate_id)
    if share is None:
        return "本小区没有登记房屋：请先登记房屋及其交付日期"
    percent = settings.first_assembly_delivered_percent
    if share > Fraction(percent, 100):
        return None
    unmet = [f"已交付的专有部分面积超过总面积的 {percent}%（{GUIDANCE}第八条），现为 {percent_text(share)}%"]
    units_percent, years = settings.first_assembly_units_percent, settings.first_assembly_years
    if units_percent:
        units, handed = session.execute(select(func.count(), func.count().filter(_delivered(today)))
                                        .where(Unit.estate_id == estate_id)).one()
        if handed * 100 >= units * units_percent:
            return None
        unmet.append(f"已交付的房屋达到总套数的 {units_percent}%（地方规定），现为 {handed} / {units} 套"
                     f"（{percent_text(Fraction(handed, units))}%）")
    if years:
        first = session.scalar(select(func.min(func.coalesce(Unit.delivered_on, Estate.delivered_on)))
                               .join(Estate, Estate.id == Unit.estate_id)
                               .where(Unit.estate_id == estate_id, _delivered(today)))
        if first is not None and _add_years(first, years) <= today:
            return None
        since = f"首套房屋于 {first:%Y年%m月%d日} 交付" if first else "尚无登记交付日期的房屋"
        unmet.append(f"自首套房屋交付之日起满 {years} 年（地方规定），{since}")
    lead = "满足以下任一条件方可筹备" if len(unmet) > 1 else "须"
    return f"尚未达到筹备首次业主大会会议的条件，{lead}：{'；或者'.join(unmet)}。请先核对房屋的交付日期"


def _composition(group: PreparatoryGroup, session: Session) -> str | None:
    """第八条 (the estate qualifies) and 第十条 (who sits on the group)."""
    settings = settings_for(session, group.estate_id)
    refusal = qualification_refusal(session, group.estate_id, settings)
    if refusal:
        return refusal
    members = group.members
    if not members or len(members) % 2 == 0:
        return f"筹备组成员人数须为单数（{GUIDANCE}第十条），现为 {len(members)} 人"
    owners = sum(1 for m in members if m.side == "owner")
    if Fraction(owners, len(members)) < Fraction(settings.preparation_owner_percent, 100):
        return (f"业主代表不得少于筹备组总人数的 {settings.preparation_owner_percent}%（{GUIDANCE}第十条），"
                f"现为 {len(members)} 人中 {owners} 人")
    leaders = [m for m in members if m.is_leader]
    if len(leaders) != 1 or leaders[0].side != "street":
        return f"筹备组组长由街道办事处（乡镇人民政府）代表担任（{GUIDANCE}第十条）：请在成员中指定一名组长"
    return None


def _form(group: PreparatoryGroup, _session: Session) -> None:
    group.formed_on = clock.today()


def _announce(group: PreparatoryGroup, _session: Session) -> None:
    group.announced_on = clock.today()


def _publish_roll(group: PreparatoryGroup, session: Session) -> None:
    """第十三条（一）: who the owners are, how many persons and how much area, as of today."""
    entries = roll_entries(session, select(Unit.id).where(Unit.estate_id == group.estate_id), clock.today())
    if not entries:
        raise Refused("本小区没有登记房屋，不能公示业主名册")
    group.roll_persons = len({e["person"] for e in entries})
    group.roll_units = len(entries)
    group.roll_area = sum((e["area"] for e in entries), Decimal(0))
    group.roll_published_on = clock.today()


def _committee_filed(group: PreparatoryGroup, session: Session) -> str | None:
    filed = session.scalar(select(CommitteeTerm.id).join(OwnersMeeting, OwnersMeeting.id == CommitteeTerm.meeting_id)
                           .where(OwnersMeeting.estate_id == group.estate_id,
                                  OwnersMeeting.convener == "preparatory_group", CommitteeTerm.state == "filed")
                           .limit(1))
    if filed is None:
        return "首次业主大会会议选举产生的业委会向街道办事处备案后，筹备组方可解散"
    return None


def _dissolve(group: PreparatoryGroup, _session: Session) -> None:
    group.dissolved_on = clock.today()


GROUP_FLOW = Workflow(
    states=STATES,
    transitions=(
        Transition("form", "成立筹备组", ("applied",), "formed", guard=_composition, effect=_form, style="success",
                   consequence="成立后须在规定期限内（不超过 7 日）在小区内公告成员名单"),
        Transition("announce", "公告成员名单", ("formed",), "announced", effect=_announce,
                   consequence="成员名单在公示栏向全体业主公开，成员不能再更改"),
        Transition("publish_roll", "公示业主名册", ("announced",), "roll_published", effect=_publish_roll,
                   consequence="按今天登记的房屋和业主确认业主人数与专有部分面积，在公示栏公示"),
        Transition("dissolve", "筹备组解散", ("roll_published",), "dissolved", guard=_committee_filed, effect=_dissolve,
                   style="warning", consequence="业委会已成立并备案，筹备组的工作结束"),
    ),
    frozen=frozenset({"announced", "roll_published", "dissolved"}),
    # objections to the list or the roll and the answers are still written down (第十二、十三条)
    editable={"announced": frozenset({"note"}), "roll_published": frozenset({"note"})},
)


class PreparatoryGroup(Entity):
    """首次业主大会会议筹备组 of one estate."""

    __tablename__ = "preparatory_group"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    applied_on: Mapped[dt.date] = mapped_column(
        Date, info=zh("业主书面申请日期", f"街道办事处收到业主提出筹备业主大会书面申请之日；60 日内组织成立筹备组（{GUIDANCE}第九条）")
    )
    formed_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("成立日期"))
    announced_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("成员公告日期"))
    roll_published_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("业主名册公示日期"))
    roll_persons: Mapped[int | None] = mapped_column(Integer, info=zh("业主人数", "公示时确认：同一业主的多套房屋计为一人"))
    roll_units: Mapped[int | None] = mapped_column(Integer, info=zh("房屋套数"))
    roll_area: Mapped[Decimal | None] = mapped_column(Area, info=zh("专有部分总面积（㎡）"))
    dissolved_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("解散日期"))
    note: Mapped[str | None] = mapped_column(Text, info=zh("备注", "业主对名单或名册的异议及答复等"))
    state: Mapped[str] = mapped_column(String(20), default="applied", info=zh("状态", choices=STATES))
    members: Mapped[list[PreparatoryMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="PreparatoryMember.id", info=zh("筹备组成员"),
    )

    __table_args__ = (
        STATES.constraint("state", "ck_preparatory_group_state"),
        # one group at work per estate: the first meeting and the roll belong to it
        Index("uq_preparatory_group_at_work", "estate_id", unique=True, sqlite_where=text("state <> 'dissolved'"),
              postgresql_where=text("state <> 'dissolved'")),
    )

    def __str__(self) -> str:
        return f"{self.estate} 首次业主大会会议筹备组"

    def deadlines(self, session: Session) -> list[tuple[str, dt.date, dt.date | None]]:
        """(step, due, done) of each step with a deadline (第九、十二、十五条)."""
        settings = settings_for(session, self.estate_id)
        steps = [("成立筹备组", self.applied_on + dt.timedelta(days=settings.preparation_form_days), self.formed_on)]
        if self.formed_on is not None:
            held = session.scalar(select(func.min(OwnersMeeting.vote_from)).where(
                OwnersMeeting.estate_id == self.estate_id, OwnersMeeting.convener == "preparatory_group",
                OwnersMeeting.state.in_(("voting", "counted"))))
            steps += [
                ("公告成员名单", self.formed_on + dt.timedelta(days=settings.preparation_announce_days), self.announced_on),
                ("召开首次业主大会会议", self.formed_on + dt.timedelta(days=settings.preparation_days), held),
            ]
        return steps

    def overdue(self, session: Session) -> list[str]:
        """The steps not done by their deadline, in words (the dashboard and the record's page)."""
        today = clock.today()
        if self.state == "dissolved":
            return []
        return [f"{step}逾期 {(today - due).days} 天（应于 {due} 前）" for step, due, done in self.deadlines(session)
                if done is None and today > due]

    def workflow_notes(self, session: Session) -> list[str]:
        if self.state == "dissolved":
            return []
        late = self.overdue(session)
        if late:
            return [f"{GUIDANCE}规定的期限：" + "；".join(late) + "。"]
        pending = [f"{step}：{due} 前" for step, due, done in self.deadlines(session) if done is None]
        notes = ["期限：" + "；".join(pending) + "。"] if pending else []
        if self.state == "roll_published":
            notes.append("下一步：在「业主大会会议」中以筹备组为召集人草拟首次会议（管理规约草案、议事规则草案、"
                         "业委会选举及候选人），会议公告即向全体业主公告上述材料；业委会备案后解散筹备组。")
        return notes

    class Admin(Admin):
        label = "首次业主大会筹备组"
        menu = Menu.ASSEMBLY
        icon = "fa-flag"
        list_columns = ("estate", "applied_on", "formed_on", "state")
        search_columns = ("estate", "state", "applied_on", "formed_on")
        form_columns = ("estate", "applied_on", "note")
        show_columns = ("estate", "applied_on", "formed_on", "announced_on", "roll_published_on", "roll_persons",
                        "roll_units", "roll_area", "state", "dissolved_on", "note")
        order_by = ("applied_on", "desc")
        str_loads = ("estate",)
        fixed_links = ("estate",)
        workflow = GROUP_FLOW
        details = ("members",)


class PreparatoryMember(Entity):
    """筹备组成员."""

    __tablename__ = "preparatory_member"

    group_id: Mapped[int] = fk("preparatory_group.id", ondelete="CASCADE")
    group: Mapped[PreparatoryGroup] = relationship(back_populates="members", info=zh("筹备组"))
    side: Mapped[str] = mapped_column(String(20), info=zh("代表", choices=SIDES))
    name: Mapped[str] = mapped_column(String(50), info=zh("姓名"))
    owner_id: Mapped[int | None] = fk("owner.id", nullable=True)
    owner: Mapped[Owner | None] = relationship(info=zh("业主", "业主代表须选择本小区业主"))
    is_leader: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), info=zh("组长", "由街道办事处（乡镇人民政府）代表担任"))

    __table_args__ = (
        SIDES.constraint("side", "ck_preparatory_member_side"),
        UniqueConstraint("group_id", "owner_id", name="uq_preparatory_member_owner", info={"message": "该业主已是筹备组成员"}),
    )

    def __str__(self) -> str:
        return f"{self.name}（{SIDES.label(self.side)}）"

    class Admin(Admin):
        label = "筹备组成员"
        menu = Menu.ASSEMBLY
        icon = "fa-user-circle"
        list_columns = ("group", "side", "name", "is_leader")
        search_columns = ("group", "side", "name")
        form_columns = ("group", "side", "name", "owner", "is_leader")
        order_by = ("id", "asc")
        scope_path = "group.estate_id"
        frozen_by = "group"
        fixed_links = ("group",)


@event.listens_for(Session, "before_flush")
def _check_members(session: Session, _context: Any, _instances: Any) -> None:
    with session.no_autoflush:
        for item in [*session.new, *session.dirty]:
            if not isinstance(item, PreparatoryMember):
                continue
            # an owner of another estate is refused by the check of every link (app.scoping)
            if item.side == "owner" and item.owner is None and item.owner_id is None:
                raise Refused("业主代表须选择本小区业主", {"owner": ["业主代表须选择本小区业主"]})
            if item.is_leader and item.side != "street":
                raise Refused(f"筹备组组长由街道办事处（乡镇人民政府）代表担任（{GUIDANCE}第十条）",
                              {"is_leader": ["组长须为街道办事处（乡镇人民政府）代表"]})


def group_at_work(session: Session, estate_id: int | None) -> PreparatoryGroup | None:
    """The estate's group not yet dissolved (at most one: the partial unique index)."""
    return session.execute(select(PreparatoryGroup).where(
        PreparatoryGroup.estate_id == estate_id, PreparatoryGroup.state != "dissolved")).scalars().first()


def first_meeting_refusal(meeting: OwnersMeeting, session: Session) -> str | None:
    """What the first assembly's notice must carry (第十三条): the owners' roll published first,
    the drafts of both documents and the election with its candidates on the agenda."""
    group = group_at_work(session, meeting.estate_id)
    if group is None or group.state != "roll_published":
        return f"筹备组成员名单公告、业主名册公示后，方可公告首次业主大会会议（{GUIDANCE}第十二、十三条）"
    for kind, name in FIRST_AGENDA:
        if not any(m.matter == kind and m.document_id is not None for m in meeting.matters):
            return f"首次业主大会会议须表决{name}（{GUIDANCE}第十三、十六条）：请添加该事项并选择草案"
    if not any(m.is_election for m in meeting.matters):
        return f"首次业主大会会议须选举业主委员会（{GUIDANCE}第十六条）：请添加选举事项和候选人"
    return None


@event.listens_for(Session, "before_flush")
def _one_first_assembly(session: Session, _context: Any, _instances: Any) -> None:
    """An estate prepares its first assembly once, with one group at a time (the database's
    partial unique index holds it for two saved at the same moment)."""
    groups = [g for g in session.new if isinstance(g, PreparatoryGroup) and g.state != "dissolved"]
    with session.no_autoflush:
        for group in groups:
            estate = group.estate or session.get(Estate, group.estate_id)
            if estate is not None and estate.committee_founded_on is not None:
                raise Refused(f"{estate.name}的业主大会已经成立（业委会 {estate.committee_founded_on} 成立）："
                              "首次业主大会会议只筹备一次，此后的会议由业委会召集", {"estate": ["该小区业主大会已经成立"]})
            if group_at_work(session, estate.id) is not None:
                raise Refused("该小区已有筹备组在工作，不能重复成立", {"estate": ["该小区已有筹备组在工作"]})


@event.listens_for(Session, "before_flush")
def _first_meetings_belong_to_a_group(session: Session, _context: Any, _instances: Any) -> None:
    """A meeting convened by a 筹备组 needs the estate's group, still at work."""
    meetings = [m for m in session.new if isinstance(m, OwnersMeeting) and m.convener == "preparatory_group"]
    with session.no_autoflush:
        for meeting in meetings:
            estate_id = meeting.estate_id if meeting.estate_id is not None else getattr(meeting.estate, "id", None)
            group = group_at_work(session, estate_id)
            if group is None or group.state == "applied":
                raise Refused("本小区没有已成立的首次业主大会会议筹备组：召集人请选择业主委员会，或先成立筹备组",
                              {"convener": ["本小区没有已成立的筹备组"]})
