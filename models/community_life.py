"""Community life (日常运营): visitors, renovations, key loans, activities, paid services, notices.

Registers kept at the gatehouse and the service desk (《社区物业管理实施方案》4.4, 《物业管理内容模式方案》): who came in,
who renovates, who borrowed which public key ("有借有还，借出要签字"), the 社区活动, the
price list of 有偿服务 (明码标价) and 公告, which are frozen once published.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import clock
from models.base import Admin, Choices, Entity, Menu, Money, fk, positive, zh
from models.estate import Estate, Unit
from models.safety import not_negative
from models.validators import check_id_card, check_mobile, check_plate
from models.workflow import Transition, Workflow

RENOVATION_STATES = Choices(("applied", "已登记"), ("working", "施工中"), ("accepted", "已验收"), ("stopped", "已叫停"))
EVENT_KINDS = Choices(
    ("sports", "文体活动"), ("lecture", "健康讲座"), ("volunteer", "义工活动"), ("festival", "节日活动"),
    ("safety", "安全宣传"), ("other", "其他"),
)
SERVICE_CATEGORIES = Choices(
    ("repair", "入户维修"), ("cleaning", "家政保洁"), ("moving", "搬运"), ("errand", "代办代购"),
    ("garbage", "垃圾清运"), ("other", "其他"),
)
NOTICE_KINDS = Choices(
    ("notice", "通知"), ("announcement", "公告"), ("outage", "停水停电"), ("reminder", "温馨提示"),
    ("event", "活动信息"),
)
NOTICE_STATES = Choices(("draft", "草稿"), ("published", "已发布"), ("withdrawn", "已撤回"))


class Visitor(Entity):
    """访客登记: every outsider shows a valid ID and is registered (《社区物业管理实施方案》4.4)."""

    __tablename__ = "visitor"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    name: Mapped[str] = mapped_column(String(50), info=zh("访客姓名"))
    id_number: Mapped[str | None] = mapped_column(
        String(18), info=zh("身份证号", check=check_id_card, masked="id_card")
    )
    mobile: Mapped[str | None] = mapped_column(String(11), info=zh("手机号", check=check_mobile, masked="mobile"))
    visiting: Mapped[str] = mapped_column(String(100), info=zh("被访住户", "楼栋-房号或单位"))
    purpose: Mapped[str] = mapped_column(String(100), info=zh("来访事由"))
    plate: Mapped[str | None] = mapped_column(String(10), info=zh("车牌号", check=check_plate))
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime, info=zh("进入时间"))
    left_at: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("离开时间"))
    guard: Mapped[str | None] = mapped_column(String(50), info=zh("登记人"))

    __table_args__ = (
        CheckConstraint("left_at IS NULL OR left_at >= entered_at", name="ck_visitor_times"),
    )

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        label = "访客登记"
        menu = Menu.OPERATIONS
        icon = "fa-id-card-o"
        list_columns = ("entered_at", "name", "mobile", "visiting", "purpose", "left_at")
        search_columns = ("estate", "name", "mobile", "visiting", "entered_at")
        order_by = ("entered_at", "desc")
        date_order = (("entered_at", "left_at"),)


class Renovation(Entity):
    """装修登记: the unit, the contractor, the period, the deposit."""

    __tablename__ = "renovation"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    unit_id: Mapped[int] = fk("unit.id")
    unit: Mapped[Unit] = relationship(info=zh("房屋"))
    applicant: Mapped[str] = mapped_column(String(50), info=zh("申请人"))
    contractor: Mapped[str] = mapped_column(String(100), info=zh("施工单位"))
    contractor_phone: Mapped[str | None] = mapped_column(String(11), info=zh("施工负责人电话", check=check_mobile))
    scope: Mapped[str] = mapped_column(Text, info=zh("装修内容", "不得拆改承重结构，不得擅自改变房屋用途"))
    starts_on: Mapped[dt.date] = mapped_column(Date, info=zh("开工日期"))
    ends_on: Mapped[dt.date] = mapped_column(Date, info=zh("完工日期"))
    deposit: Mapped[Decimal | None] = mapped_column(Money, info=zh("装修押金（元）", check=positive))
    status: Mapped[str] = mapped_column(String(20), default="applied", info=zh("状态", choices=RENOVATION_STATES))
    note: Mapped[str | None] = mapped_column(String(200), info=zh("巡查记录/备注"))

    __table_args__ = (
        RENOVATION_STATES.constraint("status", "ck_renovation_status"),
        CheckConstraint("ends_on >= starts_on", name="ck_renovation_dates"),
        CheckConstraint("deposit > 0", name="ck_renovation_deposit"),
    )

    def __str__(self) -> str:
        return f"{self.unit} 装修"

    class Admin(Admin):
        label = "装修登记"
        menu = Menu.OPERATIONS
        icon = "fa-paint-brush"
        list_columns = ("unit", "applicant", "contractor", "starts_on", "ends_on", "deposit", "status")
        search_columns = ("estate", "applicant", "contractor", "starts_on", "status")
        order_by = ("starts_on", "desc")
        date_order = (("starts_on", "ends_on"),)
        str_loads = ("unit",)


class KeyLoan(Entity):
    """钥匙借用登记: public keys are lent against a signature and returned ("有借有还")."""

    __tablename__ = "key_loan"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    key_name: Mapped[str] = mapped_column(String(100), info=zh("钥匙名称/编号", "如 3号楼天台门 K-03"))
    borrower: Mapped[str] = mapped_column(String(50), info=zh("借用人"))
    mobile: Mapped[str | None] = mapped_column(String(11), info=zh("借用人电话", check=check_mobile, masked="mobile"))
    purpose: Mapped[str] = mapped_column(String(100), info=zh("借用事由"))
    lent_at: Mapped[dt.datetime] = mapped_column(DateTime, info=zh("借出时间"))
    due_back_at: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("约定归还时间"))
    returned_at: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("归还时间"))
    handled_by: Mapped[str | None] = mapped_column(String(50), info=zh("经办人"))

    __table_args__ = (
        CheckConstraint("returned_at IS NULL OR returned_at >= lent_at", name="ck_key_loan_return"),
        CheckConstraint("due_back_at IS NULL OR due_back_at >= lent_at", name="ck_key_loan_due"),
    )

    @property
    def outstanding(self) -> str:
        return "未归还" if self.returned_at is None else ""

    def __str__(self) -> str:
        return f"{self.key_name} · {self.borrower}"

    class Admin(Admin):
        label = "钥匙借用"
        menu = Menu.OPERATIONS
        icon = "fa-key"
        list_columns = ("lent_at", "key_name", "borrower", "mobile", "purpose", "due_back_at", "returned_at",
                        "outstanding")
        search_columns = ("estate", "key_name", "borrower", "lent_at", "returned_at")
        order_by = ("lent_at", "desc")
        date_order = (("lent_at", "returned_at"), ("lent_at", "due_back_at"))
        computed = {"outstanding": "归还情况"}


class CommunityEvent(Entity):
    """社区活动 (《物业管理内容模式方案》: at least 12 a year, 300 participants each)."""

    __tablename__ = "community_event"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    title: Mapped[str] = mapped_column(String(100), info=zh("活动名称"))
    kind: Mapped[str] = mapped_column(String(20), info=zh("活动类型", choices=EVENT_KINDS))
    held_on: Mapped[dt.date] = mapped_column(Date, info=zh("活动日期"))
    place: Mapped[str | None] = mapped_column(String(100), info=zh("活动地点"))
    organizer: Mapped[str | None] = mapped_column(String(50), info=zh("组织人"))
    participants: Mapped[int] = mapped_column(Integer, default=0, info=zh("参与人数", check=not_negative))
    summary: Mapped[str | None] = mapped_column(Text, info=zh("活动小结"))

    __table_args__ = (
        EVENT_KINDS.constraint("kind", "ck_community_event_kind"),
        CheckConstraint("participants >= 0", name="ck_community_event_participants"),
    )

    def __str__(self) -> str:
        return self.title

    class Admin(Admin):
        label = "社区活动"
        menu = Menu.OPERATIONS
        icon = "fa-users"
        list_columns = ("held_on", "title", "kind", "place", "participants")
        search_columns = ("estate", "title", "kind", "held_on")
        order_by = ("held_on", "desc")


class PaidService(Entity):
    """有偿服务项目: the posted price list (明码标价) of services on request."""

    __tablename__ = "paid_service"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    name: Mapped[str] = mapped_column(String(100), info=zh("服务项目"))
    category: Mapped[str] = mapped_column(String(20), info=zh("服务类别", choices=SERVICE_CATEGORIES))
    price: Mapped[Decimal] = mapped_column(Money, info=zh("收费标准（元）", check=positive))
    unit_name: Mapped[str] = mapped_column(String(20), info=zh("计价单位", "如 次、小时、㎡、件"))
    description: Mapped[str | None] = mapped_column(String(200), info=zh("服务内容说明", "材料费另计等"))
    available: Mapped[bool] = mapped_column(Boolean, default=True, info=zh("提供中"))

    __table_args__ = (
        SERVICE_CATEGORIES.constraint("category", "ck_paid_service_category"),
        CheckConstraint("price > 0", name="ck_paid_service_price"),
        UniqueConstraint("estate_id", "name", name="uq_paid_service_name",
                         info={"message": "本小区已有同名服务项目"}),
    )

    def __str__(self) -> str:
        return f"{self.name} {self.price:f} 元/{self.unit_name}"

    class Admin(Admin):
        label = "有偿服务项目"
        menu = Menu.OPERATIONS
        icon = "fa-list-alt"
        list_columns = ("name", "category", "price", "unit_name", "description", "available")
        search_columns = ("estate", "name", "category", "available")
        order_by = ("name", "asc")


def _stamp_notice(notice: "Notice", _session: Session) -> None:
    notice.publish_on = notice.publish_on or clock.today()
    notice.published_at = clock.local_now()


def _publishable(notice: "Notice", _session: Session) -> str | None:
    if notice.expires_on and notice.publish_on and notice.expires_on < notice.publish_on:
        return "有效期至不能早于发布日期"
    return None


NOTICE_FLOW = Workflow(
    states=NOTICE_STATES,
    transitions=(
        Transition("publish", "发布", ("draft",), "published", guard=_publishable, effect=_stamp_notice,
                   style="danger"),
        Transition("withdraw", "撤回", ("published",), "withdrawn", comment_required=True, style="warning"),
    ),
    frozen=frozenset({"published", "withdrawn"}),
)


class Notice(Entity):
    """公告: drafted, then published on its publish date; from then on it cannot change."""

    __tablename__ = "notice"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    kind: Mapped[str] = mapped_column(String(20), default="notice", info=zh("公告类型", choices=NOTICE_KINDS))
    title: Mapped[str] = mapped_column(String(100), info=zh("标题"))
    content: Mapped[str] = mapped_column(Text, info=zh("正文"))
    publish_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("发布日期", "不填则为发布当天"))
    expires_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("有效期至"))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime, info=zh("发布时间"))
    state: Mapped[str] = mapped_column(String(20), default="draft", info=zh("状态", choices=NOTICE_STATES))

    __table_args__ = (
        NOTICE_KINDS.constraint("kind", "ck_notice_kind"),
        NOTICE_STATES.constraint("state", "ck_notice_state"),
        CheckConstraint("expires_on IS NULL OR publish_on IS NULL OR expires_on >= publish_on",
                        name="ck_notice_dates"),
    )

    def __str__(self) -> str:
        return self.title

    class Admin(Admin):
        label = "公告"
        menu = Menu.OPERATIONS
        icon = "fa-newspaper-o"
        list_columns = ("publish_on", "title", "kind", "expires_on", "state")
        search_columns = ("estate", "title", "kind", "publish_on", "state")
        form_columns = ("estate", "kind", "title", "content", "publish_on", "expires_on")
        show_columns = ("estate", "kind", "title", "content", "publish_on", "expires_on", "state", "published_at")
        order_by = ("publish_on", "desc")
        date_order = (("publish_on", "expires_on"),)
        workflow = NOTICE_FLOW
