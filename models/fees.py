"""Fees (收费管理): items, versioned fee standards and their publication, bills, payments.

A 收费标准 carries every field 《物业服务收费明码标价规定》第6条 requires. It is drafted by
the 物业经理, approved or returned by the 业委会 and then published (公示); from then on
it is frozen, and whether it is 公示中, 已生效 or 已废止 follows from the dates alone.
A standard that replaces one in force must be published at least one calendar month
before its 生效日期 (明码标价规定: publish a month ahead).
"""

from __future__ import annotations

import datetime as dt
from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import (
    CheckConstraint, Date, ForeignKey, ForeignKeyConstraint, Index, Integer, Numeric, String, Text, UniqueConstraint,
    func, select, text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import clock
from models.base import (
    ALL_ESTATES, Admin, Choices, Derived, Entity, ExactDecimal, Menu, Money, decimal_text, fk, implied_reference,
    positive, postgresql_index, unique_where, zh,
)
from models.clock import UTCDateTime
from models.company import BILLING_MODES
from models.errors import Refused
from models.estate import Estate, Unit
from models.locks import lock_row
from models.parking import ParkingSpace
from models.workflow import Transition, Workflow

CENT = Decimal("0.01")
#: unit prices keep four decimals (元/㎡·月 such as 2.8500); bills are rounded to the cent
Price = ExactDecimal(12, 4)

BILLING_BASES = Choices(
    ("per_area", "按建筑面积（元/㎡·月）"),
    ("per_unit", "按户（元/户·月）"),
    ("per_space", "按车位（元/个·月）"),
    ("per_time", "按次（元/次）"),
)
PRICE_FORMS = Choices(("guided", "政府指导价"), ("market", "市场调节价"))
PAYMENT_METHODS = Choices(
    ("cash", "现金"), ("wechat", "微信支付"), ("alipay", "支付宝"), ("bank", "银行转账"), ("pos", "银行卡刷卡"),
)

STANDARD_STATES = Choices(
    ("draft", "草稿"), ("submitted", "待审核"), ("returned", "已退回"),
    ("approved", "已批准"), ("published", "已公示"),
)
#: what a published standard is at a given day (follows from the dates)
NOTICE, IN_FORCE, ABOLISHED = "公示中", "已生效", "已废止"


class FeeItem(Entity):
    """收费项目: the catalogue (物业服务费, 停车服务费, 装修垃圾清运费 ...)."""

    __tablename__ = "fee_item"

    name: Mapped[str] = mapped_column(String(50), unique=True, info=zh("收费项目"))
    code: Mapped[str] = mapped_column(String(20), unique=True, info=zh("项目编码"))
    billing_basis: Mapped[str] = mapped_column(
        String(20), default="per_area", info=zh("计费方式", choices=BILLING_BASES)
    )
    description: Mapped[str | None] = mapped_column(String(200), info=zh("说明"))

    __table_args__ = (BILLING_BASES.constraint("billing_basis", "ck_fee_item_basis"),)

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        label = "收费项目"
        menu = Menu.FEES
        icon = "fa-tags"
        list_columns = ("name", "code", "billing_basis", "description")
        search_columns = ("name", "code", "billing_basis")
        order_by = ("code", "asc")
        scope_path = None


# -- the publication workflow ----------------------------------------------------------

def in_force(session: Session, estate_id: int, day: dt.date, *, public: bool = False) -> "FeeStandard | None":
    """The one standard of an estate in force on ``day``: the latest published by date.

    ``public``: read for the anonymous notice pages (published data only, any estate).
    """
    query = (
        select(FeeStandard)
        .where(FeeStandard.estate_id == estate_id, FeeStandard.state == "published",
               FeeStandard.effective_from <= day)
        .order_by(FeeStandard.effective_from.desc(), FeeStandard.version.desc())
        .limit(1)
    )
    return session.execute(query, execution_options={ALL_ESTATES: public}).scalar_one_or_none()


def earliest_effective_date(session: Session, standard: "FeeStandard", publish_on: dt.date) -> dt.date:
    """明码标价: a standard replacing a published one takes effect a calendar month after 公示 —
    whether the one it replaces is in force or still waiting for its own date (公示中)."""
    replaces_pending = session.execute(
        select(FeeStandard.id).where(
            FeeStandard.estate_id == standard.estate_id, FeeStandard.state == "published",
            FeeStandard.id != standard.id, FeeStandard.effective_from < standard.effective_from,
        ).limit(1)
    ).first() is not None
    if in_force(session, standard.estate_id, publish_on) is None and not replaces_pending:
        return publish_on
    return publish_on + relativedelta(months=1)


def _check_publishable(standard: "FeeStandard", session: Session) -> str | None:
    today = clock.today()
    if not standard.lines:
        return "收费标准没有任何收费项目，不能公示"
    earliest = earliest_effective_date(session, standard, today)
    if standard.effective_from < earliest:
        return (f"该标准将替换现行收费标准，须至少提前一个月公示：今天公示，生效日期不得早于 "
                f"{earliest:%Y年%m月%d日}（当前为 {standard.effective_from:%Y年%m月%d日}）")
    clash = session.execute(
        select(FeeStandard.id).where(
            FeeStandard.estate_id == standard.estate_id, FeeStandard.state == "published",
            FeeStandard.effective_from == standard.effective_from, FeeStandard.id != standard.id,
        )
    ).first()
    if clash:
        return "该小区已有同一生效日期的已公示收费标准"
    return None


def _check_has_lines(standard: "FeeStandard", _session: Session) -> str | None:
    if not standard.lines:
        return "收费标准还没有任何收费项目（价格），请先添加收费项目再提交审核"
    return None


def _stamp_publication(standard: "FeeStandard", _session: Session) -> None:
    standard.published_on = clock.today()


FEE_STANDARD_FLOW = Workflow(
    states=STANDARD_STATES,
    transitions=(
        Transition("submit", "提交审核", ("draft", "returned"), "submitted", guard=_check_has_lines,
                   consequence="提交后内容冻结，由业委会审核"),
        Transition("approve", "审核通过", ("submitted",), "approved", style="success"),
        Transition("return", "退回修改", ("submitted",), "returned", comment_required=True, style="warning"),
        Transition("publish", "公示", ("approved",), "published",
                   guard=_check_publishable, effect=_stamp_publication, style="danger",
                   consequence="公示后在公示栏向全体业主公开，内容不能再修改，到生效日期起执行"),
    ),
    frozen=frozenset({"submitted", "approved", "published"}),
)


def _next_version(context) -> int:
    """Versions count up per estate; assigned on insert, never typed in."""
    estate_id = context.get_current_parameters()["estate_id"]
    table = FeeStandard.__table__
    query = select(func.coalesce(func.max(table.c.version), 0) + 1).where(table.c.estate_id == estate_id)
    return context.connection.execute(query).scalar_one()


class FeeStandard(Entity):
    """收费标准: one versioned document per estate, one line per fee item."""

    __tablename__ = "fee_standard"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    version: Mapped[int] = mapped_column(Integer, default=lambda ctx: _next_version(ctx), info=zh("版本号", "同一小区内递增"))
    title: Mapped[str] = mapped_column(String(100), info=zh("标准名称", "如 2027 年度物业收费标准"))
    company_name: Mapped[str] = mapped_column(String(100), info=zh("物业服务企业名称"))
    charge_target: Mapped[str] = mapped_column(
        String(200), default="本物业管理区域全体业主及物业使用人", info=zh("收费对象")
    )
    service_content: Mapped[str] = mapped_column(Text, info=zh("服务内容"))
    service_standard: Mapped[str] = mapped_column(String(200), info=zh("服务标准", "如 住宅物业服务二级标准"))
    billing_mode: Mapped[str] = mapped_column(
        String(20), default="lump_sum", info=zh("计费模式", choices=BILLING_MODES)
    )
    basis: Mapped[str] = mapped_column(String(300), info=zh("收费依据", "如 业主大会决议、物业服务合同"))
    effective_from: Mapped[dt.date] = mapped_column(
        Date, info=zh("生效日期（计费起始时间）", "替换现行标准时须至少提前一个月公示")
    )
    state: Mapped[str] = mapped_column(String(20), default="draft", info=zh("状态", choices=STANDARD_STATES))
    published_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("公示日期"))
    lines: Mapped[list[FeeStandardLine]] = relationship(
        back_populates="standard", cascade="all, delete-orphan", order_by="FeeStandardLine.id",
        info=zh("收费明细"),
    )

    __table_args__ = (
        UniqueConstraint("estate_id", "version", name="uq_fee_standard_version",
                         info={"message": "该小区已有此版本号的收费标准"}),
        STANDARD_STATES.constraint("state", "ck_fee_standard_state"),
        BILLING_MODES.constraint("billing_mode", "ck_fee_standard_billing_mode"),
    )

    def __str__(self) -> str:
        return f"{self.title}（第 {self.version} 版）"

    def previous(self, session: Session) -> "FeeStandard | None":
        """The published standard this one replaces: the latest published one of the estate
        taking effect before it. A draft awaiting review is compared with what owners pay,
        never with another draft; the public notice compares the same pairs."""
        query = (select(FeeStandard)
                 .where(FeeStandard.estate_id == self.estate_id, FeeStandard.state == "published",
                        FeeStandard.effective_from < self.effective_from, FeeStandard.id != self.id)
                 .order_by(FeeStandard.effective_from.desc(), FeeStandard.id.desc()).limit(1))
        return session.execute(query).scalar_one_or_none()

    def price_changes(self, session: Session) -> tuple["FeeStandard | None", list[dict[str, Any]]]:
        """The standard replaced and, per fee item, its old and new price (None: not in it)."""
        previous = self.previous(session)
        old = {line.item_id: line for line in previous.lines} if previous else {}
        new = {line.item_id: line for line in self.lines}
        items = {line.item_id: line.item for line in [*old.values(), *new.values()]}
        rows = [
            {"item": items[i], "basis": BILLING_BASES.label((new.get(i) or old.get(i)).billing_basis),
             "old": old[i].unit_price if i in old else None, "new": new[i].unit_price if i in new else None}
            for i in sorted(items, key=lambda i: items[i].code)
        ]
        return previous, rows

    def workflow_notes(self, session: Session) -> list[str]:
        """What the person about to publish needs to know (shown beside the buttons)."""
        if self.state in ("published",):
            return []
        earliest = earliest_effective_date(session, self, clock.today())
        if earliest == clock.today():
            return ["本小区尚无生效的收费标准：公示后即可按生效日期执行。"]
        return [f"本标准将替换现行收费标准，须至少提前一个月公示：若今天公示，生效日期最早为 {earliest:%Y年%m月%d日}。"]

    def phase(self, session: Session, day: dt.date | None = None) -> str:
        """公示中 / 已生效 / 已废止 for a published standard; the stored state otherwise."""
        if self.state != "published":
            return STANDARD_STATES.label(self.state)
        day = day or clock.today()
        if self.effective_from > day:
            return NOTICE
        current = in_force(session, self.estate_id, day)
        return IN_FORCE if current is not None and current.id == self.id else ABOLISHED

    class Admin(Admin):
        label = "收费标准"
        menu = Menu.FEES
        icon = "fa-file-text"
        list_columns = ("estate", "version", "title", "effective_from", "state", "published_on")
        search_columns = ("estate", "title", "state", "effective_from")
        form_columns = (
            "estate", "title", "company_name", "charge_target", "service_content",
            "service_standard", "billing_mode", "basis", "effective_from",
        )
        show_columns = (
            "estate", "version", "title", "company_name", "charge_target", "service_content",
            "service_standard", "billing_mode", "basis", "effective_from", "state", "published_on",
        )
        order_by = ("effective_from", "desc")
        workflow = FEE_STANDARD_FLOW
        details = ("lines",)


def _guided_price_in_band(values: dict) -> list[tuple[str, str]]:
    if values.get("price_form") != "guided":
        return []
    base, rate, price = values.get("base_price"), values.get("float_percent"), values.get("unit_price")
    if base is None or rate is None:
        return [("base_price", "政府指导价须填写基准价和浮动幅度")]
    if not 0 <= rate <= 100:
        return [("float_percent", "浮动幅度须在 0 到 100 之间")]
    if price is None:
        return []
    # the exact band (1.2345 ± 10 % is 1.11105 ～ 1.35795): never rounded outward
    low, high = base * (100 - rate) / 100, base * (100 + rate) / 100
    if not low <= price <= high:
        return [("unit_price", f"实际收费标准须在基准价上下浮动幅度之内（{low.normalize():f} ～ {high.normalize():f} 元）")]
    return []


class FeeStandardLine(Entity):
    """收费明细: one fee item of a standard with its price (and guidance band)."""

    __tablename__ = "fee_standard_line"

    standard_id: Mapped[int] = fk("fee_standard.id", ondelete="CASCADE")
    standard: Mapped[FeeStandard] = relationship(back_populates="lines", info=zh("收费标准"))
    item_id: Mapped[int] = fk("fee_item.id")
    item: Mapped[FeeItem] = relationship(info=zh("收费项目"))
    billing_basis: Mapped[str] = mapped_column(String(20), info=zh("计费方式", choices=BILLING_BASES))
    unit_price: Mapped[Decimal] = mapped_column(Price, info=zh("收费标准（元）", "实际执行单价", check=positive))
    price_form: Mapped[str] = mapped_column(
        String(20), default="market", info=zh("价格管理形式", choices=PRICE_FORMS)
    )
    base_price: Mapped[Decimal | None] = mapped_column(Price, info=zh("基准价（元）", "政府指导价项目必填", check=positive))
    float_percent: Mapped[Decimal | None] = mapped_column(
        ExactDecimal(5, 2), info=zh("浮动幅度（%）", "政府指导价项目必填，如 10 表示上下浮动 10%")
    )
    note: Mapped[str | None] = mapped_column(String(200), info=zh("备注"))

    __table_args__ = (
        UniqueConstraint("standard_id", "item_id", name="uq_fee_line_item",
                         info={"message": "同一收费标准中每个收费项目只能出现一次"}),
        CheckConstraint("unit_price > 0", name="ck_fee_line_price"),
        CheckConstraint("float_percent >= 0", name="ck_fee_line_float"),
        BILLING_BASES.constraint("billing_basis", "ck_fee_line_basis"),
        PRICE_FORMS.constraint("price_form", "ck_fee_line_price_form"),
    )

    def __str__(self) -> str:
        return f"{self.item} {self.unit_price:f}"

    class Admin(Admin):
        label = "收费明细"
        menu = Menu.FEES
        icon = "fa-list"
        list_columns = ("standard", "item", "billing_basis", "unit_price", "price_form", "base_price", "float_percent")
        search_columns = ("item", "price_form")
        form_columns = ("standard", "item", "billing_basis", "unit_price", "price_form", "base_price", "float_percent", "note")
        scope_path = "standard.estate_id"
        str_loads = ("item",)
        frozen_by = "standard"
        rules = (_guided_price_in_band,)


# -- bills and payments --------------------------------------------------------------

class Bill(Entity):
    """账单: one unit (or parking space), one fee item, one month."""

    __tablename__ = "bill"

    # the keys are declared below: composite keys the database checks (two per bill), which
    # imply the rest
    estate_id: Mapped[int] = mapped_column()
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    unit_id: Mapped[int | None] = mapped_column()
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id], info=zh("房屋"))
    space_id: Mapped[int | None] = mapped_column()
    space: Mapped[ParkingSpace | None] = relationship(foreign_keys=[space_id], info=zh("车位"))
    item_id: Mapped[int] = mapped_column()
    item: Mapped[FeeItem] = relationship(info=zh("收费项目"))
    standard_id: Mapped[int] = mapped_column()
    standard: Mapped[FeeStandard] = relationship(info=zh("收费标准"))
    period: Mapped[dt.date] = mapped_column(Date, info=zh("账期", "所属月份（每月 1 日）"))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(12, 2), info=zh("计费数量", "建筑面积㎡或户数/车位数"))
    unit_price: Mapped[Decimal] = mapped_column(Price, info=zh("单价（元）"))
    amount: Mapped[Decimal] = mapped_column(Money, info=zh("应收金额（元）"))
    paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), info=zh("已收金额（元）"))
    outstanding: Mapped[Decimal] = mapped_column(Money, info=zh("欠费金额（元）"))
    #: set when the month is billed pro rata by days (a standard starting within the month)
    proration: Mapped[str | None] = mapped_column(String(300), info=zh("计费说明"))
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=zh("生成时间"))

    __table_args__ = (
        # a bill is a house's or a 车位's: each key holds only its own bills
        unique_where("uq_bill_unit_item_period", "unit_id", "item_id", "period", present=("unit_id",),
                     message="该房屋此项目此账期的账单已生成，不能重复生成"),
        unique_where("uq_bill_space_item_period", "space_id", "item_id", "period", present=("space_id",),
                     message="该车位此项目此账期的账单已生成，不能重复生成"),
        CheckConstraint("(unit_id IS NULL) <> (space_id IS NULL)", name="ck_bill_one_payer"),
        CheckConstraint("amount >= 0 AND paid >= 0 AND paid <= amount", name="ck_bill_paid"),
        CheckConstraint("outstanding = amount - paid", name="ck_bill_outstanding"),
        # A bill is charged to a house or space of its own 小区, for an item its 收费标准 lists.
        # The database checks these two keys per bill; they imply that the 小区, the item and
        # the standard exist, which the database then need not check again (five checks per
        # row were half the time of a bill run on PostgreSQL).
        ForeignKeyConstraint(["unit_id", "estate_id"], ["unit.id", "unit.estate_id"], ondelete="RESTRICT",
                             name="fk_bill_unit_of_estate"),
        ForeignKeyConstraint(["space_id", "estate_id"], ["parking_space.id", "parking_space.estate_id"],
                             ondelete="RESTRICT", name="fk_bill_space_of_estate"),
        ForeignKeyConstraint(["standard_id", "item_id"], ["fee_standard_line.standard_id", "fee_standard_line.item_id"],
                             ondelete="RESTRICT", name="fk_bill_standard_line"),
        implied_reference("estate_id", "estate.id"),
        implied_reference("item_id", "fee_item.id"),
        implied_reference("standard_id", "fee_standard.id"),
        # the keys' own lookups: a line's removal is checked through this index, a payer's
        # through the unique keys above, which start with the payer (a lookup by payer implies
        # it is set, so the partial index serves it)
        Index("ix_bill_standard_item", "standard_id", "item_id"),
        # the list's order (newest period first, then id) within an estate and across estates:
        # with the id in the index, PostgreSQL reads a page in order instead of walking the primary key
        Index("ix_bill_estate_period", "estate_id", "period", "id"),
        Index("ix_bill_period", "period", "id"),
        Index("ix_bill_estate_outstanding", "estate_id", "outstanding"),
        # 欠费 across a jurisdiction: ~5 % of the bills, newest first
        postgresql_index("ix_bill_arrears", "period", "id", postgresql_where=text("outstanding > 0")),
    )

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} {self.item}"

    class Admin(Admin):
        label = "账单"
        menu = Menu.FEES
        icon = "fa-file-o"
        list_columns = ("period", "unit", "space", "item", "amount", "paid", "outstanding")
        search_columns = ("estate", "unit.building", "unit", "item", "period", "outstanding", "amount")
        order_by = ("period", "desc")
        large = True
        lookup_columns = ("id",)  # 账单号
        str_loads = ("item",)
        formatters = {"period": lambda day: f"{day:%Y-%m}"}
        actions = frozenset()  # generated in batches, settled by payments; never typed in
        extra_actions = frozenset({"generate", "pay"})


class BillMonthTotal(Derived):
    """Due, paid and outstanding of an estate's bills of one month, as the bills say at every
    commit (kept by the triggers of migration c3f7a9d1e5b8): the 收缴率 figures read a row
    per estate and month instead of summing a year of bills on every view."""

    __tablename__ = "bill_month_total"

    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    due: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money)
    outstanding: Mapped[Decimal] = mapped_column(Money)
    bills: Mapped[int] = mapped_column(Integer)


class Payment(Entity):
    """缴费记录: full or partial; never edited (a mistake is corrected by the finance office)."""

    __tablename__ = "payment"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    bill_id: Mapped[int] = fk("bill.id")
    bill: Mapped[Bill] = relationship(info=zh("账单"))
    amount: Mapped[Decimal] = mapped_column(Money, info=zh("缴费金额（元）", check=positive))
    method: Mapped[str] = mapped_column(String(20), default="wechat", info=zh("缴费方式", choices=PAYMENT_METHODS))
    paid_on: Mapped[dt.date] = mapped_column(Date, info=zh("缴费日期"))
    receipt_no: Mapped[str | None] = mapped_column(String(40), info=zh("票据号"))
    note: Mapped[str | None] = mapped_column(String(200), info=zh("备注"))

    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_payment_amount"),
        PAYMENT_METHODS.constraint("method", "ck_payment_method"),
    )

    def __str__(self) -> str:
        return f"{self.paid_on} {self.amount:f}"

    class Admin(Admin):
        label = "缴费记录"
        menu = Menu.FEES
        icon = "fa-money"
        list_columns = ("paid_on", "bill", "amount", "method", "receipt_no")
        search_columns = ("paid_on", "method", "receipt_no", "amount")
        form_columns = ("bill", "amount", "method", "paid_on", "receipt_no", "note")
        order_by = ("paid_on", "desc")
        actions = frozenset()  # registered from the bill's page (record_payment below)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def collection_rates(session: Session):
    """收缴率 per estate and period, aggregated in SQL (scoped like every query)."""
    query = (
        select(Bill.estate_id, Bill.period, func.sum(Bill.amount).label("due"), func.sum(Bill.paid).label("paid"))
        .group_by(Bill.estate_id, Bill.period)
        .order_by(Bill.estate_id, Bill.period.desc())
    )
    return session.execute(query).all()


# -- bill generation and payment (domain services; views only adapt them) ------------

#: bills are generated for units (by area or per household) and for let/sold spaces
_UNIT_BASES = {"per_area", "per_unit"}


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def arrears_before(today: dt.date, days: int) -> dt.date:
    """Bills of 账期 before this day are overdue by more than ``days``: a bill falls due at the
    end of its month, so it is late by more than N days once that end lies before today − N
    (month_end(p) < today − N exactly when p < month_start(today − N))."""
    return month_start(today - dt.timedelta(days=days))


@dataclass(frozen=True)
class ItemRun:
    """One fee item's bills for one month: the prices in force and on how many days each.

    计费起始时间 is a day: when a standard starts within the month, the month is billed
    pro rata by calendar days — the old price up to the day before, the new one from the
    day — and a first standard starting mid-month bills only its own days.
    """

    period: dt.date
    item_id: int
    basis: str
    #: (first day, last day, the standard, its unit price) in date order
    pieces: tuple[tuple[dt.date, dt.date, "FeeStandard", Decimal], ...]

    @property
    def month_days(self) -> int:
        return monthrange(self.period.year, self.period.month)[1]

    @property
    def standard(self) -> "FeeStandard":
        return self.pieces[-1][2]

    @property
    def price(self) -> Decimal:
        return self.pieces[-1][3]

    def weighted(self) -> Decimal:
        """Σ price × days: the month's price times the month's days."""
        return sum((price * ((last - first).days + 1) for first, last, _s, price in self.pieces), Decimal(0))

    def whole_month(self) -> bool:
        return len(self.pieces) == 1 and (self.pieces[0][1] - self.pieces[0][0]).days + 1 == self.month_days

    def per_unit_amount(self) -> Decimal:
        """A per-household or per-space price for the days billed, half up to the cent once."""
        return half_up_cents(Fraction(self.weighted()) / self.month_days)

    def note(self) -> str | None:
        """计费说明 printed on the bill: which price on which days."""
        if self.whole_month():
            return None
        parts = [f"{first:%m月%d日}至{last:%m月%d日} {decimal_text(price)} 元 × {(last - first).days + 1}/{self.month_days}"
                 for first, last, _s, price in self.pieces]
        return ("按日计费：" + "；".join(parts) + "；合计后四舍五入到分")[:300]


def half_up_cents(value: Fraction) -> Decimal:
    """A non-negative exact amount rounded half up to the cent."""
    return Decimal(int(value * 100 + Fraction(1, 2))) / 100


def item_runs(session: Session, estate_id: int, period: dt.date) -> list[ItemRun]:
    """What the month bills per fee item: the standard in force on the 1st, then each one
    taking effect within the month (per-time items are not billed monthly)."""
    last_day = period + relativedelta(months=1) - dt.timedelta(days=1)
    changes = session.execute(
        select(FeeStandard).where(FeeStandard.estate_id == estate_id, FeeStandard.state == "published",
                                  FeeStandard.effective_from > period, FeeStandard.effective_from <= last_day)
        .order_by(FeeStandard.effective_from, FeeStandard.version)
    ).scalars().all()
    by_day = {standard.effective_from: standard for standard in changes}  # the latest version of a day wins
    starts = [(period, in_force(session, estate_id, period)), *sorted(by_day.items(), key=lambda pair: pair[0])]
    pieces: dict[int, list[tuple[dt.date, dt.date, FeeStandard, FeeStandardLine]]] = {}
    for index, (first, standard) in enumerate(starts):
        if standard is None:
            continue
        last = starts[index + 1][0] - dt.timedelta(days=1) if index + 1 < len(starts) else last_day
        for line in standard.lines:
            if line.billing_basis != "per_time":
                pieces.setdefault(line.item_id, []).append((first, last, standard, line))
    runs = []
    for item_id, parts in pieces.items():
        bases = {line.billing_basis for *_rest, line in parts}
        if len(bases) > 1:
            item = session.get(FeeItem, item_id)
            raise Refused(f"{period:%Y年%m月}「{item}」的计费方式在月中改变（"
                          f"{'、'.join(BILLING_BASES.label(b) for b in sorted(bases))}），不能按日合并计费，请调整生效日期")
        runs.append(ItemRun(period, item_id, bases.pop(),
                            tuple((first, last, standard, line.unit_price) for first, last, standard, line in parts)))
    return runs


def billed_periods(session: Session, estate_id: int, periods: list[dt.date]) -> set[dt.date]:
    """The months among ``periods`` in which the estate has bills, read from the monthly totals
    the database keeps (a lookup by key). Asked of the bills themselves, the database plans on
    statistics that know nothing of the month being billed right now ("no bills of that month":
    read them by month) and read every bill of the month so far for each estate: a city's
    monthly run slowed from 6 to 30 seconds per 100 estates as the month filled up."""
    return set(session.scalars(select(BillMonthTotal.period).where(
        BillMonthTotal.estate_id == estate_id, BillMonthTotal.period.in_(periods), BillMonthTotal.bills > 0)))


def plan_bills(session: Session, estate: Estate, first: dt.date, months: int) -> list[ItemRun]:
    """What a bill run of these months will insert, checked before anything is written.

    Refuses when a period has no standard in force on any of its days or when any bill of
    the estate for the same item and period already exists.
    """
    if not 1 <= months <= 24:
        raise Refused("一次生成的月份数须在 1 到 24 之间")
    periods = [month_start(first) + relativedelta(months=i) for i in range(months)]
    billed = billed_periods(session, estate.id, periods)
    batches: list[ItemRun] = []
    for period in periods:  # check every month before writing any
        runs = item_runs(session, estate.id, period)
        if not runs:
            raise Refused(f"{period:%Y年%m月}没有生效的收费标准，不能生成账单")
        taken = period in billed and session.execute(
            select(Bill.item_id).where(Bill.estate_id == estate.id, Bill.period == period,
                                       Bill.item_id.in_([run.item_id for run in runs])).limit(1)
        ).first()
        if taken:
            item = session.get(FeeItem, taken.item_id)
            raise Refused(f"{period:%Y年%m月}的「{item}」账单已经生成过，不能重复生成")
        batches += runs
    return batches


def generate_bills(session: Session, estate: Estate, first: dt.date, months: int,
                   progress: Callable[[int, int], None] | None = None) -> int:
    """A batch of monthly bills for a whole estate, priced by the standards in force
    (:func:`plan_bills` says what, or why not). The database computes the bills (one
    INSERT ... SELECT per fee item and month): a 10,000-unit estate's year is 240,000 rows,
    which Python would build one Decimal at a time. ``progress(done, total)`` is told after
    each item and month (a bill run in the background)."""
    batches = plan_bills(session, estate, first, months)
    now = clock.utc_now()
    sqlite = session.get_bind().dialect.name == "sqlite"
    count = 0
    for done, run in enumerate(batches, 1):
        days, weighted = run.month_days, run.weighted()
        # raw SQL carries no scope criteria: the estate is the caller's, already read in scope
        count += session.execute(_bill_insert(run.basis, sqlite), execution_options={ALL_ESTATES: True}, params={
            "estate": estate.id, "item": run.item_id, "standard": run.standard.id, "period": run.period,
            "price": run.price, "weighted": int(weighted.scaleb(4)) if sqlite else weighted, "days": days,
            "scale": days * 10000, "half": days * 5000, "one": Decimal("1.00"), "fixed": run.per_unit_amount(),
            "zero": Decimal("0.00"), "note": run.note(), "now": now,
        }).rowcount
        if progress is not None:
            progress(done, len(batches))
    return count


def _bill_insert(basis: str, sqlite: bool):
    """INSERT ... SELECT of one fee item's bills for one month.

    Area-priced amounts are 建筑面积 × Σ(price × days) / days of the month, rounded half up
    to the cent once, in the database: on SQLite in integers (area in hundredths × price in
    ten-thousandths × days, + half the divisor, integer-divided by days × 10000: half up,
    exact), on PostgreSQL in NUMERIC (the quotient carries at least 16 significant digits,
    far finer than the 1/(31 × 10⁶) by which a non-tie can approach a half cent; round()
    rounds half away from zero). Per-household and per-space bills are the price for the
    days, rounded in Python.
    """
    from sqlalchemy import bindparam

    if basis == "per_area":
        quantity = "floor_area"
        amount = "(floor_area * :weighted + :half) / :scale" if sqlite else "round(floor_area * :weighted / :days, 2)"
    else:
        quantity, amount = ":one", ":fixed"
    source = ("FROM unit WHERE estate_id = :estate" if basis in _UNIT_BASES
              else "FROM parking_space WHERE estate_id = :estate AND status IN ('sold', 'rented')")
    payer = "id, NULL" if basis in _UNIT_BASES else "NULL, id"
    sql = (
        "INSERT INTO bill (estate_id, unit_id, space_id, item_id, standard_id, period, quantity, unit_price,"
        " amount, paid, outstanding, proration, created_at)"
        f" SELECT :estate, {payer}, :item, :standard, :period, {quantity}, :price, {amount}, :zero, {amount},"
        f" :note, :now {source} ORDER BY id"
    )
    types = {"period": Date(), "now": UTCDateTime(), "price": Price, "one": ExactDecimal(12, 2), "fixed": Money,
             "zero": Money, "weighted": Integer() if sqlite else Numeric(), "days": Integer(), "scale": Integer(),
             "half": Integer(), "note": String(300)}
    return text(sql).bindparams(*(bindparam(name, type_=kind) for name, kind in types.items() if f":{name}" in sql))


def record_payment(
    session: Session, bill: Bill, amount: Decimal, method: str, paid_on: dt.date,
    receipt_no: str | None = None, note: str | None = None,
) -> Payment:
    """A full or partial payment of one bill; the bill's balance moves in the same transaction."""
    from models.rules import violations

    # two cashiers cannot both settle the same balance: the second waits, then sees it paid
    bill = lock_row(session, bill)
    if amount is None or amount <= 0:
        raise Refused("缴费金额必须大于 0")
    if bill.outstanding == 0:
        raise Refused("该账单已结清，无需再缴费")
    if amount > bill.outstanding:
        raise Refused(f"缴费金额不能超过欠费金额 {bill.outstanding:f} 元")
    problems = violations(Payment, {"bill": bill, "amount": amount, "method": method, "paid_on": paid_on})
    if problems:
        raise Refused("；".join(message for _field, message in problems))
    payment = Payment(estate_id=bill.estate_id, bill=bill, amount=amount, method=method,
                      paid_on=paid_on, receipt_no=receipt_no, note=note)
    bill.paid = bill.paid + amount
    bill.outstanding = bill.amount - bill.paid
    session.add(payment)
    return payment
