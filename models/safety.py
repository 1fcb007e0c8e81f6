"""Safety (安全管理): inspections, the hazard ledger, emergency plans and drills.

* 安全隐患台账 is a closed loop (《社区物业管理实施方案》7, "闭环管理"): 发现 → 整改中 → 已整改 → 复查通过;
  a failed re-check (复查不通过) sends it back to 整改中. Rectification needs a 责任人 and a
  期限 (``due_on``); a hazard is overdue when not closed and ``due_on`` is before today.
* 应急预案 has the five parts of 《社区物业管理实施方案》7.3 and is versioned per estate and kind like
  the fee standards: a published version is frozen, a change is a new version, and the
  latest published version is the one in force.
* 应急演练: its evaluation turns each line of 发现问题 into a hazard (整改 item).
"""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup
from sqlalchemy import CheckConstraint, Date, DateTime, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import clock
from models.base import Admin, Choices, Entity, Menu, fk, zh
from models.company import Employee
from models.estate import Estate
from models.facility import CYCLES
from models.workflow import Transition, Workflow

INSPECTION_KINDS = Choices(
    ("equipment", "设施设备"), ("fire", "消防安全"), ("security", "治安巡逻"), ("greening", "绿化环境"),
    ("elevator", "电梯"), ("parking", "停车场"),
)
INSPECTION_RESULTS = Choices(("normal", "正常"), ("issue", "发现问题"))
HAZARD_CATEGORIES = Choices(
    ("fire", "消防"), ("elevator", "电梯"), ("electric", "用电"), ("gas", "燃气"), ("height", "高空坠物"),
    ("structure", "房屋结构"), ("traffic", "车辆交通"), ("other", "其他"),
)
HAZARD_SOURCES = Choices(
    ("inspection", "巡检发现"), ("drill", "演练发现"), ("report", "业主报告"), ("supervision", "监督检查"),
    ("daily", "日常工作"),
)
HAZARD_STATES = Choices(
    ("found", "发现"), ("rectifying", "整改中"), ("rectified", "已整改"), ("closed", "复查通过"),
)
PLAN_KINDS = Choices(
    ("fire", "火灾"), ("natural", "自然灾害"), ("health", "公共卫生事件"), ("water", "水管爆裂"),
    ("power", "电路故障"), ("elevator", "电梯困人"), ("public_security", "治安事件"),
)
PLAN_STATES = Choices(("draft", "草稿"), ("published", "已发布"))
DRILL_TYPES = Choices(("live", "实景演练"), ("simulated", "模拟演练"), ("tabletop", "桌面推演"))
DRILL_STATES = Choices(("planned", "计划中"), ("held", "已实施"), ("evaluated", "已评估"))
EVALUATIONS = Choices(("excellent", "优秀"), ("good", "良好"), ("pass", "合格"), ("fail", "不合格"))

def not_negative(value) -> str | None:
    return "不能为负数" if value is not None and value < 0 else None


#: hazards that still need work (dashboards: open hazards)
HAZARD_OPEN = ("found", "rectifying", "rectified")


class InspectionPlan(Entity):
    """巡检计划: what is checked, how often (每日/每周/每半月...), by whom."""

    __tablename__ = "inspection_plan"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    name: Mapped[str] = mapped_column(String(100), info=zh("计划名称"))
    kind: Mapped[str] = mapped_column(String(20), info=zh("巡检类别", choices=INSPECTION_KINDS))
    cycle: Mapped[str] = mapped_column(String(20), default="daily", info=zh("巡检周期", choices=CYCLES))
    items: Mapped[str] = mapped_column(Text, info=zh("巡检项目", "每行一项，如 外观检查、运行状态、安全隐患排查"))
    route: Mapped[str | None] = mapped_column(String(200), info=zh("巡检路线/部位"))
    inspector_id: Mapped[int | None] = fk("employee.id", nullable=True)
    inspector: Mapped[Employee | None] = relationship(info=zh("巡检责任人"))
    starts_on: Mapped[dt.date] = mapped_column(Date, info=zh("开始执行日期"))
    active: Mapped[bool] = mapped_column(default=True, info=zh("执行中"))

    __table_args__ = (
        INSPECTION_KINDS.constraint("kind", "ck_inspection_plan_kind"),
        CYCLES.constraint("cycle", "ck_inspection_plan_cycle"),
    )

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        label = "巡检计划"
        menu = Menu.SAFETY
        icon = "fa-calendar-check-o"
        list_columns = ("name", "kind", "cycle", "inspector", "starts_on", "active")
        search_columns = ("estate", "name", "kind", "cycle", "active")
        order_by = ("name", "asc")


class InspectionRecord(Entity):
    """巡检记录: one round of a plan; a problem found goes to the hazard ledger."""

    __tablename__ = "inspection_record"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    plan_id: Mapped[int] = fk("inspection_plan.id")
    plan: Mapped[InspectionPlan] = relationship(info=zh("巡检计划"))
    inspected_at: Mapped[dt.datetime] = mapped_column(DateTime, info=zh("巡检时间"))
    inspector_id: Mapped[int | None] = fk("employee.id", nullable=True)
    inspector: Mapped[Employee | None] = relationship(info=zh("巡检人"))
    result: Mapped[str] = mapped_column(String(20), default="normal", info=zh("巡检结果", choices=INSPECTION_RESULTS))
    findings: Mapped[str | None] = mapped_column(Text, info=zh("发现问题", "发现的问题请同时登记到安全隐患台账"))

    __table_args__ = (INSPECTION_RESULTS.constraint("result", "ck_inspection_record_result"),)

    def __str__(self) -> str:
        return f"{self.plan} {self.inspected_at:%Y-%m-%d %H:%M}" if self.inspected_at else str(self.plan)

    class Admin(Admin):
        label = "巡检记录"
        menu = Menu.SAFETY
        icon = "fa-check-square-o"
        list_columns = ("inspected_at", "plan", "inspector", "result", "findings")
        search_columns = ("estate", "plan", "result", "inspected_at")
        order_by = ("inspected_at", "desc")
        rules = (
            lambda v: [("findings", "巡检结果为「发现问题」时须写明发现的问题")]
            if v.get("result") == "issue" and not (v.get("findings") or "").strip() else [],
        )


# -- the hazard ledger -----------------------------------------------------------------

def _require_owner_and_due(hazard: "Hazard", _session: Session) -> str | None:
    if hazard.responsible_id is None and hazard.responsible is None:
        return "请先在「编辑」中指定整改责任人"
    if hazard.due_on is None:
        return "请先在「编辑」中填写整改期限"
    return None


def _require_measures(hazard: "Hazard", _session: Session) -> str | None:
    return None if (hazard.measures or "").strip() else "请填写采取的整改措施"


def _rectified(hazard: "Hazard", _session: Session) -> None:
    hazard.rectified_on = clock.today()


def _reviewed(hazard: "Hazard", _session: Session) -> None:
    hazard.reviewed_on = clock.today()


def _sent_back(hazard: "Hazard", _session: Session) -> None:
    hazard.rectified_on = None
    hazard.review_failures = (hazard.review_failures or 0) + 1


HAZARD_FLOW = Workflow(
    states=HAZARD_STATES,
    transitions=(
        Transition("start", "开始整改", ("found",), "rectifying", guard=_require_owner_and_due),
        Transition("complete", "整改完成", ("rectifying",), "rectified", guard=_require_measures,
                   effect=_rectified, inputs=("measures",), style="success"),
        Transition("pass_review", "复查通过", ("rectified",), "closed", effect=_reviewed, style="success"),
        Transition("fail_review", "复查不通过", ("rectified",), "rectifying", comment_required=True,
                   effect=_sent_back, style="danger"),
    ),
    frozen=frozenset({"closed"}),
)


class Hazard(Entity):
    """安全隐患台账: one hazard from discovery to the passed re-check (销号)."""

    __tablename__ = "hazard"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    source: Mapped[str] = mapped_column(String(20), default="inspection", info=zh("来源", choices=HAZARD_SOURCES))
    drill_id: Mapped[int | None] = fk("emergency_drill.id", nullable=True)
    drill: Mapped[EmergencyDrill | None] = relationship(info=zh("来源演练"))
    category: Mapped[str] = mapped_column(String(20), info=zh("隐患类别", choices=HAZARD_CATEGORIES))
    location: Mapped[str] = mapped_column(String(100), info=zh("隐患部位"))
    description: Mapped[str] = mapped_column(Text, info=zh("隐患描述"))
    found_on: Mapped[dt.date] = mapped_column(Date, info=zh("发现日期"))
    responsible_id: Mapped[int | None] = fk("employee.id", nullable=True)
    responsible: Mapped[Employee | None] = relationship(info=zh("整改责任人"))
    due_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("整改期限"))
    measures: Mapped[str | None] = mapped_column(Text, info=zh("整改措施"))
    rectified_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("整改完成日期"))
    reviewed_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("复查通过日期"))
    review_failures: Mapped[int] = mapped_column(Integer, default=0, info=zh("复查不通过次数"))
    state: Mapped[str] = mapped_column(String(20), default="found", info=zh("状态", choices=HAZARD_STATES))

    __table_args__ = (
        HAZARD_STATES.constraint("state", "ck_hazard_state"),
        HAZARD_SOURCES.constraint("source", "ck_hazard_source"),
        HAZARD_CATEGORIES.constraint("category", "ck_hazard_category"),
        CheckConstraint("due_on IS NULL OR due_on >= found_on", name="ck_hazard_due"),
        CheckConstraint("review_failures >= 0", name="ck_hazard_review_failures"),
    )

    @property
    def overdue(self) -> str:
        late = self.state in HAZARD_OPEN and self.due_on is not None and self.due_on < clock.today()
        return "已超期" if late else ""

    def __str__(self) -> str:
        return f"{self.location}：{(self.description or '')[:20]}"

    class Admin(Admin):
        label = "安全隐患"
        menu = Menu.SAFETY
        icon = "fa-exclamation-triangle"
        list_columns = ("found_on", "category", "location", "responsible", "due_on", "state", "overdue")
        search_columns = ("estate", "state", "category", "source", "found_on", "due_on", "location")
        form_columns = ("estate", "source", "category", "location", "description", "found_on", "responsible",
                        "due_on")
        show_columns = ("estate", "source", "drill", "category", "location", "description", "found_on",
                        "responsible", "due_on", "overdue", "state", "measures", "rectified_on", "reviewed_on",
                        "review_failures")
        order_by = ("found_on", "desc")
        date_order = (("found_on", "due_on"),)
        workflow = HAZARD_FLOW
        computed = {"overdue": "超期"}
        formatters = {"overdue": lambda text: Markup('<span class="label label-danger">{}</span>').format(text)
                      if text else ""}


# -- emergency plans and drills ----------------------------------------------------------------

PLAN_PARTS = ("organization", "warning", "response", "resources", "aftermath")


def _five_parts(plan: "EmergencyPlan", _session: Session) -> str | None:
    missing = [EmergencyPlan.__table__.columns[p].info["label"] for p in PLAN_PARTS
               if not (getattr(plan, p) or "").strip()]
    return f"预案须写全五个部分，尚缺：{'、'.join(missing)}" if missing else None


def _stamp_plan(plan: "EmergencyPlan", _session: Session) -> None:
    plan.published_on = clock.today()


PLAN_FLOW = Workflow(
    states=PLAN_STATES,
    transitions=(Transition("publish", "发布", ("draft",), "published", guard=_five_parts, effect=_stamp_plan,
                            style="danger"),),
    frozen=frozenset({"published"}),
)


def _next_plan_version(context) -> int:
    """Versions count up per estate and kind; assigned on insert, never typed in."""
    params = context.get_current_parameters()
    table = EmergencyPlan.__table__
    query = select(func.coalesce(func.max(table.c.version), 0) + 1).where(
        table.c.estate_id == params["estate_id"], table.c.kind == params["kind"])
    return context.connection.execute(query).scalar_one()


class EmergencyPlan(Entity):
    """应急预案: five parts; a published version is frozen, a revision is a new version."""

    __tablename__ = "emergency_plan"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    kind: Mapped[str] = mapped_column(String(20), info=zh("预案类别", choices=PLAN_KINDS))
    version: Mapped[int] = mapped_column(Integer, default=lambda ctx: _next_plan_version(ctx),
                                         info=zh("版本号", "同一小区同一类别内递增"))
    title: Mapped[str] = mapped_column(String(100), info=zh("预案名称"))
    owner: Mapped[str] = mapped_column(String(50), info=zh("预案责任人"))
    organization: Mapped[str | None] = mapped_column(Text, info=zh("应急组织体系", "指挥机构、响应小组、成员职责分工"))
    warning: Mapped[str | None] = mapped_column(Text, info=zh("预警与报告", "预警信息的收集、分析、发布和报告"))
    response: Mapped[str | None] = mapped_column(Text, info=zh("应急处置流程", "现场控制、人员疏散、医疗救援"))
    resources: Mapped[str | None] = mapped_column(Text, info=zh("资源保障", "应急队伍、物资、通讯"))
    aftermath: Mapped[str | None] = mapped_column(Text, info=zh("后期处置", "善后、调查评估、预案修订"))
    state: Mapped[str] = mapped_column(String(20), default="draft", info=zh("状态", choices=PLAN_STATES))
    published_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("发布日期"))

    __table_args__ = (
        PLAN_KINDS.constraint("kind", "ck_emergency_plan_kind"),
        PLAN_STATES.constraint("state", "ck_emergency_plan_state"),
        UniqueConstraint(
            "estate_id", "kind", "version", name="uq_emergency_plan_version",
            info={"message": "该小区此类预案已有此版本号"}),
    )

    def phase(self, session: Session) -> str:
        """现行版本 / 已被新版本替代 for a published plan; the stored state otherwise."""
        if self.state != "published":
            return PLAN_STATES.label(self.state)
        newer = session.execute(select(EmergencyPlan.id).where(
            EmergencyPlan.estate_id == self.estate_id, EmergencyPlan.kind == self.kind,
            EmergencyPlan.state == "published", EmergencyPlan.version > self.version).limit(1)).first()
        return "已被新版本替代" if newer else "现行版本"

    def __str__(self) -> str:
        return f"{self.title}（第 {self.version} 版）"

    class Admin(Admin):
        label = "应急预案"
        menu = Menu.SAFETY
        icon = "fa-life-ring"
        list_columns = ("title", "kind", "version", "owner", "state", "published_on")
        search_columns = ("estate", "kind", "title", "state")
        form_columns = ("estate", "kind", "title", "owner", *PLAN_PARTS)
        show_columns = ("estate", "kind", "version", "title", "owner", *PLAN_PARTS, "state", "published_on")
        order_by = ("kind", "asc")
        workflow = PLAN_FLOW


def _require_evaluation(drill: "EmergencyDrill", _session: Session) -> str | None:
    return None if drill.evaluation else "请选择演练评估结果"


def findings_to_hazards(drill: "EmergencyDrill", session: Session) -> None:
    """Each line of 发现问题 becomes a hazard of the ledger (整改 item), source 演练发现."""
    for line in (drill.findings or "").splitlines():
        text = line.strip(" \t-、·0123456789.")
        if text:
            session.add(Hazard(estate_id=drill.estate_id, estate=drill.estate, source="drill", drill=drill,
                               category=drill.hazard_category or "other", location=drill.location or "演练现场",
                               description=text[:1000], found_on=drill.held_on or clock.today()))


DRILL_FLOW = Workflow(
    states=DRILL_STATES,
    transitions=(
        Transition("hold", "完成演练", ("planned",), "held"),
        Transition("evaluate", "评估", ("held",), "evaluated", guard=_require_evaluation,
                   effect=findings_to_hazards, inputs=("evaluation",), style="success"),
    ),
    frozen=frozenset({"evaluated"}),
)


class EmergencyDrill(Entity):
    """应急演练: 实景/模拟/桌面推演, participants, evaluation; findings become hazards."""

    __tablename__ = "emergency_drill"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    plan_id: Mapped[int | None] = fk("emergency_plan.id", nullable=True)
    plan: Mapped[EmergencyPlan | None] = relationship(info=zh("演练预案"))
    title: Mapped[str] = mapped_column(String(100), info=zh("演练名称"))
    drill_type: Mapped[str] = mapped_column(String(20), default="live", info=zh("演练形式", choices=DRILL_TYPES))
    held_on: Mapped[dt.date] = mapped_column(Date, info=zh("演练日期"))
    location: Mapped[str | None] = mapped_column(String(100), info=zh("演练地点"))
    staff_count: Mapped[int] = mapped_column(Integer, default=0, info=zh("员工参与人数", check=not_negative))
    resident_count: Mapped[int] = mapped_column(Integer, default=0, info=zh("居民参与人数", check=not_negative))
    content: Mapped[str | None] = mapped_column(Text, info=zh("演练内容", "应急响应、资源调配、协同作战"))
    evaluation: Mapped[str | None] = mapped_column(String(20), info=zh("评估结果", choices=EVALUATIONS))
    findings: Mapped[str | None] = mapped_column(
        Text, info=zh("发现问题", "每行一个问题；评估时每个问题自动登记为一条安全隐患，进入整改")
    )
    hazard_category: Mapped[str | None] = mapped_column(
        String(20), info=zh("问题隐患类别", "评估生成安全隐患时使用", choices=HAZARD_CATEGORIES)
    )
    state: Mapped[str] = mapped_column(String(20), default="planned", info=zh("状态", choices=DRILL_STATES))

    __table_args__ = (
        DRILL_TYPES.constraint("drill_type", "ck_emergency_drill_type"),
        DRILL_STATES.constraint("state", "ck_emergency_drill_state"),
        EVALUATIONS.constraint("evaluation", "ck_emergency_drill_evaluation"),
        HAZARD_CATEGORIES.constraint("hazard_category", "ck_emergency_drill_hazard_category"),
        CheckConstraint("staff_count >= 0 AND resident_count >= 0", name="ck_emergency_drill_counts"),
    )

    def __str__(self) -> str:
        return f"{self.title} {self.held_on}"

    class Admin(Admin):
        label = "应急演练"
        menu = Menu.SAFETY
        icon = "fa-fire-extinguisher"
        list_columns = ("held_on", "title", "drill_type", "staff_count", "resident_count", "evaluation", "state")
        search_columns = ("estate", "drill_type", "held_on", "evaluation", "state")
        form_columns = ("estate", "plan", "title", "drill_type", "held_on", "location", "staff_count",
                        "resident_count", "content", "findings", "hazard_category")
        order_by = ("held_on", "desc")
        workflow = DRILL_FLOW
