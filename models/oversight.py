"""Oversight (监督考核, after 《物业网格化管理工作实施方案》): grids and grid events, integrity
assessments of property companies, star ratings of service projects, and supervision
inspections with their rectification notices.

Every record belongs to one estate, so the 街道/社区 official sees the estates of the
jurisdiction and the 物业经理 the ratings and notices of the estates they serve. Each
process is a state machine (models.workflow); a transition that needs a written
answer (处置情况, 整改回复) takes it as the transition's comment, stored on the record
by :func:`_store_comment` as well as in the timeline.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, Integer, String, Text, UniqueConstraint, event, func, select, type_coerce
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import clock
from models.base import Admin, Area, Choices, Entity, ExactDecimal, Menu, fk, positive, zh
from models.company import PropertyCompany
from models.errors import Refused
from models.estate import Estate, Unit
from models.settings import Settings
from models.validators import check_mobile
from models.workflow import TRANSITION_LISTENERS, Transition, Workflow

#: scores such as 8.5 are exact decimals, never floats
Score = ExactDecimal(5, 1)


# -- grids (网格) -----------------------------------------------------------------------

GRID_DUTIES = Choices(
    ("leader", "网格长"), ("member", "网格员"), ("coordinator", "网格协调员"), ("supervisor", "网格督导员"),
)


class Grid(Entity):
    """网格: a tree of configurable depth (一级 功能区 → 二级 楼栋群 → 三级 楼栋) inside an estate."""

    __tablename__ = "grid"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("所属小区"))
    parent_id: Mapped[int | None] = fk("grid.id", nullable=True)
    parent: Mapped[Grid | None] = relationship(
        remote_side="Grid.id", back_populates="children", info=zh("上级网格", "一级网格留空")
    )
    children: Mapped[list[Grid]] = relationship(back_populates="parent", passive_deletes="all", info=zh("下级网格"))
    level: Mapped[int] = mapped_column(Integer, default=1, info=zh("层级", "由上级网格自动确定"))
    number: Mapped[str] = mapped_column(String(20), info=zh("网格编号", "小区内唯一，标识牌上的编号"))
    name: Mapped[str] = mapped_column(String(50), info=zh("网格名称"))
    leader: Mapped[str] = mapped_column(String(50), info=zh("负责人"))
    phone: Mapped[str] = mapped_column(String(20), info=zh("联系电话", "标识牌上公布的电话"))
    coverage: Mapped[str | None] = mapped_column(String(200), info=zh("网格范围", "包含的楼栋、区域"))
    members: Mapped[list[GridMember]] = relationship(back_populates="grid", passive_deletes="all", info=zh("网格员"))

    __table_args__ = (
        UniqueConstraint("estate_id", "number", name="uq_grid_number", info={"message": "本小区已有此网格编号"}),
        CheckConstraint("level > 0", name="ck_grid_level"),
    )

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    class Admin(Admin):
        label = "网格"
        menu = Menu.OVERSIGHT
        icon = "fa-th"
        list_columns = ("number", "name", "estate", "parent", "level", "leader", "phone")
        search_columns = ("estate", "number", "name", "level", "leader")
        form_columns = ("estate", "parent", "number", "name", "leader", "phone", "coverage")
        show_columns = ("estate", "parent", "level", "number", "name", "leader", "phone", "coverage")
        order_by = ("number", "asc")
        details = ("members",)


class GridMember(Entity):
    """网格员: a person bound to a grid with a duty."""

    __tablename__ = "grid_member"

    grid_id: Mapped[int] = fk("grid.id", ondelete="CASCADE")
    grid: Mapped[Grid] = relationship(back_populates="members", info=zh("网格"))
    name: Mapped[str] = mapped_column(String(50), info=zh("姓名"))
    duty: Mapped[str] = mapped_column(String(20), default="member", info=zh("职责", choices=GRID_DUTIES))
    # a grid member's number is posted on the grid's sign (网格标识牌): a public contact, not masked
    mobile: Mapped[str | None] = mapped_column(String(11), info=zh("手机号", check=check_mobile))
    organisation: Mapped[str | None] = mapped_column(String(100), info=zh("所在单位", "如 社区居委会、物业项目部"))

    __table_args__ = (GRID_DUTIES.constraint("duty", "ck_grid_member_duty"),)

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        scope_path = "grid.estate_id"
        label = "网格员"
        menu = Menu.OVERSIGHT
        icon = "fa-user-circle"
        list_columns = ("name", "grid", "duty", "mobile", "organisation")
        search_columns = ("name", "grid", "duty", "mobile")
        order_by = ("name", "asc")


# -- grid events: 采集 → 上报 → 派单 → 处置 → 回访 (reopened when unsatisfied) --------------

EVENT_STATES = Choices(
    ("collected", "已采集"), ("reported", "已上报"), ("dispatched", "已派单"),
    ("handled", "已处置"), ("closed", "已办结"),
)
EVENT_CATEGORIES = Choices(
    ("sanitation", "环境卫生"), ("facility", "设施损坏"), ("building", "违章搭建"),
    ("safety", "安全隐患"), ("order", "秩序管理"), ("dispute", "邻里纠纷"), ("other", "其他"),
)
EVENT_SOURCES = Choices(
    ("patrol", "网格巡查"), ("resident", "居民反映"), ("camera", "智能监控"),
    ("hotline", "热线电话"), ("app", "手机应用"),
)


def _needs_handler(item: "GridEvent", _session: Session) -> str | None:
    return None if (item.handler or "").strip() else "派单前须填写处置人"


def _set_deadline(item: "GridEvent", session: Session) -> None:
    if item.deadline is None or item.deadline < clock.today():
        item.deadline = clock.today() + dt.timedelta(days=Settings.current(session).grid_event_days)


def _stamp_handled(item: "GridEvent", _session: Session) -> None:
    item.handled_on = clock.today()


def _stamp_satisfied(item: "GridEvent", _session: Session) -> None:
    item.visited_on = clock.today()


def _reopen(item: "GridEvent", session: Session) -> None:
    """回访不满意: back to the handler with a fresh deadline ("重新启动处理流程")."""
    item.reopen_count = (item.reopen_count or 0) + 1
    item.visited_on = clock.today()
    item.handled_on = None
    item.deadline = clock.today() + dt.timedelta(days=Settings.current(session).grid_event_days)


GRID_EVENT_FLOW = Workflow(
    states=EVENT_STATES,
    transitions=(
        Transition("report", "上报", ("collected",), "reported"),
        Transition("solve_on_spot", "当场解决", ("collected",), "handled", comment_required=True,
                   effect=_stamp_handled, style="success"),
        Transition("dispatch", "派单", ("reported",), "dispatched", guard=_needs_handler, effect=_set_deadline),
        Transition("handle", "处置完成", ("dispatched",), "handled", comment_required=True,
                   effect=_stamp_handled, style="success"),
        Transition("close", "回访满意", ("handled",), "closed", effect=_stamp_satisfied, style="success"),
        Transition("reopen", "回访不满意", ("handled",), "dispatched", comment_required=True,
                   effect=_reopen, style="warning"),
    ),
    frozen=frozenset({"closed"}),
)


class GridEvent(Entity):
    """网格事件: a problem collected in a grid and followed until the resident is satisfied."""

    __tablename__ = "grid_event"

    #: the transition whose comment is this record's answer (target state -> column)
    COMMENT_INTO = {"handled": "result"}

    # Denormalised from the grid (as unit.estate_id) so that per-estate figures need no join.
    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("所属小区"))
    grid_id: Mapped[int] = fk("grid.id")
    grid: Mapped[Grid] = relationship(info=zh("网格"))
    title: Mapped[str] = mapped_column(String(100), info=zh("事项"))
    category: Mapped[str] = mapped_column(String(20), default="other", info=zh("类别", choices=EVENT_CATEGORIES))
    source: Mapped[str] = mapped_column(String(20), default="patrol", info=zh("来源", choices=EVENT_SOURCES))
    location: Mapped[str | None] = mapped_column(String(100), info=zh("位置"))
    description: Mapped[str | None] = mapped_column(Text, info=zh("情况描述"))
    collected_by: Mapped[str] = mapped_column(String(50), info=zh("采集人"))
    collected_on: Mapped[dt.date] = mapped_column(Date, default=clock.today, info=zh("采集日期"))
    handler: Mapped[str | None] = mapped_column(String(50), info=zh("处置人", "派单前填写"))
    deadline: Mapped[dt.date | None] = mapped_column(
        Date, info=zh("处置期限", "留空则派单时按系统设置的天数计算")
    )
    handled_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("处置日期"))
    result: Mapped[str | None] = mapped_column(Text, info=zh("处置情况"))
    visited_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("回访日期"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, info=zh("不满意重办次数"))
    state: Mapped[str] = mapped_column(String(20), default="collected", info=zh("状态", choices=EVENT_STATES))

    __table_args__ = (
        EVENT_STATES.constraint("state", "ck_grid_event_state"),
        EVENT_CATEGORIES.constraint("category", "ck_grid_event_category"),
        EVENT_SOURCES.constraint("source", "ck_grid_event_source"),
        CheckConstraint("reopen_count >= 0", name="ck_grid_event_reopen"),
    )

    def __str__(self) -> str:
        return self.title

    def overdue(self, day: dt.date | None = None) -> bool:
        """超时: dispatched and not handled by the deadline."""
        return self.state == "dispatched" and self.deadline is not None and self.deadline < (day or clock.today())

    def workflow_notes(self, _session: Session) -> list[str]:
        if self.overdue():
            return [f"已超过处置期限（{self.deadline:%Y年%m月%d日}）"]
        return []

    class Admin(Admin):
        label = "网格事件"
        menu = Menu.OVERSIGHT
        icon = "fa-flag"
        list_columns = ("title", "grid", "category", "collected_on", "handler", "deadline", "state")
        search_columns = ("estate", "grid", "title", "category", "source", "state", "deadline", "collected_on")
        form_columns = ("grid", "title", "category", "source", "location", "description",
                        "collected_by", "collected_on", "handler", "deadline")
        show_columns = ("estate", "grid", "title", "category", "source", "location", "description",
                        "collected_by", "collected_on", "handler", "deadline", "handled_on", "result",
                        "visited_on", "reopen_count", "state")
        order_by = ("collected_on", "desc")
        str_loads = ()
        date_order = (("collected_on", "deadline"),)
        workflow = GRID_EVENT_FLOW


@event.listens_for(GridEvent.grid, "set")
def _event_follows_its_grid(item: GridEvent, grid: Grid | None, *_: object) -> None:
    _follow(item, grid)


def _follow(item: Any, parent: Any) -> None:
    """A child row takes its parent's estate (also a parent given only by ``estate_id``)."""
    if parent is None:
        return
    if parent.estate is not None:
        item.estate = parent.estate
    elif parent.estate_id is not None:
        item.estate_id = parent.estate_id


# -- 物业企业诚信考核 ---------------------------------------------------------------------

GRADES = Choices(("excellent", "优秀"), ("good", "良好"), ("pass", "合格"), ("fail", "不合格"))
ASSESSMENT_STATES = Choices(("draft", "考核中"), ("published", "已公布"))
#: the items must add up to this many points, so that totals compare across estates
FULL_MARKS = Decimal(100)


def grade_for(score: Decimal, settings: Settings) -> str:
    """The grade a total earns under the thresholds in the settings."""
    if score >= settings.grade_excellent:
        return "excellent"
    if score >= settings.grade_good:
        return "good"
    if score >= settings.grade_pass:
        return "pass"
    return "fail"


def assessment_totals(session: Session, assessment_id: int) -> tuple[Decimal, Decimal, int]:
    """(full marks, score, item count) of one assessment, summed in SQL."""
    query = select(
        type_coerce(func.coalesce(func.sum(AssessmentItem.max_score), 0), Score),
        type_coerce(func.coalesce(func.sum(AssessmentItem.score), 0), Score),
        func.count(AssessmentItem.id),
    ).where(AssessmentItem.assessment_id == assessment_id)
    with session.no_autoflush:
        full, score, count = session.execute(query).one()
    return full, score, count


def _check_publishable(item: "IntegrityAssessment", session: Session) -> str | None:
    full, _score, count = assessment_totals(session, item.id)
    if not count:
        return "考核没有任何考核项目，不能公布"
    if full != FULL_MARKS:
        return f"考核项目满分合计须为 {FULL_MARKS} 分，当前为 {full} 分"
    return None


def _score_and_publish(item: "IntegrityAssessment", session: Session) -> None:
    _full, score, _count = assessment_totals(session, item.id)
    item.score = score
    item.grade = grade_for(score, Settings.current(session))
    item.published_on = clock.today()


ASSESSMENT_FLOW = Workflow(
    states=ASSESSMENT_STATES,
    transitions=(
        Transition("publish", "公布结果", ("draft",), "published", guard=_check_publishable,
                   effect=_score_and_publish, style="danger"),
    ),
    frozen=frozenset({"published"}),
)


class IntegrityAssessment(Entity):
    """物业企业诚信考核: the 街道 scores the company serving an estate for one period."""

    __tablename__ = "integrity_assessment"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    company_id: Mapped[int | None] = fk("property_company.id", nullable=True)
    company: Mapped[PropertyCompany | None] = relationship(info=zh("物业服务企业", "取小区当前的物业服务企业"))
    period: Mapped[str] = mapped_column(String(20), info=zh("考核期", "如 2026年度、2026年上半年"))
    assessed_on: Mapped[dt.date] = mapped_column(Date, default=clock.today, info=zh("考核日期"))
    assessors: Mapped[str] = mapped_column(String(100), info=zh("考核人员"))
    score: Mapped[Decimal | None] = mapped_column(Score, info=zh("总分", "公布时按考核项目得分合计"))
    grade: Mapped[str | None] = mapped_column(String(20), info=zh("等级", "公布时按系统设置的分数线确定", choices=GRADES))
    published_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("公布日期"))
    opinion: Mapped[str | None] = mapped_column(Text, info=zh("考核意见"))
    state: Mapped[str] = mapped_column(String(20), default="draft", info=zh("状态", choices=ASSESSMENT_STATES))
    items: Mapped[list[AssessmentItem]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="AssessmentItem.id",
        info=zh("考核项目"),
    )

    __table_args__ = (
        UniqueConstraint("estate_id", "period", name="uq_assessment_period",
                         info={"message": "该小区此考核期已有考核"}),
        ASSESSMENT_STATES.constraint("state", "ck_assessment_state"),
        GRADES.constraint("grade", "ck_assessment_grade"),
    )

    def __str__(self) -> str:
        return f"{self.period}诚信考核"

    def workflow_notes(self, session: Session) -> list[str]:
        if self.state == "published":
            return []
        full, score, count = assessment_totals(session, self.id)
        return [f"已录入 {count} 个考核项目，满分合计 {full} 分（须为 {FULL_MARKS} 分），得分合计 {score} 分。"]

    class Admin(Admin):
        label = "诚信考核"
        menu = Menu.OVERSIGHT
        icon = "fa-balance-scale"
        list_columns = ("period", "estate", "company", "assessed_on", "score", "grade", "state")
        search_columns = ("estate", "company", "period", "grade", "state", "assessed_on")
        form_columns = ("estate", "period", "assessed_on", "assessors", "opinion")
        show_columns = ("estate", "company", "period", "assessed_on", "assessors", "opinion",
                        "score", "grade", "published_on", "state")
        order_by = ("assessed_on", "desc")
        str_loads = ()
        workflow = ASSESSMENT_FLOW
        details = ("items",)


class AssessmentItem(Entity):
    """考核项目: one line of an assessment (满分, 得分, 扣分说明)."""

    __tablename__ = "assessment_item"

    assessment_id: Mapped[int] = fk("integrity_assessment.id", ondelete="CASCADE")
    assessment: Mapped[IntegrityAssessment] = relationship(back_populates="items", info=zh("诚信考核"))
    name: Mapped[str] = mapped_column(String(50), info=zh("考核项目", "如 基础管理、环境卫生、客户服务"))
    max_score: Mapped[Decimal] = mapped_column(Score, info=zh("满分", check=positive))
    score: Mapped[Decimal] = mapped_column(Score, info=zh("得分"))
    note: Mapped[str | None] = mapped_column(String(200), info=zh("扣分说明"))

    __table_args__ = (
        UniqueConstraint("assessment_id", "name", name="uq_assessment_item",
                         info={"message": "同一考核中考核项目不能重复"}),
        CheckConstraint("max_score > 0", name="ck_assessment_item_max"),
        CheckConstraint("score >= 0 AND score <= max_score", name="ck_assessment_item_score"),
    )

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        scope_path = "assessment.estate_id"
        label = "考核项目"
        menu = Menu.OVERSIGHT
        icon = "fa-list-ol"
        list_columns = ("assessment", "name", "max_score", "score", "note")
        search_columns = ("name",)
        form_columns = ("assessment", "name", "max_score", "score", "note")
        frozen_by = "assessment"
        rules = (
            lambda v: [("score", "得分须在 0 到满分之间")]
            if v.get("score") is not None and v.get("max_score") is not None
            and not 0 <= v["score"] <= v["max_score"] else [],
        )


# -- 星级物业服务项目评定 -----------------------------------------------------------------

PROJECT_TYPES = Choices(("residential", "住宅型"), ("commercial", "商务楼宇型"))
STAR_STATES = Choices(("draft", "草稿"), ("applied", "已申报"), ("rated", "已评定"), ("rejected", "未通过"))
STARS = Choices(("1", "一星"), ("2", "二星"), ("3", "三星"), ("4", "四星"), ("5", "五星"))


def estate_managed_area(session: Session, estate_id: int) -> Decimal | None:
    """物业管理面积 of an estate, in SQL: its declared 总建筑面积, else the sum of its units."""
    units = select(func.sum(Unit.floor_area)).where(Unit.estate_id == estate_id).scalar_subquery()
    query = select(type_coerce(func.coalesce(Estate.total_floor_area, units), Area)).where(Estate.id == estate_id)
    with session.no_autoflush:
        return session.execute(query).scalar_one_or_none()


def eligibility_problem(session: Session, estate_id: int, project_type: str) -> str | None:
    """Why an estate may not apply (住宅型 ≥ 5万㎡, 商务楼宇型 ≥ 2万㎡); None when it may."""
    settings = Settings.current(session)
    minimum = settings.star_residential_area if project_type == "residential" else settings.star_commercial_area
    area = estate_managed_area(session, estate_id) or Decimal("0.00")
    if area >= minimum:
        return None
    return (f"{PROJECT_TYPES.label(project_type)}项目的物业管理面积须不少于 {minimum} ㎡，"
            f"本小区为 {area:f} ㎡，不符合星级评定申报条件")


def _needs_stars(item: "StarRating", _session: Session) -> str | None:
    return None if item.stars else "评定前须选择评定星级"


def _eligible(item: "StarRating", session: Session) -> str | None:
    return eligibility_problem(session, item.estate_id, item.project_type)


def _snapshot_area(item: "StarRating", session: Session) -> None:
    """The area the application was accepted on stays with it (the estate may change later)."""
    item.managed_area = estate_managed_area(session, item.estate_id)
    item.applied_on = clock.today()


STAR_FLOW = Workflow(
    states=STAR_STATES,
    transitions=(
        Transition("apply", "申报", ("draft",), "applied", guard=_eligible, effect=_snapshot_area),
        Transition("rate", "评定通过", ("applied",), "rated", guard=_needs_stars, style="success"),
        Transition("decline", "不予评定", ("applied",), "rejected", comment_required=True, style="warning"),
    ),
    frozen=frozenset({"rated", "rejected"}),
)


class StarRating(Entity):
    """星级物业服务项目评定: applied in August, assessed in December (《物业网格化管理工作实施方案》).

    Drafted for any estate; 申报 is refused (in Chinese, with both numbers) unless the
    estate's 物业管理面积, computed in SQL, reaches the threshold for its project type."""

    __tablename__ = "star_rating"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("申报项目（小区）"))
    company_id: Mapped[int | None] = fk("property_company.id", nullable=True)
    company: Mapped[PropertyCompany | None] = relationship(info=zh("物业服务企业"))
    year: Mapped[int] = mapped_column(Integer, info=zh("评定年度", check=positive))
    project_type: Mapped[str] = mapped_column(
        String(20), default="residential", info=zh("项目类型", choices=PROJECT_TYPES)
    )
    applied_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("申报日期", "每年 8 月申报；申报时记录"))
    managed_area: Mapped[Decimal | None] = mapped_column(
        Area, info=zh("物业管理面积(㎡)", "申报时由系统按小区面积计算")
    )
    stars: Mapped[str | None] = mapped_column(String(2), info=zh("评定星级", "12 月考评验收后填写", choices=STARS))
    note: Mapped[str | None] = mapped_column(Text, info=zh("考评意见"))
    state: Mapped[str] = mapped_column(String(20), default="draft", info=zh("状态", choices=STAR_STATES))

    __table_args__ = (
        UniqueConstraint("estate_id", "year", name="uq_star_rating_year", info={"message": "该项目本年度已申报"}),
        PROJECT_TYPES.constraint("project_type", "ck_star_rating_type"),
        STAR_STATES.constraint("state", "ck_star_rating_state"),
        STARS.constraint("stars", "ck_star_rating_stars"),
    )

    def __str__(self) -> str:
        return f"{self.year}年度星级评定"

    def workflow_notes(self, session: Session) -> list[str]:
        if self.state != "draft":
            return []
        problem = eligibility_problem(session, self.estate_id, self.project_type)
        area = estate_managed_area(session, self.estate_id) or Decimal("0.00")
        return [problem or f"本小区物业管理面积 {area:f} ㎡，符合{PROJECT_TYPES.label(self.project_type)}项目申报条件。"]

    class Admin(Admin):
        label = "星级评定"
        menu = Menu.OVERSIGHT
        icon = "fa-star"
        list_columns = ("year", "estate", "company", "project_type", "managed_area", "stars", "state")
        search_columns = ("estate", "year", "project_type", "stars", "state")
        form_columns = ("estate", "year", "project_type", "stars", "note")
        show_columns = ("estate", "company", "year", "project_type", "applied_on", "managed_area",
                        "stars", "note", "state")
        order_by = ("year", "desc")
        workflow = STAR_FLOW


# -- 监督检查 and 整改通知 ----------------------------------------------------------------

CONCLUSIONS = Choices(("pass", "合格"), ("rectify", "限期整改"), ("fail", "不合格"))
NOTICE_STATES = Choices(("issued", "待整改"), ("responded", "已回复"), ("closed", "已销号"))


class Inspection(Entity):
    """监督检查: a 街道/社区 visit to an estate and what it found."""

    __tablename__ = "inspection"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("被检查小区"))
    company_id: Mapped[int | None] = fk("property_company.id", nullable=True)
    company: Mapped[PropertyCompany | None] = relationship(info=zh("物业服务企业"))
    inspected_on: Mapped[dt.date] = mapped_column(Date, default=clock.today, info=zh("检查日期"))
    inspectors: Mapped[str] = mapped_column(String(100), info=zh("检查人员"))
    subject: Mapped[str] = mapped_column(String(100), info=zh("检查内容", "如 消防安全、环境卫生、收费公示"))
    findings: Mapped[str | None] = mapped_column(Text, info=zh("发现问题"))
    conclusion: Mapped[str] = mapped_column(String(20), default="pass", info=zh("检查结论", choices=CONCLUSIONS))
    notices: Mapped[list[RectificationNotice]] = relationship(back_populates="inspection", passive_deletes="all", info=zh("整改通知"))

    __table_args__ = (CONCLUSIONS.constraint("conclusion", "ck_inspection_conclusion"),)

    def __str__(self) -> str:
        return f"{self.inspected_on} {self.subject}"

    class Admin(Admin):
        label = "监督检查"
        menu = Menu.OVERSIGHT
        icon = "fa-search"
        list_columns = ("inspected_on", "estate", "company", "subject", "inspectors", "conclusion")
        search_columns = ("estate", "subject", "conclusion", "inspected_on")
        form_columns = ("estate", "inspected_on", "inspectors", "subject", "findings", "conclusion")
        show_columns = ("estate", "company", "inspected_on", "inspectors", "subject", "findings", "conclusion")
        order_by = ("inspected_on", "desc")
        details = ("notices",)


def _recheck_deadline(item: "RectificationNotice", session: Session) -> None:
    """复查不合格: rectify again within the usual period from today."""
    item.responded_on = None
    item.deadline = max(item.deadline, clock.today() + dt.timedelta(days=Settings.current(session).rectification_days))


def _stamp_response(item: "RectificationNotice", _session: Session) -> None:
    item.responded_on = clock.today()


def _stamp_closure(item: "RectificationNotice", _session: Session) -> None:
    item.closed_on = clock.today()


RECTIFICATION_FLOW = Workflow(
    states=NOTICE_STATES,
    transitions=(
        Transition("respond", "回复整改情况", ("issued",), "responded", comment_required=True,
                   effect=_stamp_response),
        Transition("close", "复查合格销号", ("responded",), "closed", effect=_stamp_closure, style="success"),
        Transition("recheck", "复查不合格", ("responded",), "issued", comment_required=True,
                   effect=_recheck_deadline, style="warning"),
    ),
    frozen=frozenset({"closed"}),
)


class RectificationNotice(Entity):
    """整改通知: requirements with a deadline; 物业 answers, the official checks and closes."""

    __tablename__ = "rectification_notice"

    COMMENT_INTO = {"responded": "response"}

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    inspection_id: Mapped[int] = fk("inspection.id")
    inspection: Mapped[Inspection] = relationship(back_populates="notices", info=zh("监督检查"))
    notice_no: Mapped[str] = mapped_column(String(40), unique=True, info=zh("通知编号"))
    issued_on: Mapped[dt.date] = mapped_column(Date, default=clock.today, info=zh("下发日期"))
    requirements: Mapped[str] = mapped_column(Text, info=zh("整改要求"))
    deadline: Mapped[dt.date | None] = mapped_column(
        Date, info=zh("整改期限", "留空则按系统设置的整改天数计算")
    )
    response: Mapped[str | None] = mapped_column(Text, info=zh("整改回复"))
    responded_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("回复日期"))
    closed_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("销号日期"))
    state: Mapped[str] = mapped_column(String(20), default="issued", info=zh("状态", choices=NOTICE_STATES))

    __table_args__ = (NOTICE_STATES.constraint("state", "ck_rectification_state"),)

    def __str__(self) -> str:
        return self.notice_no

    def overdue(self, day: dt.date | None = None) -> bool:
        return self.state == "issued" and self.deadline is not None and self.deadline < (day or clock.today())

    def workflow_notes(self, _session: Session) -> list[str]:
        if self.overdue():
            return [f"已超过整改期限（{self.deadline:%Y年%m月%d日}）"]
        return []

    class Admin(Admin):
        label = "整改通知"
        menu = Menu.OVERSIGHT
        icon = "fa-exclamation-triangle"
        list_columns = ("notice_no", "estate", "issued_on", "deadline", "responded_on", "state")
        search_columns = ("estate", "notice_no", "state", "deadline", "issued_on")
        form_columns = ("inspection", "notice_no", "issued_on", "requirements", "deadline")
        show_columns = ("estate", "inspection", "notice_no", "issued_on", "requirements", "deadline",
                        "response", "responded_on", "closed_on", "state")
        order_by = ("issued_on", "desc")
        date_order = (("issued_on", "deadline"),)
        workflow = RECTIFICATION_FLOW


@event.listens_for(RectificationNotice.inspection, "set")
def _notice_follows_its_inspection(item: RectificationNotice, inspection: Inspection | None, *_: object) -> None:
    _follow(item, inspection)


# -- rules that need the database, checked before every flush ---------------------------

def _estate_of(session: Session, item: Any) -> Estate | None:
    if item.estate is not None:
        return item.estate
    return session.get(Estate, item.estate_id) if item.estate_id else None


def _check_grid(session: Session, grid: Grid) -> None:
    seen, node = {id(grid)}, grid.parent
    while node is not None:
        if id(node) in seen:
            raise Refused("上级网格不能是本网格或其下级网格")
        seen.add(id(node))
        node = node.parent
    _relevel(grid, Settings.current(session).grid_max_levels)


def _depth(grid: Grid) -> int:
    return 1 if grid.parent is None else _depth(grid.parent) + 1


def _relevel(grid: Grid, deepest: int) -> None:
    grid.level = _depth(grid)
    if grid.level > deepest:
        raise Refused(f"网格最多 {deepest} 级，「{grid.name}」将成为第 {grid.level} 级")
    for child in grid.children:
        _relevel(child, deepest)


def _apply_defaults(session: Session, _context: Any, _instances: Any) -> None:
    with session.no_autoflush:
        for item in [*session.new, *session.dirty]:
            if isinstance(item, Grid):
                _check_grid(session, item)
            elif isinstance(item, (IntegrityAssessment, StarRating, Inspection)) and item.company_id is None \
                    and item.company is None:
                estate = _estate_of(session, item)
                item.company = estate.company if estate is not None else None
            if isinstance(item, RectificationNotice) and item.deadline is None:
                days = Settings.current(session).rectification_days
                item.deadline = (item.issued_on or clock.today()) + dt.timedelta(days=days)


def _store_comment(_session: Session, item: Any, _source: str, target: str, comment: str) -> None:
    """The written answer of a transition (处置情况, 整改回复) is also kept on the record."""
    column = getattr(type(item), "COMMENT_INTO", {}).get(target)
    if column and comment:
        setattr(item, column, comment)


def install() -> None:
    if not event.contains(Session, "before_flush", _apply_defaults):
        event.listen(Session, "before_flush", _apply_defaults)
    if _store_comment not in TRANSITION_LISTENERS:
        TRANSITION_LISTENERS.insert(0, _store_comment)


install()
