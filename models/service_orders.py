"""The service desk (客服中心): 报修工单 and 投诉建议, each an explicit state machine.

Rules of 《物业精细化管理方案》4.3 and 《物业管理内容模式方案》 (首问负责制) with their numbers in ``Settings``:

* 首问负责人: whoever receives a request owns it until the requester is satisfied; it
  is set when the request is taken and cannot be handed to someone else afterwards.
* Deadlines (``deadline``): a repair is promised for the report time plus
  ``repair_promise_days`` unless another time is agreed, never later than
  ``repair_max_days`` after the report; a complaint is answered within
  ``complaint_reply_hours`` (``urgent_complaint_reply_hours`` when 紧急).
* 延期: at most once per request, with a reason; the new time is still at most
  ``repair_max_days`` after the report (the week is the outer limit of any promise).
* 回访: the requester rates the result; "not satisfied" reopens the request (back to
  处理中 with a fresh deadline), the same 首问负责人 keeps it.

Times are naive Beijing wall-clock times (what staff type and read). Overdue means
*strictly later* than the deadline: a request finished at the deadline is on time.

For dashboards: ``state`` (codes below), ``deadline`` (current promise),
``finished_at`` / ``replied_at`` (done, for on-time rates), ``visited_at`` (回访率),
``satisfaction`` (满意率), ``reopen_count`` (reopened), ``overdue_clause(model, now)``.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from markupsafe import Markup
from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, Integer, String, Text, and_, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.clock import local_now
from models.base import Admin, Choices, Entity, Menu, fk, zh
from models.company import Employee
from models.errors import Refused
from models.estate import Estate, Unit
from models.settings import Settings
from models.validators import check_mobile
from models.workflow import Transition, Workflow

CHANNELS = Choices(("phone", "电话"), ("wechat", "微信"), ("app", "手机应用"), ("desk", "前台"),
                   ("patrol", "巡查发现"), ("box", "意见箱"))
REPAIR_CATEGORIES = Choices(
    ("plumbing", "给排水"), ("electric", "电路照明"), ("door", "门窗门禁"), ("elevator", "电梯"),
    ("wall", "墙面屋面渗漏"), ("public", "公共设施"), ("indoor", "入户维修"), ("other", "其他"),
)
COMPLAINT_KINDS = Choices(("complaint", "投诉"), ("suggestion", "建议"), ("enquiry", "咨询"))
COMPLAINT_CATEGORIES = Choices(
    ("attitude", "服务态度"), ("repair", "维修质量"), ("cleaning", "环境卫生"), ("security", "秩序安全"),
    ("fees", "收费"), ("parking", "停车"), ("noise", "噪声扰民"), ("other", "其他"),
)
URGENCIES = Choices(("normal", "一般"), ("urgent", "紧急"))
#: the requester's verdict at the 回访; the first three count as satisfied (满意率)
SATISFACTION = Choices(
    ("very_satisfied", "非常满意"), ("satisfied", "满意"), ("fair", "基本满意"), ("dissatisfied", "不满意"),
)
SATISFIED = ("very_satisfied", "satisfied", "fair")

REPAIR_STATES = Choices(
    ("pending", "待派单"), ("processing", "处理中"), ("visiting", "待回访"),
    ("done", "已完成"), ("closed", "已关闭"),
)
COMPLAINT_STATES = Choices(
    ("received", "已受理"), ("handling", "处理中"), ("visiting", "待回访"),
    ("done", "已办结"), ("closed", "不予受理"),
)
#: states in which the deadline runs (before the work is finished / the reply given)
REPAIR_OPEN = ("pending", "processing")
COMPLAINT_OPEN = ("received", "handling")

#: how the 时限 column reads
OVERDUE, ON_TIME, LATE, RUNNING = "已超时", "按时办结", "超时办结", "未超时"


def is_overdue(deadline: dt.datetime, now: dt.datetime) -> bool:
    """Overdue strictly after the deadline: at the deadline itself it is still on time."""
    return now > deadline


def repair_deadline(reported_at: dt.datetime, settings: Settings) -> dt.datetime:
    return reported_at + dt.timedelta(days=settings.repair_promise_days)


def latest_repair_deadline(reported_at: dt.datetime, settings: Settings) -> dt.datetime:
    return reported_at + dt.timedelta(days=settings.repair_max_days)


def complaint_deadline(received_at: dt.datetime, urgency: str, settings: Settings) -> dt.datetime:
    hours = settings.urgent_complaint_reply_hours if urgency == "urgent" else settings.complaint_reply_hours
    return received_at + dt.timedelta(hours=hours)


def overdue_clause(model: type, now: dt.datetime):
    """SQL: still open and strictly past its deadline (the 超时 filter, dashboard counts)."""
    return and_(model.state.in_(model.OPEN_STATES), model.deadline < now)


def timing(state: str, open_states: tuple[str, ...], deadline: dt.datetime | None,
           done_at: dt.datetime | None, now: dt.datetime) -> str:
    """已超时 / 未超时 while open; 按时办结 / 超时办结 once done; empty when closed."""
    if deadline is None:
        return ""
    if state in open_states:
        return OVERDUE if is_overdue(deadline, now) else RUNNING
    if done_at is None:
        return ""
    return LATE if is_overdue(deadline, done_at) else ON_TIME


def timing_badge(text: str) -> Markup | str:
    """The overdue highlight of the list: red for 已超时, amber for 超时办结."""
    style = {OVERDUE: "label-danger", LATE: "label-warning", ON_TIME: "label-success", RUNNING: "label-info"}
    if text in style:
        return Markup('<span class="label {}">{}</span>').format(style[text], text)
    return text


def _settings(session: Session) -> Settings:
    return Settings.current(session)


# -- transitions shared by both desks -------------------------------------------------

def _refuse_second_postponement(obj, session: Session) -> str | None:
    if obj.original_deadline is not None:
        return "同一事项只能延期一次，本事项已延期过"
    if obj.postponed_to is None:
        return "请填写「延期至」的时间"
    if obj.postponed_to <= obj.deadline:
        return f"延期后的时间须晚于原约定时间 {obj.deadline:%Y-%m-%d %H:%M}"
    latest = latest_repair_deadline(obj.started_at, _settings(session))
    if obj.postponed_to > latest:
        days = _settings(session).repair_max_days
        return f"延期后的时间最迟为受理后 {days} 天，即 {latest:%Y-%m-%d %H:%M}"
    return None


def _postpone(obj, _session: Session) -> None:
    obj.original_deadline, obj.deadline = obj.deadline, obj.postponed_to


def _require_satisfied(obj, _session: Session) -> str | None:
    if obj.satisfaction is None:
        return "请选择回访满意度"
    if obj.satisfaction not in SATISFIED:
        return "业主不满意时请点击「不满意，重新处理」并写明原因"
    return None


def _visited(obj, _session: Session) -> None:
    obj.visited_at = local_now()


def _reopen(obj, session: Session) -> None:
    """Not satisfied: back to work with a fresh deadline; the 首问负责人 keeps the request."""
    now = local_now()
    obj.satisfaction, obj.visited_at = "dissatisfied", now
    obj.reopen_count = (obj.reopen_count or 0) + 1
    obj.reopen_deadline(now, _settings(session))


# -- 报修工单 ------------------------------------------------------------------------

def _require_handler(order: "RepairOrder", _session: Session) -> str | None:
    return None if order.handler_id or order.handler is not None else "请先在「编辑」中指定维修处理人，再派单"


def _require_result(obj, _session: Session) -> str | None:
    return None if (obj.result or "").strip() else "请填写处理结果"


def _finished(order: "RepairOrder", _session: Session) -> None:
    order.finished_at = local_now()


REPAIR_FLOW = Workflow(
    states=REPAIR_STATES,
    transitions=(
        Transition("dispatch", "派单", ("pending",), "processing", guard=_require_handler),
        Transition("postpone", "延期", ("processing",), "processing", comment_required=True,
                   guard=_refuse_second_postponement, effect=_postpone, inputs=("postponed_to",), style="warning"),
        Transition("finish", "完工", ("processing",), "visiting", guard=_require_result, effect=_finished,
                   inputs=("result",), style="success"),
        Transition("confirm", "回访确认", ("visiting",), "done", guard=_require_satisfied, effect=_visited,
                   inputs=("satisfaction",), style="success"),
        Transition("reopen", "不满意，重新处理", ("visiting",), "processing", comment_required=True,
                   effect=_reopen, style="danger"),
        Transition("close", "关闭", ("pending", "processing"), "closed", comment_required=True, style="default"),
    ),
    frozen=frozenset({"done", "closed"}),
)


class RepairOrder(Entity):
    """报修工单: from the report to the requester's 回访."""

    __tablename__ = "repair_order"
    OPEN_STATES = REPAIR_OPEN

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    unit_id: Mapped[int | None] = fk("unit.id", nullable=True)
    unit: Mapped[Unit | None] = relationship(info=zh("房屋", "公共部位报修可不填"))
    requester: Mapped[str] = mapped_column(String(50), info=zh("报修人"))
    phone: Mapped[str | None] = mapped_column(String(11), info=zh("联系电话", check=check_mobile, masked="mobile"))
    channel: Mapped[str] = mapped_column(String(20), default="phone", info=zh("报修渠道", choices=CHANNELS))
    category: Mapped[str] = mapped_column(String(20), info=zh("报修类别", choices=REPAIR_CATEGORIES))
    location: Mapped[str] = mapped_column(String(100), info=zh("报修部位", "如 3号楼2单元楼道灯"))
    description: Mapped[str] = mapped_column(Text, info=zh("问题描述"))
    first_receiver_id: Mapped[int] = fk("employee.id")
    first_receiver: Mapped[Employee] = relationship(
        foreign_keys=[first_receiver_id], info=zh("首问负责人", "第一接待人，跟踪至报修人满意为止，受理后不能更换")
    )
    handler_id: Mapped[int | None] = fk("employee.id", nullable=True)
    handler: Mapped[Employee | None] = relationship(foreign_keys=[handler_id], info=zh("维修处理人"))
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime, info=zh("报修时间"))
    deadline: Mapped[dt.datetime | None] = mapped_column(
        DateTime, info=zh("约定完成时间", "不填则按系统设置自动计算；最迟为报修后 7 天（见系统设置）")
    )
    original_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("延期前约定时间"))
    postponed_to: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("延期至"))
    result: Mapped[str | None] = mapped_column(Text, info=zh("处理结果"))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("完工时间"))
    satisfaction: Mapped[str | None] = mapped_column(String(20), info=zh("回访满意度", choices=SATISFACTION))
    visited_at: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("回访时间"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, info=zh("重新处理次数"))
    state: Mapped[str] = mapped_column(String(20), default="pending", info=zh("状态", choices=REPAIR_STATES))

    __table_args__ = (
        REPAIR_STATES.constraint("state", "ck_repair_order_state"),
        CHANNELS.constraint("channel", "ck_repair_order_channel"),
        REPAIR_CATEGORIES.constraint("category", "ck_repair_order_category"),
        SATISFACTION.constraint("satisfaction", "ck_repair_order_satisfaction"),
        CheckConstraint("reopen_count >= 0", name="ck_repair_order_reopen"),
        Index("ix_repair_order_estate_state", "estate_id", "state"),
    )

    @property
    def started_at(self) -> dt.datetime:
        return self.reported_at

    @property
    def timing(self) -> str:
        return timing(self.state, REPAIR_OPEN, self.deadline, self.finished_at, local_now())

    def reopen_deadline(self, now: dt.datetime, settings: Settings) -> None:
        self.finished_at = None
        self.deadline = max(self.deadline, repair_deadline(now, settings))

    def __str__(self) -> str:
        return f"报修 {self.id or ''} {self.location}"

    class Admin(Admin):
        label = "报修工单"
        menu = Menu.OPERATIONS
        icon = "fa-wrench"
        list_columns = ("reported_at", "location", "category", "requester", "phone", "first_receiver", "state",
                        "deadline", "timing")
        search_columns = ("estate", "state", "category", "channel", "requester", "location", "reported_at",
                          "deadline", "satisfaction")
        form_columns = ("estate", "unit", "requester", "phone", "channel", "category", "location", "description",
                        "first_receiver", "handler", "reported_at", "deadline")
        show_columns = ("estate", "unit", "requester", "phone", "channel", "category", "location", "description",
                        "first_receiver", "handler", "reported_at", "deadline", "original_deadline", "timing",
                        "state", "result", "finished_at", "satisfaction", "visited_at", "reopen_count")
        order_by = ("reported_at", "desc")
        str_loads = ()
        workflow = REPAIR_FLOW
        computed = {"timing": "时限"}
        formatters = {"timing": timing_badge}


@event.listens_for(RepairOrder, "before_insert")
@event.listens_for(RepairOrder, "before_update")
def _repair_deadline(_mapper, connection, order: RepairOrder) -> None:
    settings = _settings_row(connection)
    order.reported_at = order.reported_at or local_now()
    if order.deadline is None:
        order.deadline = repair_deadline(order.reported_at, settings)
    if order.original_deadline is None and not order.reopen_count:
        # the agreed time of a request not yet postponed or reopened: within the week
        latest = latest_repair_deadline(order.reported_at, settings)
        if order.deadline > latest:
            raise Refused(f"约定完成时间最迟为报修后 {settings.repair_max_days} 天，即 {latest:%Y-%m-%d %H:%M}")
    if order.deadline <= order.reported_at:
        raise Refused("约定完成时间须晚于报修时间")


# -- 投诉建议 ------------------------------------------------------------------------

def _require_responsible(complaint: "Complaint", _session: Session) -> str | None:
    if complaint.responsible_id or complaint.responsible is not None:
        return None
    return "请先在「编辑」中指定责任人，再转办"


def _require_reply(complaint: "Complaint", _session: Session) -> str | None:
    return None if (complaint.reply or "").strip() else "请填写答复内容"


def _replied(complaint: "Complaint", _session: Session) -> None:
    complaint.replied_at = local_now()


COMPLAINT_FLOW = Workflow(
    states=COMPLAINT_STATES,
    transitions=(
        Transition("assign", "转办", ("received",), "handling", guard=_require_responsible),
        Transition("postpone", "延期", ("handling",), "handling", comment_required=True,
                   guard=_refuse_second_postponement, effect=_postpone, inputs=("postponed_to",), style="warning"),
        Transition("answer", "答复", ("received", "handling"), "visiting", guard=_require_reply, effect=_replied,
                   inputs=("reply",), style="success"),
        Transition("confirm", "回访确认", ("visiting",), "done", guard=_require_satisfied, effect=_visited,
                   inputs=("satisfaction",), style="success"),
        Transition("reopen", "不满意，重新处理", ("visiting",), "handling", comment_required=True,
                   effect=_reopen, style="danger"),
        Transition("close", "不予受理", ("received",), "closed", comment_required=True, style="default"),
    ),
    frozen=frozenset({"done", "closed"}),
)


class Complaint(Entity):
    """投诉建议: answered within 24 h (紧急 12 h), followed up, reopened if not satisfied."""

    __tablename__ = "complaint"
    OPEN_STATES = COMPLAINT_OPEN

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    unit_id: Mapped[int | None] = fk("unit.id", nullable=True)
    unit: Mapped[Unit | None] = relationship(info=zh("房屋"))
    complainant: Mapped[str] = mapped_column(String(50), info=zh("投诉人"))
    phone: Mapped[str | None] = mapped_column(String(11), info=zh("联系电话", check=check_mobile, masked="mobile"))
    channel: Mapped[str] = mapped_column(String(20), default="phone", info=zh("受理渠道", choices=CHANNELS))
    kind: Mapped[str] = mapped_column(String(20), default="complaint", info=zh("类型", choices=COMPLAINT_KINDS))
    category: Mapped[str] = mapped_column(String(20), info=zh("类别", choices=COMPLAINT_CATEGORIES))
    urgency: Mapped[str] = mapped_column(String(10), default="normal", info=zh("紧急程度", choices=URGENCIES))
    content: Mapped[str] = mapped_column(Text, info=zh("投诉内容"))
    first_receiver_id: Mapped[int] = fk("employee.id")
    first_receiver: Mapped[Employee] = relationship(
        foreign_keys=[first_receiver_id], info=zh("首问负责人", "第一接待人，跟踪至投诉人满意为止，受理后不能更换")
    )
    responsible_id: Mapped[int | None] = fk("employee.id", nullable=True)
    responsible: Mapped[Employee | None] = relationship(foreign_keys=[responsible_id], info=zh("责任人"))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, info=zh("受理时间"))
    deadline: Mapped[dt.datetime | None] = mapped_column(
        DateTime, info=zh("答复期限", "按紧急程度自动计算：一般 24 小时、紧急 12 小时（见系统设置）")
    )
    original_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("延期前期限"))
    postponed_to: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("延期至"))
    valid: Mapped[bool] = mapped_column(Boolean, default=True, info=zh("有效投诉", "经核实属于物业服务责任"))
    cause: Mapped[str | None] = mapped_column(Text, info=zh("原因分析"))
    measures: Mapped[str | None] = mapped_column(Text, info=zh("整改措施"))
    reply: Mapped[str | None] = mapped_column(Text, info=zh("答复内容"))
    replied_at: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("答复时间"))
    satisfaction: Mapped[str | None] = mapped_column(String(20), info=zh("回访满意度", choices=SATISFACTION))
    visited_at: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("回访时间"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, info=zh("重新处理次数"))
    state: Mapped[str] = mapped_column(String(20), default="received", info=zh("状态", choices=COMPLAINT_STATES))

    __table_args__ = (
        COMPLAINT_STATES.constraint("state", "ck_complaint_state"),
        CHANNELS.constraint("channel", "ck_complaint_channel"),
        COMPLAINT_KINDS.constraint("kind", "ck_complaint_kind"),
        COMPLAINT_CATEGORIES.constraint("category", "ck_complaint_category"),
        URGENCIES.constraint("urgency", "ck_complaint_urgency"),
        SATISFACTION.constraint("satisfaction", "ck_complaint_satisfaction"),
        CheckConstraint("reopen_count >= 0", name="ck_complaint_reopen"),
        Index("ix_complaint_estate_state", "estate_id", "state"),
    )

    @property
    def started_at(self) -> dt.datetime:
        return self.received_at

    @property
    def timing(self) -> str:
        return timing(self.state, COMPLAINT_OPEN, self.deadline, self.replied_at, local_now())

    def reopen_deadline(self, now: dt.datetime, settings: Settings) -> None:
        self.replied_at = None
        self.deadline = max(self.deadline, complaint_deadline(now, self.urgency, settings))

    def __str__(self) -> str:
        return f"{COMPLAINT_KINDS.label(self.kind)} {self.id or ''} {self.complainant}"

    class Admin(Admin):
        label = "投诉建议"
        menu = Menu.OPERATIONS
        icon = "fa-bullhorn"
        list_columns = ("received_at", "kind", "category", "urgency", "complainant", "phone", "first_receiver", "state",
                        "deadline", "timing")
        search_columns = ("estate", "state", "kind", "category", "urgency", "complainant", "received_at",
                          "deadline", "valid", "satisfaction")
        form_columns = ("estate", "unit", "complainant", "phone", "channel", "kind", "category", "urgency",
                        "content", "first_receiver", "responsible", "received_at", "valid", "cause", "measures")
        show_columns = ("estate", "unit", "complainant", "phone", "channel", "kind", "category", "urgency",
                        "content", "first_receiver", "responsible", "received_at", "deadline", "original_deadline",
                        "timing", "state", "valid", "cause", "measures", "reply", "replied_at", "satisfaction",
                        "visited_at", "reopen_count")
        order_by = ("received_at", "desc")
        workflow = COMPLAINT_FLOW
        computed = {"timing": "时限"}
        formatters = {"timing": timing_badge}


@event.listens_for(Complaint, "before_insert")
@event.listens_for(Complaint, "before_update")
def _complaint_deadline(_mapper, connection, complaint: Complaint) -> None:
    """The reply deadline follows the urgency until the complaint is postponed or reopened."""
    settings = _settings_row(connection)
    complaint.received_at = complaint.received_at or local_now()
    if complaint.original_deadline is None and not complaint.reopen_count:
        complaint.deadline = complaint_deadline(complaint.received_at, complaint.urgency, settings)


# -- shared ----------------------------------------------------------------------------

def _settings_row(connection) -> Settings:
    """The settings as a plain record (inside a flush: no ORM object is created)."""
    row = connection.execute(select(Settings.__table__).where(Settings.__table__.c.id == 1)).mappings().one()
    return SimpleNamespace(**row)  # type: ignore[return-value]


def _first_receiver_stays(model: type) -> None:
    table = model.__table__

    @event.listens_for(model, "before_update")
    def _refuse_change(_mapper, connection, obj) -> None:
        stored = connection.execute(select(table.c.first_receiver_id).where(table.c.id == obj.id)).scalar()
        new = obj.first_receiver.id if obj.first_receiver is not None else obj.first_receiver_id
        if stored is not None and new != stored:
            raise Refused("首问负责人跟踪至办结，受理后不能更换；需要协助请指定处理人或责任人")


for _model in (RepairOrder, Complaint):
    _first_receiver_stays(_model)
