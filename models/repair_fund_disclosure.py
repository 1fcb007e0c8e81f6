"""维修资金公开 (165号令 第30条): per estate and period, the figures the owners are shown.

Totals by kind, the uses of the period with their per-unit apportionment, and every
分户账 (opening balance, movements, closing balance). Every figure is a SQL aggregate
(GROUP BY), so the report costs a handful of queries at any estate size.

The functions take ``options`` (execution options) so that one code serves both the
signed-in admin page (the session's estate scope applies) and the public page, which
reads across estates explicitly (``ALL_ESTATES``) and adds its own restrictions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.orm import Session

from models.base import Money
from models.estate import Building, Unit, reading_order
from models.fund_vote import VoteResult
from models.repair_fund import CATEGORIES, STATES, FundApplication, FundEntry, FundPayment, FundScope

ZERO = Decimal("0.00")

#: states in which a use application's plan is public (方案公示 and everything after it)
PUBLISHED_PLAN_STATES = (
    "publicity", "voting", "vote_passed", "vote_failed", "in_progress", "accepted", "overrun_review", "settled",
    "transfer_requested", "filed", "paid", "disclosed", "archived",
)


# -- periods ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A disclosure period: both days included."""

    start: dt.date
    end: dt.date

    @property
    def key(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def label(self) -> str:
        months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
        if self.start.month == 1 and months == 12 and self.start.day == 1 and self.end == dt.date(self.start.year, 12, 31):
            return f"{self.start.year} 年度"
        if self.start.day == 1 and self.end == self.start + relativedelta(months=months) - dt.timedelta(days=1):
            return f"{self.start:%Y年%m月}至{self.end:%Y年%m月}"
        return f"{self.start:%Y年%m月%d日}至{self.end:%Y年%m月%d日}"


def period_of(day: dt.date, months: int) -> Period:
    """The period of ``months`` months containing ``day``, aligned to 1 January (yearly,
    half-yearly, quarterly: calendar periods)."""
    months = max(int(months), 1)
    index = (day.year * 12 + day.month - 1) // months * months
    start = dt.date(index // 12, index % 12 + 1, 1)
    return Period(start, start + relativedelta(months=months) - dt.timedelta(days=1))


def parse_period(key: str | None, months: int) -> Period | None:
    """A period from its key (its first month, ``YYYY-MM``); None when not a period start."""
    try:
        day = dt.datetime.strptime((key or "").strip(), "%Y-%m").date()
    except ValueError:
        return None
    period = period_of(day, months)
    return period if period.start == day else None


def periods(session: Session, estate_id: int, months: int, today: dt.date, options: dict | None = None) -> list[Period]:
    """The periods from the estate's first entry up to the one containing today, newest first."""
    first = session.execute(
        select(func.min(FundEntry.occurred_on)).where(FundEntry.estate_id == estate_id), execution_options=options or {},
    ).scalar()
    current = period_of(today, months)
    if first is None or first > today:
        return [current]
    found, period = [], period_of(first, months)
    while period.start <= current.start:
        found.append(period)
        period = period_of(period.end + dt.timedelta(days=1), months)
    return found[::-1]


# -- the report ------------------------------------------------------------------------

def _money(expression):
    """A SUM over a Money column that keeps Money's exact decimal type (0 when empty)."""
    return type_coerce(func.coalesce(func.sum(expression), 0), Money)


def _when(condition) -> object:
    return case((condition, FundEntry.amount), else_=0)


@dataclass
class UseLine:
    """One use of the period: the paid application and what each unit bore."""

    application_id: int
    title: str
    category: str
    repair_part: str
    contractor: str
    budget: Decimal
    cost: Decimal
    paid_on: dt.date
    disclosed_on: dt.date | None
    #: (unit label, area, share) — the 使用分摊 entries of the application
    shares: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)

    @property
    def category_label(self) -> str:
        return CATEGORIES.label(self.category)


@dataclass
class LedgerLine:
    """One 分户账 in the period."""

    unit_id: int
    label: str
    area: Decimal
    opening: Decimal
    deposits: Decimal
    uses: Decimal
    interest: Decimal
    other: Decimal
    closing: Decimal


@dataclass
class Disclosure:
    estate_id: int
    period: Period
    opening: Decimal
    #: signed sums of the period by entry kind (outflows negative)
    by_kind: dict[str, Decimal]
    closing: Decimal
    uses: list[UseLine]
    ledgers: list[LedgerLine]
    #: the part of the closing balance not kept on any 分户账 (e.g. undivided public income)
    undivided: Decimal

    def kind(self, *kinds: str) -> Decimal:
        return sum((self.by_kind.get(k, ZERO) for k in kinds), ZERO)

    @property
    def deposits(self) -> Decimal:
        """交存 (首期交存 and 续交)."""
        return self.kind("deposit", "top_up")

    @property
    def used(self) -> Decimal:
        """使用 as a positive amount."""
        return -self.kind("use")

    @property
    def interest(self) -> Decimal:
        return self.kind("interest")

    @property
    def public_income(self) -> Decimal:
        return self.kind("public_income")

    @property
    def refunded(self) -> Decimal:
        """退还 as a positive amount."""
        return -self.kind("refund")



def _label(building: str, room: str) -> str:
    return f"{building} {room}"


def disclose(session: Session, estate_id: int, period: Period, options: dict | None = None) -> Disclosure:
    """The disclosure of one estate for one period (figures as of the period's last day)."""
    options = options or {}
    start, end = period.start, period.end
    of_estate = FundEntry.estate_id == estate_id
    in_period = FundEntry.occurred_on.between(start, end)
    opening, closing = session.execute(
        select(_money(_when(FundEntry.occurred_on < start)), _money(_when(FundEntry.occurred_on <= end)))
        .where(of_estate), execution_options=options,
    ).one()
    by_kind = dict(session.execute(
        select(FundEntry.kind, _money(FundEntry.amount)).where(of_estate, in_period).group_by(FundEntry.kind),
        execution_options=options,
    ).all())
    ledgers = _ledgers(session, estate_id, period, options)
    undivided = closing - sum((line.closing for line in ledgers), ZERO)
    return Disclosure(estate_id, period, opening, by_kind, closing, _uses(session, estate_id, period, options),
                      ledgers, undivided)


def _ledgers(session: Session, estate_id: int, period: Period, options: dict) -> list[LedgerLine]:
    """Every unit of the estate with its movements (units without entries show zeros)."""
    in_period = FundEntry.occurred_on.between(period.start, period.end)
    kinds = lambda *k: _money(_when(and_(in_period, FundEntry.kind.in_(k))))  # noqa: E731
    query = (
        select(
            Unit.id, Building.name, Unit.room_no, Unit.floor_area,
            _money(_when(FundEntry.occurred_on < period.start)),
            kinds("deposit", "top_up"), kinds("use"), kinds("interest"),
            kinds("public_income", "refund", "transfer"),
            _money(_when(FundEntry.occurred_on <= period.end)),
        )
        .join(Building, Building.id == Unit.building_id)
        .outerjoin(FundEntry, and_(FundEntry.unit_id == Unit.id, FundEntry.estate_id == estate_id))
        .where(Unit.estate_id == estate_id)
        .group_by(Unit.id, Building.name, Unit.room_no, Unit.floor_area, *reading_order())
        .order_by(*reading_order())
    )
    return [
        LedgerLine(unit_id, _label(building, room), area, opening, deposits, -uses, interest, other, closing)
        for unit_id, building, room, area, opening, deposits, uses, interest, other, closing
        in session.execute(query, execution_options=options)
    ]


def _uses(session: Session, estate_id: int, period: Period, options: dict) -> list[UseLine]:
    payments = session.execute(
        select(FundPayment.application_id, FundPayment.amount, FundPayment.paid_on, FundApplication.title,
               FundApplication.category, FundApplication.repair_part, FundApplication.contractor,
               FundApplication.budget, FundApplication.disclosed_on)
        .join(FundApplication, FundApplication.id == FundPayment.application_id)
        .where(FundPayment.estate_id == estate_id, FundPayment.paid_on.between(period.start, period.end))
        .order_by(FundPayment.paid_on, FundPayment.application_id),
        execution_options=options,
    ).all()
    uses = {
        p.application_id: UseLine(p.application_id, p.title, p.category, p.repair_part, p.contractor, p.budget,
                                  p.amount, p.paid_on, p.disclosed_on)
        for p in payments
    }
    for application_id, shares in apportionments(session, list(uses), options).items():
        uses[application_id].shares = shares
    return list(uses.values())


def apportionments(session: Session, application_ids: list[int], options: dict | None = None
                   ) -> dict[int, list[tuple[str, Decimal, Decimal]]]:
    """application id → (unit label, area, share) of its 使用分摊 entries, net of corrections."""
    if not application_ids:
        return {}
    rows = session.execute(
        select(FundEntry.application_id, Building.name, Unit.room_no, Unit.floor_area, _money(FundEntry.amount))
        .join(Unit, Unit.id == FundEntry.unit_id).join(Building, Building.id == Unit.building_id)
        .where(FundEntry.kind == "use", FundEntry.application_id.in_(application_ids))
        .group_by(FundEntry.application_id, Unit.id, Building.name, Unit.room_no, Unit.floor_area, *reading_order())
        .order_by(FundEntry.application_id, *reading_order()),
        execution_options=options or {},
    ).all()
    found: dict[int, list[tuple[str, Decimal, Decimal]]] = {}
    for application_id, building, room, area, amount in rows:
        found.setdefault(application_id, []).append((_label(building, room), area, -amount))
    return found


# -- published applications -------------------------------------------------------------

@dataclass
class PublishedApplication:
    application: FundApplication
    scope: list[str]
    result: VoteResult | None

    @property
    def state_label(self) -> str:
        return STATES.label(self.application.state)


def published_applications(session: Session, estate_id: int, options: dict | None = None) -> list[PublishedApplication]:
    """Applications whose plan has been made public (方案公示 onwards, or an emergency
    that has been disclosed after the fact), with their 列支范围 and stored vote result."""
    options = options or {}
    apps = session.execute(
        select(FundApplication).where(
            FundApplication.estate_id == estate_id,
            ((FundApplication.category != "emergency") & FundApplication.state.in_(PUBLISHED_PLAN_STATES))
            | FundApplication.disclosed_on.is_not(None),
        ).order_by(FundApplication.id.desc()),
        execution_options=options,
    ).scalars().all()
    ids = [a.id for a in apps]
    scope: dict[int, list[str]] = {}
    if ids:
        buildings = session.execute(
            select(FundScope.application_id, Building.name).join(Building, Building.id == FundScope.building_id)
            .where(FundScope.application_id.in_(ids)).order_by(FundScope.id), execution_options=options,
        ).all()
        units = session.execute(
            select(FundScope.application_id, Building.name, Unit.room_no).join(Unit, Unit.id == FundScope.unit_id)
            .join(Building, Building.id == Unit.building_id)
            .where(FundScope.application_id.in_(ids)).order_by(FundScope.id), execution_options=options,
        ).all()
        for application_id, name in buildings:
            scope.setdefault(application_id, []).append(f"{name}（整栋）")
        for application_id, name, room in units:
            scope.setdefault(application_id, []).append(_label(name, room))
    results = {r.application_id: r for r in session.execute(
        select(VoteResult).where(VoteResult.application_id.in_(ids)), execution_options=options).scalars()} if ids else {}
    return [PublishedApplication(a, scope.get(a.id, []), results.get(a.id)) for a in apps]


def unit_entries(session: Session, unit_id: int, options: dict | None = None) -> list[FundEntry]:
    """The entries of one 分户账, oldest first."""
    return list(session.execute(
        select(FundEntry).where(FundEntry.unit_id == unit_id).order_by(FundEntry.occurred_on, FundEntry.id),
        execution_options=options or {},
    ).scalars())
