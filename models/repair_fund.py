"""Repair fund (住宅专项维修资金): ledger, use applications and their approval, disbursement.

Ledger: one account per estate and a 分户账 per unit. Entries are append-only (the ORM
and database triggers refuse UPDATE/DELETE); a balance is the sum of its entries; a
mistake is corrected by a reversing entry that points at the original.

Use applications (使用方案, 165号令 第23条) follow :data:`FUND_FLOW`, one explicit state
machine holding the normal path (with the owners' vote, see ``models.fund_vote``) and the
emergency path (第24条, no vote). The vote's outcome is set by the tally, never by a
person; the payment apportions the actual cost over the units of the 列支范围 by area,
to the cent, in the same transaction as its ledger entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Select, String, Text, UniqueConstraint, and_,
    event, func, insert, literal_column, or_, select, text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.sqltypes import NullType

from models import clock
from models.base import (
    Admin, Choices, Derived, Document, Entity, Menu, Money, batches, fk, positive, unique_where, zh,
)
from models.clock import UTCDateTime, utc_now
from models.errors import Refused
from models.fees import cents
from models.estate import Building, Estate, Unit
from models.fund_vote import (
    BALLOT_CHOICES, FUND_MATTERS, ONE_BALLOT, Ballot, Rule, Tally, VoteResult, VoteRoll, VoteTally, code_matches,
    count_up, figures_of, kept_figures, roll_entries, rule_for, vote_may_close,
)
from models.governing_documents import silence_is_consent
from models.settings import Settings, settings_for
from models.workflow import Transition, Workflow

CENT = Decimal("0.01")

MANAGEMENT = Choices(("housing_bureau", "住建部门代管"), ("owners_assembly", "业主大会自管"))
ENTRY_KINDS = Choices(
    ("deposit", "交存"), ("top_up", "续交"), ("use", "使用分摊"), ("interest", "增值收益"),
    ("public_income", "公共收益转入"), ("refund", "退还"), ("transfer", "过户"),
)
#: money in (positive), money out (negative), and 过户: the balance stays with the unit
INFLOWS = ("deposit", "top_up", "interest", "public_income")
OUTFLOWS = ("use", "refund")

CATEGORIES = Choices(("major_repair", "大中修"), ("renewal", "更新改造"), ("emergency", "应急维修"))

STATES = Choices(
    ("draft", "草稿"), ("submitted", "待业委会审核"), ("returned", "已退回"),
    ("publicity", "方案公示"), ("voting", "业主表决"), ("vote_passed", "表决通过"), ("vote_failed", "表决未通过"),
    ("emergency_committee", "待业委会确认"), ("emergency_official", "待街道/社区确认"),
    ("in_progress", "实施中"), ("accepted", "已竣工验收"), ("overrun_review", "超预算待重新审批"),
    ("settled", "已决算"), ("transfer_requested", "已申请划转"), ("filed", "已备案"),
    ("paid", "已划转"), ("disclosed", "已决算公示"), ("archived", "已归档"),
)


def _sql_in(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# -- ledger --------------------------------------------------------------------------

class FundAccount(Entity):
    """维修资金账户: one per estate."""

    __tablename__ = "fund_account"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    bank_name: Mapped[str] = mapped_column(String(100), info=zh("开户银行"))
    account_no: Mapped[str] = mapped_column(String(40), info=zh("专户账号"))
    management: Mapped[str] = mapped_column(
        String(20), default="housing_bureau", info=zh("管理方式", "业主大会成立前由住建部门代管", choices=MANAGEMENT)
    )
    opened_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("开户日期"))

    __table_args__ = (
        UniqueConstraint("estate_id", name="uq_fund_account_estate", info={"message": "该小区已有维修资金账户"}),
        MANAGEMENT.constraint("management", "ck_fund_account_management"),
    )

    def __str__(self) -> str:
        return f"{self.estate} 维修资金账户"

    class Admin(Admin):
        label = "维修资金账户"
        menu = Menu.FUND
        icon = "fa-university"
        list_columns = ("estate", "bank_name", "account_no", "management", "opened_on")
        search_columns = ("estate", "management")
        str_loads = ("estate",)


def _entry_sign(values: dict) -> list[tuple[str, str]]:
    kind, amount = values.get("kind"), values.get("amount")
    if kind is None or amount is None:
        return []
    # the payment writes 使用分摊 naming its application; a form or REST body cannot name one
    if kind == "use" and values.get("application") is None and values.get("application_id") is None:
        return [("kind", "使用分摊只能由维修资金划转自动生成")]
    if kind in INFLOWS and amount <= 0:
        return [("amount", f"{ENTRY_KINDS.label(kind)}金额须大于 0")]
    if kind in OUTFLOWS and amount >= 0:
        return [("amount", f"{ENTRY_KINDS.label(kind)}金额须填负数（资金流出）")]
    if kind == "transfer" and amount != 0:
        return [("amount", "过户时分户账余额随房屋转移，金额填 0")]
    if values.get("unit") is None and kind in ("deposit", "top_up", "refund", "transfer"):
        return [("unit", f"{ENTRY_KINDS.label(kind)}须指定房屋")]
    return []


class FundEntry(Entity):
    """资金流水: an append-only ledger line of an estate's fund, usually of one unit."""

    __tablename__ = "fund_entry"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    unit_id: Mapped[int | None] = fk("unit.id", nullable=True)
    unit: Mapped[Unit | None] = relationship(info=zh("房屋", "留空为计入小区账户（如未分户的公共收益）"))
    kind: Mapped[str] = mapped_column(String(20), info=zh("类型", choices=ENTRY_KINDS))
    amount: Mapped[Decimal] = mapped_column(Money, info=zh("金额（元）", "流入为正，流出（退还）为负"))
    occurred_on: Mapped[dt.date] = mapped_column(Date, info=zh("发生日期"))
    application_id: Mapped[int | None] = fk("fund_application.id", nullable=True)
    application: Mapped[FundApplication | None] = relationship(info=zh("使用申请"))
    reverses_id: Mapped[int | None] = fk("fund_entry.id", nullable=True, index=False)  # its unique key below
    reverses: Mapped[FundEntry | None] = relationship(remote_side="FundEntry.id", info=zh("冲正的原流水"))
    note: Mapped[str | None] = mapped_column(String(200), info=zh("摘要"))
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=zh("记账时间"))

    __table_args__ = (
        ENTRY_KINDS.constraint("kind", "ck_fund_entry_kind"),
        # a correction reverses the sign of its original; everything else has its kind's sign
        CheckConstraint(
            f"reverses_id IS NOT NULL OR (kind IN ({_sql_in(INFLOWS)}) AND amount > 0)"
            f" OR (kind IN ({_sql_in(OUTFLOWS)}) AND amount < 0) OR (kind = 'transfer' AND amount = 0)",
            name="ck_fund_entry_sign",
        ),
        # only corrections: the ledger's other lines (all but a few) write no entry to it
        unique_where("uq_fund_entry_reverses", "reverses_id", present=("reverses_id",), message="该流水已经冲正过"),
        Index("ix_fund_entry_unit_kind", "unit_id", "kind"),
        Index("ix_fund_entry_estate_date", "estate_id", "occurred_on"),
    )

    def __str__(self) -> str:
        return f"{self.occurred_on} {ENTRY_KINDS.label(self.kind)} {self.amount:f}"

    class Admin(Admin):
        label = "资金流水"
        menu = Menu.FUND
        icon = "fa-exchange"
        list_columns = ("occurred_on", "estate", "unit", "kind", "amount", "application", "note")
        search_columns = ("estate", "kind", "occurred_on", "amount", "application")
        form_columns = ("estate", "unit", "kind", "amount", "occurred_on", "note")
        show_columns = ("estate", "unit", "kind", "amount", "occurred_on", "application", "reverses", "note", "created_at")
        order_by = ("occurred_on", "desc")
        large = True
        str_loads = ("unit",)
        rules = (_entry_sign,)
        actions = frozenset({"add"})  # never edited or deleted: corrected by a reversing entry
        extra_actions = frozenset({"reverse", "deposit"})
        append_only = True


def _no_negative_balance(session: Session, _context: Any, _instances: Any) -> None:
    """《住宅专项维修资金管理办法》: a 分户账 pays only what it holds. Whatever the kind of
    entry (退还, 冲正 of a deposit, a 使用分摊, 过户) and the route, no unit's balance may go
    below zero; the units are locked first, so two entries at once cannot both pass."""
    def unit_of(entry: FundEntry) -> int | None:  # a form or REST body sets the relation, not the key
        return entry.unit_id if entry.unit_id is not None else getattr(entry.unit, "id", None)

    new = [(unit_of(e), Decimal(e.amount)) for e in session.new
           if isinstance(e, FundEntry) and unit_of(e) is not None and e.amount is not None]
    outgoing = {unit for unit, amount in new if amount < 0}
    if not outgoing:
        return
    with session.no_autoflush:
        for chunk in batches(sorted(outgoing)):
            session.execute(select(Unit.id).where(Unit.id.in_(chunk)).with_for_update()).all()
        stored = balances(session, outgoing)
    for unit_id in sorted(outgoing):
        change = sum((amount for unit, amount in new if unit == unit_id), Decimal("0.00"))
        if stored[unit_id] + change < 0:
            unit = session.get(Unit, unit_id)
            raise Refused(f"{unit} 的分户账余额为 {stored[unit_id]:f} 元，本次记账 {change:f} 元后将为负数，"
                          f"不能记账；请先核实余额或续交")


event.listen(Session, "before_flush", _no_negative_balance)


def reverse_entry(session: Session, entry: FundEntry, reason: str) -> FundEntry:
    """冲正: a new entry with the opposite amount that points at the original."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused("冲正须填写原因")
    if entry.reverses_id is not None:
        raise Refused("冲正流水不能再冲正；如有错误请重新记账")
    if entry.kind == "use":
        raise Refused("使用分摊随划转一并记账，不能单独冲正")
    if session.scalar(select(FundEntry.id).where(FundEntry.reverses_id == entry.id)) is not None:
        raise Refused("该流水已经冲正过")
    correction = FundEntry(
        estate_id=entry.estate_id, unit_id=entry.unit_id, kind=entry.kind, amount=-entry.amount,
        occurred_on=clock.today(), reverses_id=entry.id, note=f"冲正：{reason}"[:200], created_at=utc_now(),
    )
    session.add(correction)
    return correction


def balances(session: Session, unit_ids: Iterable[int] | None = None, estate_id: int | None = None) -> dict[int, Decimal]:
    """分户账余额: unit id → sum of its entries (0 for a unit without any)."""
    query = select(FundEntry.unit_id, func.sum(FundEntry.amount)).where(FundEntry.unit_id.is_not(None))
    if estate_id is not None:
        query = query.where(FundEntry.estate_id == estate_id)
    if unit_ids is None:
        return {u: Decimal(total) for u, total in session.execute(query.group_by(FundEntry.unit_id))}
    ids = list(unit_ids)
    found: dict[int, Decimal] = {}
    for chunk in batches(ids):
        found.update({u: Decimal(total) for u, total in session.execute(
            query.where(FundEntry.unit_id.in_(chunk)).group_by(FundEntry.unit_id))})
    return {u: found.get(u, Decimal("0.00")) for u in ids}


def deposit_first(session: Session, estate: Estate, rate: Decimal, day: dt.date) -> int:
    """首期交存 for every unit of the estate that has none yet: 建筑面积 × 每㎡交存标准."""
    if rate is None or rate <= 0:
        raise Refused("交存标准须大于 0")
    has_deposit = select(FundEntry.unit_id).where(FundEntry.kind == "deposit", FundEntry.unit_id.is_not(None))
    units = session.execute(
        select(Unit.id, Unit.floor_area).where(Unit.estate_id == estate.id, Unit.id.not_in(has_deposit))
        .order_by(Unit.id)
    ).all()
    stamp = utc_now()
    rows = [dict(estate_id=estate.id, unit_id=unit_id, kind="deposit", amount=cents(area * rate),
                 occurred_on=day, note=f"首期交存 {area:f}㎡ × {rate:f} 元/㎡", created_at=stamp)
            for unit_id, area in units]
    if rows:
        session.execute(insert(FundEntry), rows)
    return len(rows)


class FundUnitTotal(Derived):
    """One 分户账's sums over its ledger entries (``unit_key`` 0: the estate's own entries, such
    as undivided public income), kept by the insert trigger of migration c3f7a9d1e5b8; the
    ledger is append-only, so an insert is the only change there is. The fund figures and
    续交预警 read one row per unit instead of summing half a million entries."""

    __tablename__ = "fund_unit_total"

    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), primary_key=True)
    unit_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: 交存、续交、收益 (INFLOWS), corrections of them included
    inflow: Mapped[Decimal] = mapped_column(Money)
    #: every outflow (negative entries)
    used: Mapped[Decimal] = mapped_column(Money)
    balance: Mapped[Decimal] = mapped_column(Money)
    #: the first deposit (首期交存) the 续交 threshold is a share of
    first_deposit: Mapped[Decimal] = mapped_column(Money)


class percent_left(FunctionElement):
    """The whole percent of the first deposit a unit's balance still is, rounded towards zero:
    an exact integer quotient on both databases (SQLite divides the integers it stores,
    models.base.ExactDecimal; PostgreSQL's ``div``), so an index can hold it. Without a first
    deposit (the estate's own row) it is NULL: PostgreSQL computes the expression's statistics
    over every row, and a division by zero would make each ANALYZE of the table fail."""

    type = Integer()
    inherit_cache = True
    name = "percent_left"


@compiles(percent_left)
def _percent_left(element: percent_left, compiler: Any, **kw: Any) -> str:
    balance, first_deposit = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{balance} * 100 / {first_deposit}"


@compiles(percent_left, "postgresql")
def _percent_left_postgresql(element: percent_left, compiler: Any, **kw: Any) -> str:
    balance, first_deposit = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"div({balance} * 100, nullif({first_deposit}, 0))"


class rarely(FunctionElement):
    """A condition few rows meet. SQLite's planner keeps no statistics of ranges and would
    rather read a table in its GROUP BY order than search an index for them: it is told
    (``unlikely``). PostgreSQL estimates it from its own statistics."""

    type = NullType()  # a Boolean would be compared "= 1" on SQLite, which no index matches
    inherit_cache = True
    name = "rarely"


@compiles(rarely)
def _rarely(element: rarely, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(rarely, "sqlite")
def _rarely_sqlite(element: rarely, compiler: Any, **kw: Any) -> str:
    return f"unlikely({compiler.process(element.clauses, **kw)})"


#: the units of a unit row (not the estate's own) with a first deposit, by the percent left
UNITS_WITH_A_FIRST_DEPOSIT = "unit_key != 0 AND first_deposit > 0"
Index("ix_fund_unit_total_percent_left", percent_left(FundUnitTotal.balance, FundUnitTotal.first_deposit),
      sqlite_where=text(UNITS_WITH_A_FIRST_DEPOSIT), postgresql_where=text(UNITS_WITH_A_FIRST_DEPOSIT))


class FundEstateTotal(Derived):
    """An estate's fund sums over all its ledger entries (the 分户账 and its own), kept by the
    insert trigger of migration 9a4e1c7b2d50: the jurisdiction's figure reads one row per estate."""

    __tablename__ = "fund_estate_total"

    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), primary_key=True)
    inflow: Mapped[Decimal] = mapped_column(Money)
    used: Mapped[Decimal] = mapped_column(Money)
    balance: Mapped[Decimal] = mapped_column(Money)


def in_top_up_warning(threshold_percent: int) -> Any:
    """续交预警 (SQL) of a unit's ``FundUnitTotal`` row (the estate's own row never is): the
    balance fell below ``threshold_percent`` % of the first deposit. The exact comparison
    decides; the whole percent left (at most the threshold whenever the balance is below it)
    lets the database read the few such units from ``ix_fund_unit_total_percent_left``
    instead of all of them. The zeros are written into the SQL, not bound, as the index's
    condition is written."""
    total, zero = FundUnitTotal, literal_column("0")
    return and_(total.unit_key != zero, total.first_deposit > zero,
                rarely(percent_left(total.balance, total.first_deposit) <= threshold_percent),
                total.balance * 100 < total.first_deposit * threshold_percent)


def top_up_units(threshold_percent: int):
    """续交预警 as a query: (unit_id, estate_id, first_deposit, balance) of each unit in warning."""
    total = FundUnitTotal
    return (select(total.unit_key.label("unit_id"), total.estate_id, total.first_deposit, total.balance)
            .where(in_top_up_warning(threshold_percent)))


def top_up_warnings(session: Session, threshold_percent: int, estate_id: int | None = None):
    """The 续交预警 rows of :func:`top_up_units`, by estate and unit."""
    query = top_up_units(threshold_percent).order_by(FundUnitTotal.estate_id, FundUnitTotal.unit_key)
    if estate_id is not None:
        query = query.where(FundUnitTotal.estate_id == estate_id)
    return session.execute(query).all()


# -- apportionment -------------------------------------------------------------------

def apportion(amount: Decimal, weights: Mapping[int, Decimal]) -> dict[int, Decimal]:
    """Split ``amount`` over the keys by weight, to the cent, summing exactly to ``amount``.

    Each key gets the floor of its exact share in cents; the cents left over go one each
    to the largest remainders (ties: the smaller key first), so the result is deterministic.
    """
    total_cents = int((amount / CENT).to_integral_value())
    if Decimal(total_cents) * CENT != amount:
        raise Refused("分摊金额最多两位小数")
    if total_cents < 0:
        raise Refused("分摊金额不能为负数")
    units = {key: int((w / CENT).to_integral_value()) for key, w in weights.items()}
    if any(w <= 0 for w in units.values()):
        raise Refused("分摊面积必须大于 0")
    whole = sum(units.values())
    if whole == 0:
        raise Refused("列支范围内没有房屋，不能分摊")
    shares: dict[int, int] = {}
    remainders: list[tuple[int, int]] = []
    for key, weight in units.items():
        share, remainder = divmod(total_cents * weight, whole)
        shares[key] = share
        remainders.append((-remainder, key))
    left = total_cents - sum(shares.values())
    for _remainder, key in sorted(remainders)[:left]:
        shares[key] += 1
    return {key: Decimal(share) * CENT for key, share in shares.items()}


# -- use applications ----------------------------------------------------------------

def _is_emergency(app: FundApplication) -> bool:
    return app.category == "emergency"


def _is_normal(app: FundApplication) -> bool:
    return app.category != "emergency"


def _check_plan(app: FundApplication, session: Session) -> str | None:
    if not app.exclusion_declared:
        return "须声明本次费用不属于不得列支的四类情形（开发建设单位保修责任、专业经营单位设施、人为损坏、物业服务合同约定的日常养护）"
    if not session.scalar(select(electorate(app).exists())):
        return "列支范围为空：请至少添加一栋楼或一套房屋"
    return None


def _check_emergency(app: FundApplication, session: Session) -> str | None:
    kinds = emergency_kinds(Settings.current(session))
    if app.emergency_kind not in kinds:
        return f"应急维修须属于以下紧急情况之一：{'、'.join(kinds)}"
    return _check_plan(app, session)


def emergency_kinds(settings: Settings) -> list[str]:
    text = settings.fund_emergency_kinds or ""
    return [k.strip() for k in text.replace(",", "、").replace("，", "、").split("、") if k.strip()]


def _start_publicity(app: FundApplication, session: Session) -> None:
    days = settings_for(session, app.estate_id).fund_publicity_days
    app.publicity_from = clock.today()
    app.publicity_until = app.publicity_from + dt.timedelta(days=days - 1) if days else app.publicity_from - dt.timedelta(days=1)


def _publicity_over(app: FundApplication, session: Session) -> str | None:
    if app.publicity_until is not None and clock.today() <= app.publicity_until:
        return f"方案公示期至 {app.publicity_until:%Y年%m月%d日}，公示期满后方可开始表决"
    from models.owners_assembly import deciding_meeting  # the meetings build on this module

    meeting = deciding_meeting(session, app)
    if meeting is not None:
        return f"本方案已列入业主大会会议「{meeting.title}」的议程，由该会议表决，不再单独表决"
    return None


def _open_vote(app: FundApplication, session: Session) -> None:
    open_roll(session, app)
    app.vote_from = clock.today()
    app.vote_until = app.vote_from + dt.timedelta(days=max(settings_for(session, app.estate_id).fund_vote_days - 1, 0))


def _vote_may_close(app: FundApplication, session: Session) -> str | None:
    kept = session.execute(select(VoteTally.choice, VoteTally.persons).where(VoteTally.application_id == app.id)).all()
    persons, cast = sum(n for _, n in kept), sum(n for choice, n in kept if choice)
    return vote_may_close(app.vote_until, persons, cast)


def _vote_outcome(app: FundApplication, session: Session) -> str:
    return "vote_passed" if record_result(session, app).passed else "vote_failed"


def _check_settlement(app: FundApplication, session: Session) -> str | None:
    if app.actual_cost is None or app.actual_cost <= 0:
        return "请先在编辑页填写决算金额"
    threshold = settings_for(session, app.estate_id).fund_audit_threshold
    if app.actual_cost > threshold and not app.audit_report:
        return f"决算金额超过 {threshold} 元，须上传审价（审计）报告"
    return None


def _settlement_outcome(app: FundApplication, session: Session) -> str:
    """An actual cost ≥ the overrun percentage over budget goes back for approval."""
    percent = settings_for(session, app.estate_id).fund_overrun_percent
    return "overrun_review" if app.actual_cost * 100 >= app.budget * (100 + percent) else "settled"


def _payable(app: FundApplication, session: Session) -> str | None:
    short = shortfalls(session, app)
    if short:
        listed = "、".join(f"{label}（应摊 {share:f} 元，余额 {balance:f} 元）" for label, share, balance in short[:10])
        more = f"等 {len(short)} 户" if len(short) > 10 else ""
        return f"以下房屋分户账余额不足，须先续交：{listed}{more}"
    return None


def _pay(app: FundApplication, session: Session) -> None:
    disburse(session, app)


def _stamp_disclosure(app: FundApplication, _session: Session) -> None:
    app.disclosed_on = clock.today()


FUND_FLOW = Workflow(
    states=STATES,
    transitions=(
        # the normal path: plan, review, publicity, the owners' vote
        Transition("submit", "提交业委会审核", ("draft", "returned"), "submitted", guard=_check_plan, applies=_is_normal),
        Transition("approve", "审核通过并公示", ("submitted",), "publicity", effect=_start_publicity, style="success"),
        Transition("return", "退回修改", ("submitted", "emergency_committee"), "returned",
                   comment_required=True, style="warning"),
        Transition("open_vote", "开始业主表决", ("publicity",), "voting", guard=_publicity_over, effect=_open_vote),
        Transition("close_vote", "结束表决并计票", ("voting",), "vote_failed", guard=_vote_may_close,
                   outcome=_vote_outcome, style="danger"),
        Transition("start_work", "开始施工", ("vote_passed",), "in_progress"),
        # the emergency path (第24条): confirmations instead of a vote
        Transition("submit_emergency", "提交应急维修", ("draft", "returned"), "emergency_committee",
                   guard=_check_emergency, applies=_is_emergency, style="danger"),
        Transition("confirm_emergency", "业委会确认", ("emergency_committee",), "emergency_official", style="success"),
        Transition("confirm_official", "街道/社区确认", ("emergency_official",), "in_progress", style="success"),
        Transition("reject_official", "街道/社区退回", ("emergency_official",), "returned", comment_required=True,
                   style="warning"),
        # both paths: acceptance, settlement, payment, disclosure
        Transition("accept", "竣工验收", ("in_progress",), "accepted", style="success"),
        Transition("settle", "提交决算", ("accepted",), "settled", guard=_check_settlement, outcome=_settlement_outcome),
        Transition("approve_overrun", "同意超预算决算", ("overrun_review",), "settled", comment_required=True,
                   style="success"),
        Transition("return_overrun", "退回决算", ("overrun_review",), "accepted", comment_required=True, style="warning"),
        Transition("request_transfer", "申请划转", ("settled",), "transfer_requested", guard=_payable, applies=_is_normal),
        Transition("file", "备案", ("transfer_requested",), "filed", style="success"),
        Transition("pay", "确认划转", ("filed",), "paid", guard=_payable, effect=_pay, style="danger",
                   applies=_is_normal),
        Transition("pay_emergency", "确认划转", ("settled",), "paid", guard=_payable, effect=_pay, style="danger",
                   applies=_is_emergency),
        Transition("disclose", "决算公示", ("paid",), "disclosed", effect=_stamp_disclosure),
        Transition("archive", "归档", ("disclosed", "vote_failed"), "archived"),
    ),
    frozen=frozenset(STATES.codes) - {"draft", "returned"},
    # what is still written after approval: the actual cost and its documents
    editable={state: frozenset({"actual_cost", "audit_report", "acceptance_note"})
              for state in ("in_progress", "accepted")},
)


class FundApplication(Entity):
    """维修资金使用申请（使用方案）."""

    __tablename__ = "fund_application"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    title: Mapped[str] = mapped_column(String(100), info=zh("项目名称"))
    category: Mapped[str] = mapped_column(String(20), default="major_repair", info=zh("类别", choices=CATEGORIES))
    emergency_kind: Mapped[str | None] = mapped_column(
        String(30), info=zh("紧急情况", "应急维修必填，须为系统设置中的紧急情况之一，如 电梯故障")
    )
    matter: Mapped[str] = mapped_column(
        String(20), default="use", info=zh("表决事项", "决定适用的表决规则", choices=FUND_MATTERS)
    )
    repair_part: Mapped[str] = mapped_column(String(200), info=zh("维修部位"))
    budget: Mapped[Decimal] = mapped_column(Money, info=zh("费用预算（元）", check=positive))
    contractor: Mapped[str] = mapped_column(String(100), info=zh("维修单位"))
    plan: Mapped[str] = mapped_column(Text, info=zh("实施计划", "工期、施工方案、质量要求"))
    attachment: Mapped[str | None] = mapped_column(Document(255), info=zh("方案附件", "预算书、施工方案等（PDF 或图片）"))
    exclusion_declared: Mapped[bool] = mapped_column(
        Boolean, default=False,
        info=zh("不属于不得列支情形", "声明本次费用不属于开发建设单位保修责任、专业经营单位设施、人为损坏、物业服务合同约定的日常养护"),
    )
    state: Mapped[str] = mapped_column(String(24), default="draft", info=zh("状态", choices=STATES))
    publicity_from: Mapped[dt.date | None] = mapped_column(Date, info=zh("公示开始"))
    publicity_until: Mapped[dt.date | None] = mapped_column(Date, info=zh("公示截止"))
    vote_from: Mapped[dt.date | None] = mapped_column(Date, info=zh("表决开始"))
    vote_until: Mapped[dt.date | None] = mapped_column(Date, info=zh("表决截止"))
    actual_cost: Mapped[Decimal | None] = mapped_column(Money, info=zh("决算金额（元）", check=positive))
    audit_report: Mapped[str | None] = mapped_column(Document(255), info=zh("审价报告", "决算金额超过审价门槛时必须上传"))
    acceptance_note: Mapped[str | None] = mapped_column(String(500), info=zh("验收意见"))
    paid_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("划转日期"))
    disclosed_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("决算公示日期"))
    # the vote rule in force when the vote opened (a later change of the rules does not apply)
    rule_quorum: Mapped[str | None] = mapped_column(String(10))
    rule_approval: Mapped[str | None] = mapped_column(String(10))
    rule_strict: Mapped[bool | None] = mapped_column(Boolean)
    rule_base: Mapped[str | None] = mapped_column(String(20))
    # fixed when the vote opens from the estate's 管理规约 / 议事规则 then in force, as at a meeting
    silent_consent: Mapped[bool | None] = mapped_column(
        Boolean, info=zh("未参与表决视为同意", "开始表决时按本小区现行管理规约、议事规则的约定确定"),
    )
    scope: Mapped[list[FundScope]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="FundScope.id", info=zh("列支范围"),
    )

    __table_args__ = (
        CATEGORIES.constraint("category", "ck_fund_application_category"),
        FUND_MATTERS.constraint("matter", "ck_fund_application_matter"),
        STATES.constraint("state", "ck_fund_application_state"),
        CheckConstraint("budget > 0", name="ck_fund_application_budget"),
        CheckConstraint("actual_cost IS NULL OR actual_cost > 0", name="ck_fund_application_cost"),
    )

    def __str__(self) -> str:
        return self.title

    def workflow_notes(self, session: Session) -> list[str]:
        notes = []
        if self.state == "publicity" and self.publicity_until:
            notes.append(f"方案公示期 {self.publicity_from:%Y-%m-%d} 至 {self.publicity_until:%Y-%m-%d}。")
        if self.state == "voting" and self.vote_until:
            notes.append(f"表决期至 {self.vote_until:%Y-%m-%d}；表决结果由计票自动得出。")
        if self.state in ("in_progress", "accepted"):
            notes.append("竣工后在编辑页填写决算金额；超过审价门槛须上传审价报告；超预算达到设置比例须重新审批。")
        return notes

    class Admin(Admin):
        label = "维修资金使用申请"
        menu = Menu.FUND
        icon = "fa-wrench"
        list_columns = ("estate", "title", "category", "budget", "actual_cost", "state")
        search_columns = ("estate", "title", "category", "state", "vote_until")
        form_columns = (
            "estate", "title", "category", "emergency_kind", "matter", "repair_part", "budget", "contractor",
            "plan", "attachment", "exclusion_declared", "actual_cost", "audit_report", "acceptance_note",
        )
        show_columns = (
            "estate", "title", "category", "emergency_kind", "matter", "repair_part", "budget", "contractor", "plan",
            "attachment", "exclusion_declared", "state", "publicity_from", "publicity_until", "vote_from",
            "vote_until", "silent_consent", "actual_cost", "audit_report", "acceptance_note", "paid_on", "disclosed_on",
        )
        order_by = ("id", "desc")
        workflow = FUND_FLOW
        extra_actions = frozenset({"ballot"})  # 录入纸质表决票
        details = ("scope",)


class FundScope(Entity):
    """列支范围: a whole building or one unit sharing the cost of an application."""

    __tablename__ = "fund_scope"

    application_id: Mapped[int] = fk("fund_application.id", ondelete="CASCADE")
    application: Mapped[FundApplication] = relationship(back_populates="scope", info=zh("使用申请"))
    building_id: Mapped[int | None] = fk("building.id", nullable=True)
    building: Mapped[Building | None] = relationship(info=zh("楼栋", "整栋列支"))
    unit_id: Mapped[int | None] = fk("unit.id", nullable=True)
    unit: Mapped[Unit | None] = relationship(info=zh("房屋", "单户列支（不选楼栋时）"))

    __table_args__ = (
        CheckConstraint("(building_id IS NULL) <> (unit_id IS NULL)", name="ck_fund_scope_one_target"),
        UniqueConstraint("application_id", "building_id", name="uq_fund_scope_building",
                         info={"message": "该楼栋已在列支范围中"}),
        UniqueConstraint("application_id", "unit_id", name="uq_fund_scope_unit", info={"message": "该房屋已在列支范围中"}),
    )

    def __str__(self) -> str:
        return str(self.building or self.unit)

    class Admin(Admin):
        label = "列支范围"
        menu = Menu.FUND
        icon = "fa-object-group"
        list_columns = ("application", "building", "unit")
        # no building/unit select boxes in the search form: they would load every building and unit
        search_columns = ("application",)
        form_columns = ("application", "building", "unit")
        scope_path = "application.estate_id"
        str_loads = ("building", "unit")
        frozen_by = "application"
        rules = (lambda v: [] if (v.get("building") is None) != (v.get("unit") is None)
                 else [("building", "请选择一栋楼或一套房屋（二选一）")],)


def in_electorate(app: FundApplication) -> Any:
    """A unit is in the 列支范围 (a whole building of it, or the unit itself), as a condition on
    ``Unit``: the pages and the payment count, sum and read areas through it instead of sending
    10,000 ids back to the database. Flat, not ``id IN (… UNION …)``: the database reads the
    estate's units once (10 ms -> 1.6 ms over 10,000 units on SQLite)."""
    scope = FundScope.application_id == app.id
    return and_(Unit.estate_id == app.estate_id, or_(
        Unit.building_id.in_(select(FundScope.building_id).where(scope, FundScope.building_id.is_not(None))),
        Unit.id.in_(select(FundScope.unit_id).where(scope, FundScope.unit_id.is_not(None)))))


def electorate(app: FundApplication) -> Select:
    """The ids of the units of the 列支范围, each once."""
    return select(Unit.id).where(in_electorate(app))


# -- the vote ------------------------------------------------------------------------

NOT_ON_ROLL, WRONG_CODE = "该房屋不在本次表决的列支范围内", "电子投票码不正确"


def open_roll(session: Session, app: FundApplication) -> int:
    """Fix the electorate: each unit's area and the person it counts towards (第8/9条)."""
    entries = roll_entries(session, electorate(app), app.vote_from or clock.today())
    if not entries:
        raise Refused("列支范围为空，不能表决")
    rows = [dict(application_id=app.id, estate_id=app.estate_id, **entry) for entry in entries]
    for chunk in batches(rows):
        session.execute(insert(VoteRoll), chunk)
    rule = rule_for(session, app.estate.community.street.district_id, app.matter)
    app.rule_quorum, app.rule_approval = str(rule.quorum), str(rule.approval)
    app.rule_strict, app.rule_base = rule.strict, rule.base
    app.silent_consent = silence_is_consent(session, app.estate_id)
    return len(rows)


#: the step the count of a 业主大会会议 takes for an application on its agenda (no button: the count
#: does), recorded in the application's history as done by the assembly
COUNTED_AT_MEETING = Transition("count_at_meeting", "业主大会会议计票", ("publicity",), "vote_failed")
THE_ASSEMBLY = SimpleNamespace(id=None, username="业主大会")


def decided_at_meeting(session: Session, app: FundApplication, result: Tally, meeting: Any, matter_title: str,
                       at: dt.datetime) -> None:
    """The whole estate decided the application as a matter of ``meeting``: the meeting's count
    is its result, stored with its figures and rule, and it moves on as its own count would."""
    target = "vote_passed" if result.passed else "vote_failed"
    app._firing_transition = True  # the count moves a frozen row, as a transition's effect would
    try:
        app.rule_quorum, app.rule_approval = str(result.rule.quorum), str(result.rule.approval)
        app.rule_strict, app.rule_base = result.rule.strict, result.rule.base
        app.vote_from, app.vote_until, app.silent_consent = meeting.vote_from, meeting.vote_until, meeting.silent_consent
        session.add(VoteResult(application_id=app.id, estate_id=app.estate_id, **figures_of(result), computed_at=at))
        previous, app.state = app.state, target
        FUND_FLOW.record(session, app, COUNTED_AT_MEETING, previous, target,
                         f"由{matter_title}表决：{'通过' if result.passed else '未通过'}", THE_ASSEMBLY)
        session.flush()
    finally:
        app.__dict__.pop("_firing_transition", None)


def vote_rule(app: FundApplication) -> Rule:
    """The rule fixed when the vote opened (a later change of the settings does not apply)."""
    return Rule(Fraction(app.rule_quorum), Fraction(app.rule_approval), bool(app.rule_strict), app.rule_base)


def current_tally(session: Session, app: FundApplication) -> Tally:
    """The live count from the figures the database keeps per choice (``VoteTally``), handed
    to the same arithmetic as ``fund_vote.tally`` (the tests hold the two to each other)."""
    area, units, heads = kept_figures(session.execute(
        select(VoteTally).where(VoteTally.application_id == app.id)).scalars())
    # silence is consent only where the estate's rules in force when the vote opened say so
    return count_up(area, heads, units, vote_rule(app), bool(app.silent_consent))


def record_result(session: Session, app: FundApplication) -> Tally:
    """Close the count: store the outcome with the numbers it came from."""
    result = current_tally(session, app)
    session.add(VoteResult(application_id=app.id, estate_id=app.estate_id, **figures_of(result), computed_at=utc_now()))
    return result


def covered_by(session: Session, ballot: Ballot) -> tuple[int, Decimal]:
    """The units and area of the roll a ballot is counted for (all of its person's)."""
    units, area = session.execute(select(func.count(), func.sum(VoteRoll.area)).where(
        VoteRoll.application_id == ballot.application_id, VoteRoll.person == ballot.person)).one()
    return units, area


def cast_ballot(session: Session, app: FundApplication, unit_id: int, choice: str, *, channel: str,
                recorded_by: str, scan: str | None = None, code: str | None = None) -> Ballot:
    """The ballot of the person a unit of the roll belongs to, counted for all of that
    person's units; refused (nothing written) when not allowed."""
    if app.state != "voting":
        raise Refused(f"当前状态为「{STATES.label(app.state)}」，不在表决期内")
    if choice not in BALLOT_CHOICES.codes:
        raise Refused("请选择表决意见：同意、反对或弃权")
    roll = session.execute(
        select(VoteRoll).where(VoteRoll.application_id == app.id, VoteRoll.unit_id == unit_id)
    ).scalar_one_or_none()
    if roll is None:
        raise Refused(NOT_ON_ROLL)
    if channel == "paper" and not scan:
        raise Refused("纸质表决票须上传扫描件")
    if channel == "electronic" and not code_matches(session, VoteRoll, VoteRoll.application_id == app.id,
                                                    roll.person, code):
        raise Refused(WRONG_CODE)
    # one ballot per person (建筑物区分所有权解释第九条): a ballot through any of their units is theirs
    if session.scalar(select(Ballot.id).where(Ballot.application_id == app.id, Ballot.person == roll.person)):
        raise Refused(ONE_BALLOT)
    ballot = Ballot(application_id=app.id, estate_id=app.estate_id, unit_id=unit_id, person=roll.person,
                    choice=choice, channel=channel, scan=scan, recorded_by=recorded_by[:100], cast_at=utc_now())
    try:
        # two ballots of one person at the same moment: the database's unique key decides
        with session.begin_nested():
            session.add(ballot)
    except IntegrityError:
        raise Refused(ONE_BALLOT) from None
    return ballot


# -- payment -------------------------------------------------------------------------

class FundPayment(Entity):
    """划转记录: the payment of an application, apportioned in the same transaction."""

    __tablename__ = "fund_payment"

    application_id: Mapped[int] = fk("fund_application.id")
    application: Mapped[FundApplication] = relationship(info=zh("使用申请"))
    estate_id: Mapped[int] = fk("estate.id")
    amount: Mapped[Decimal] = mapped_column(Money, info=zh("划转金额（元）"))
    units: Mapped[int] = mapped_column(Integer, info=zh("分摊户数"))
    paid_on: Mapped[dt.date] = mapped_column(Date, info=zh("划转日期"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=zh("记账时间"))

    __table_args__ = (
        UniqueConstraint("application_id", name="uq_fund_payment_application", info={"message": "该申请已经划转"}),
        CheckConstraint("amount > 0", name="ck_fund_payment_amount"),
    )

    def __str__(self) -> str:
        return f"{self.paid_on} {self.amount:f}"

    class Admin(Admin):
        label = "划转记录"
        menu = Menu.FUND
        icon = "fa-send"
        list_columns = ("paid_on", "application", "amount", "units")
        search_columns = ("application", "paid_on")
        order_by = ("paid_on", "desc")
        actions = frozenset()  # written by the 确认划转 transition
        append_only = True


def planned_shares(session: Session, app: FundApplication) -> dict[int, Decimal]:
    """Each unit's share of the actual cost, by 建筑面积."""
    areas = session.execute(select(Unit.id, Unit.floor_area).where(in_electorate(app))).all()
    return apportion(app.actual_cost, dict(areas))


def shortfalls(session: Session, app: FundApplication) -> list[tuple[str, Decimal, Decimal]]:
    """Units whose 分户账 cannot cover their share: (unit, share, balance), before paying."""
    shares = planned_shares(session, app)
    current = balances(session, shares)
    short = [unit_id for unit_id, share in shares.items() if current[unit_id] < share]
    if not short:
        return []
    names = {}
    for chunk in batches(short):
        names.update({u.id: str(u) for u in session.execute(select(Unit).where(Unit.id.in_(chunk))).scalars()})
    return [(names[u], shares[u], current[u]) for u in short]


def disburse(session: Session, app: FundApplication) -> FundPayment:
    """划转: the payment record and one 使用分摊 entry per unit, in one transaction."""
    if session.scalar(select(FundPayment.id).where(FundPayment.application_id == app.id)):
        raise Refused("该申请已经划转")
    shares = planned_shares(session, app)
    today, stamp = clock.today(), utc_now()
    payment = FundPayment(application_id=app.id, estate_id=app.estate_id, amount=app.actual_cost,
                          units=len(shares), paid_on=today, created_at=stamp)
    session.add(payment)
    rows = [dict(estate_id=app.estate_id, unit_id=unit_id, kind="use", amount=-share, occurred_on=today,
                 application_id=app.id, note=f"{app.title} 分摊"[:200], created_at=stamp)
            for unit_id, share in shares.items() if share > 0]
    for chunk in batches(rows):
        session.execute(insert(FundEntry), chunk)
    app.paid_on = today
    return payment
