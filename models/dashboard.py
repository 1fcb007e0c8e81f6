"""Dashboard figures, KPIs and the 工作台's "what waits for me", as registries.

Each figure is one function returning plain rows (dicts), aggregated in SQL with GROUP
BY; the data layer adds the user's estate scope to every ORM statement (app.scoping),
so the same function serves the admin, a 街道 official and a 物业经理, each with their
own numbers. The per-estate page narrows further with ``Context.estate_id``.

Adding a figure for a new entity costs one decorated function::

    @figure("orders_on_time", "报修工单按时完成率", chart="bar", x="estate", y=(("rate", "按时率(%)"),))
    def _orders_on_time(session, ctx):
        query = select(Estate.name.label("estate"), ...).join(...).group_by(Estate.name)
        return rows(session, narrow(query, WorkOrder.estate_id, ctx))

KPIs (``kpi``) and waiting items (``todo``) register the same way; a KPI registered
without a counts function shows "暂无数据".

Scoping needs an estate-owned entity among the selected columns (the listener looks at
the statement's mappers): a query reading only a subquery's columns must also select
``Estate.id`` or the like (see ``_top_up_count``). tests/test_dashboard.py checks every
registered figure, KPI and todo against the unscoped numbers of the user's estates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from models.base import Entity
from models.filter_ops import filter_args
from models.company import PropertyCompany, ServiceContract
from models.estate import Estate, Unit
from models.fees import Bill, BillMonthTotal, FeeStandard, arrears_before
from models.committee import CommitteeTerm, latest_terms
from models.first_assembly import STATES as GROUP_STATES
from models.first_assembly import PreparatoryGroup
from models.owners_assembly import MatterResult, OwnersMeeting
from models.oversight import (
    EVENT_STATES, GRADES, GridEvent, IntegrityAssessment, RectificationNotice, StarRating,
)
from models.repair_fund import (
    STATES as FUND_STATES, FundApplication, FundEntry, FundEstateTotal, FundUnitTotal, in_top_up_warning,
)
from models.safety import HAZARD_OPEN, Hazard
from models.clock import local_now
from models.service_orders import SATISFIED, Complaint, RepairOrder, overdue_clause
from models.settings import Settings

HUNDRED = Decimal(100)
#: months of bills the 收缴率 figures look back over
COLLECTION_MONTHS = 12


@dataclass(frozen=True)
class Context:
    """What every figure query gets: the day, the settings and, on an estate's page, the estate."""

    today: dt.date
    settings: Settings
    estate_id: int | None = None
    #: Beijing wall-clock time, naive like the service-desk columns (their deadlines are to the minute)
    now: dt.datetime = field(default_factory=local_now)
    #: results shared by the figures of one page (one pass over the bills, not three)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


Row = dict[str, Any]
Query = Callable[[Session, Context], list[Row]]


def rows(session: Session, query: Select) -> list[Row]:
    return [dict(r._mapping) for r in session.execute(query)]


def narrow(query: Select, estate_column: Any, ctx: Context) -> Select:
    """The per-estate page: only that estate (the scope still applies on top)."""
    return query if ctx.estate_id is None else query.where(estate_column == ctx.estate_id)


def percent(part: Any, whole: Any) -> Decimal | None:
    """part / whole in %, two decimals, exact (None when there is nothing to divide)."""
    if not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(Decimal("0.01"))


# -- figures ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    query: Query
    #: "bar", "line" (ECharts) or "table"
    chart: str = "table"
    #: the category axis field; the value fields with their Chinese names
    x: str = ""
    y: tuple[tuple[str, str], ...] = ()
    #: a field splitting the rows into one series per value (e.g. one line per estate)
    series: str | None = None
    #: table columns (field, header); charts list their rows below too
    columns: tuple[tuple[str, str], ...] = ()
    #: a Settings column drawn as the target line
    kpi: str | None = None
    #: pages showing it: "jurisdiction" (all estates in scope), "estate" (one estate)
    pages: frozenset[str] = frozenset({"jurisdiction", "estate"})
    #: the entity a user must be able to list to see it (None: everyone with the page)
    needs: str | None = None
    stacked: bool = False
    #: a rate field (%): estates are ranked by it, worst first, and the chart shows the worst
    #: ``CHART_ESTATES`` of them (the figure's own page lists and searches every estate)
    rank_by: str | None = None

    @property
    def percent_axis(self) -> bool:
        """A rate chart: its axis runs from 0 to 100, so 96% never looks ten times 95%."""
        return all("(%)" in label for _field, label in self.y) if self.y else False


#: estates a chart of the jurisdiction shows (a ranked one: the worst)
CHART_ESTATES = 15
#: rows a figure's table shows on the jurisdiction overview; the figure's own page lists every
#: one (a city's official has a thousand estates: thirteen tables of them made a 2.9 MB page)
TABLE_ROWS = 20


FIGURES: dict[str, Figure] = {}


def figure(key: str, title: str, **options: Any) -> Callable[[Query], Query]:
    def register(query: Query) -> Query:
        FIGURES[key] = Figure(key, title, query, **options)
        return query

    return register


def collection_window(ctx: Context) -> dt.date:
    return ctx.today.replace(day=1) - relativedelta(months=COLLECTION_MONTHS)


def bill_totals(session: Session, ctx: Context) -> list[Row]:
    """Due, paid and arrears per estate and month over the collection window, read once per
    page from the totals the database keeps (``BillMonthTotal``): the 收缴率 figures and KPI
    all sum these rows."""
    if "bill_totals" not in ctx.memo:
        query = (
            select(Estate.name.label("estate"), BillMonthTotal.period, BillMonthTotal.due, BillMonthTotal.paid,
                   BillMonthTotal.outstanding.label("arrears"))
            .join(Estate, Estate.id == BillMonthTotal.estate_id)
            .where(BillMonthTotal.period >= collection_window(ctx))
            .order_by(Estate.name, BillMonthTotal.period)
        )
        ctx.memo["bill_totals"] = rows(session, narrow(query, BillMonthTotal.estate_id, ctx))
    return ctx.memo["bill_totals"]


#: the one line of a jurisdiction's monthly 收缴率 over several estates (a line per estate is
#: unreadable beyond a few; the ranking by estate compares them)
JURISDICTION_TOTAL = "辖区合计"


@figure("collection_by_month", "收缴率（按月份）", chart="line", x="period", y=(("rate", "收缴率(%)"),),
        series="estate", kpi="kpi_collection_rate", needs="Bill",
        columns=(("estate", "小区"), ("period", "账期"), ("due", "应收(元)"), ("paid", "已收(元)"), ("rate", "收缴率(%)")))
def _collection_by_month(session: Session, ctx: Context) -> list[Row]:
    found: dict[tuple[str, dt.date], Row] = {}
    names = {row["estate"] for row in bill_totals(session, ctx)}
    for row in bill_totals(session, ctx):
        estate = row["estate"] if len(names) == 1 else JURISDICTION_TOTAL
        total = found.setdefault((estate, row["period"]), {"estate": estate, "period": f"{row['period']:%Y-%m}",
                                                           "due": Decimal("0.00"), "paid": Decimal("0.00")})
        total["due"] += row["due"]
        total["paid"] += row["paid"]
    for total in found.values():
        total["rate"] = percent(total["paid"], total["due"])
    return sorted(found.values(), key=lambda total: total["period"])


@figure("collection_by_estate", "收缴率（近 12 个月，按小区）", chart="bar", x="estate", y=(("rate", "收缴率(%)"),),
        kpi="kpi_collection_rate", needs="Bill", pages=frozenset({"jurisdiction"}), rank_by="rate",
        columns=(("estate", "小区"), ("due", "应收(元)"), ("paid", "已收(元)"), ("arrears", "欠费(元)"), ("rate", "收缴率(%)")))
def _collection_by_estate(session: Session, ctx: Context) -> list[Row]:
    found: dict[str, Row] = {}
    for row in bill_totals(session, ctx):
        total = found.setdefault(row["estate"], {"estate": row["estate"], "due": Decimal("0.00"),
                                                 "paid": Decimal("0.00"), "arrears": Decimal("0.00")})
        for money in ("due", "paid", "arrears"):
            total[money] += row[money]
    for total in found.values():
        total["rate"] = percent(total["paid"], total["due"])
    return list(found.values())


@figure("grid_events_by_state", "网格事件（按状态）", chart="bar", x="estate", series="state", stacked=True,
        y=(("count", "件数"),), needs="GridEvent",
        columns=(("estate", "小区"), ("state", "状态"), ("count", "件数")))
def _grid_events_by_state(session: Session, ctx: Context) -> list[Row]:
    query = (
        select(Estate.name.label("estate"), GridEvent.state, func.count(GridEvent.id).label("count"))
        .join(Estate, Estate.id == GridEvent.estate_id)
        .group_by(Estate.name, GridEvent.state)
        .order_by(Estate.name, GridEvent.state)
    )
    found = rows(session, narrow(query, GridEvent.estate_id, ctx))
    for row in found:
        row["state"] = EVENT_STATES.label(row["state"])
    return found


def _on_time_counts(handled: Any, deadline: Any, open_overdue: Any) -> tuple[Any, ...]:
    """handled, handled by the deadline (no deadline: solved on the spot), still open past it."""
    return (
        func.count(handled).label("handled"),
        func.sum(case(((handled.is_not(None)) & ((deadline.is_(None)) | (handled <= deadline)), 1), else_=0)).label("on_time"),
        func.sum(case((open_overdue, 1), else_=0)).label("overdue"),
    )


@figure("grid_events_on_time", "网格事件按期处置率", chart="bar", x="estate", y=(("rate", "按期处置率(%)"),),
        needs="GridEvent", rank_by="rate",
        columns=(("estate", "小区"), ("handled", "已处置"), ("on_time", "按期处置"), ("overdue", "超时未处置"),
                 ("rate", "按期处置率(%)")))
def _grid_events_on_time(session: Session, ctx: Context) -> list[Row]:
    overdue = (GridEvent.state == "dispatched") & (GridEvent.deadline < ctx.today)
    query = (
        select(Estate.name.label("estate"),
               *_on_time_counts(GridEvent.handled_on, GridEvent.deadline, overdue))
        .join(Estate, Estate.id == GridEvent.estate_id)
        .group_by(Estate.name)
        .order_by(Estate.name)
    )
    found = rows(session, narrow(query, GridEvent.estate_id, ctx))
    for row in found:
        row["on_time"] = row["on_time"] or 0
        row["overdue"] = row["overdue"] or 0
        row["rate"] = percent(row["on_time"], row["handled"])
    return found


@figure("rectifications", "整改通知办理情况", chart="bar", x="estate", stacked=True,
        y=(("waiting", "待整改"), ("overdue", "其中超期"), ("responded", "待复查"), ("closed", "已销号")),
        needs="RectificationNotice",
        columns=(("estate", "小区"), ("waiting", "待整改"), ("overdue", "其中超期"), ("responded", "待复查"),
                 ("closed", "已销号")))
def _rectifications(session: Session, ctx: Context) -> list[Row]:
    def count_if(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    notice = RectificationNotice
    query = (
        select(Estate.name.label("estate"),
               count_if(notice.state == "issued").label("waiting"),
               count_if((notice.state == "issued") & (notice.deadline < ctx.today)).label("overdue"),
               count_if(notice.state == "responded").label("responded"),
               count_if(notice.state == "closed").label("closed"))
        .join(Estate, Estate.id == notice.estate_id)
        .group_by(Estate.name)
        .order_by(Estate.name)
    )
    return rows(session, narrow(query, notice.estate_id, ctx))


@figure("integrity_scores", "物业企业诚信考核得分（已公布）", chart="bar", x="estate", series="period",
        y=(("score", "总分"),), needs="IntegrityAssessment",
        columns=(("estate", "小区"), ("company", "物业服务企业"), ("period", "考核期"), ("score", "总分"), ("grade", "等级")))
def _integrity_scores(session: Session, ctx: Context) -> list[Row]:
    query = (
        select(Estate.name.label("estate"), PropertyCompany.name.label("company"), IntegrityAssessment.period,
               IntegrityAssessment.score, IntegrityAssessment.grade)
        .join(Estate, Estate.id == IntegrityAssessment.estate_id)
        .outerjoin(PropertyCompany, PropertyCompany.id == IntegrityAssessment.company_id)
        .where(IntegrityAssessment.state == "published")
        .order_by(IntegrityAssessment.period, Estate.name)
    )
    found = rows(session, narrow(query, IntegrityAssessment.estate_id, ctx))
    for row in found:
        row["grade"] = GRADES.label(row["grade"])
    return found


@figure("contracts_expiring", "物业服务合同到期提醒", needs="ServiceContract",
        columns=(("estate", "小区"), ("contract_no", "合同编号"), ("ends_on", "终止日期"), ("days_left", "剩余天数"),
                 ("notice", "提示")))
def _contracts_expiring(session: Session, ctx: Context) -> list[Row]:
    return expiring_contracts(session, ctx)


def expiring_contracts(session: Session, ctx: Context) -> list[Row]:
    """Contracts ending within the notice period (民法典 第947条: 90 日; 第948条: 60 日)."""
    horizon = ctx.today + dt.timedelta(days=ctx.settings.contract_notice_days)
    query = (
        select(Estate.name.label("estate"), ServiceContract.id, ServiceContract.contract_no, ServiceContract.ends_on)
        .join(Estate, Estate.id == ServiceContract.estate_id)
        .where(ServiceContract.ends_on >= ctx.today, ServiceContract.ends_on <= horizon)
        .order_by(ServiceContract.ends_on)
    )
    found = rows(session, narrow(query, ServiceContract.estate_id, ctx))
    for row in found:
        row["days_left"] = (row["ends_on"] - ctx.today).days
        row["notice"] = ("不足 {} 天，须立即书面通知并确定续聘或选聘".format(ctx.settings.contract_urgent_days)
                         if row["days_left"] <= ctx.settings.contract_urgent_days
                         else "进入 {} 天续聘提示期".format(ctx.settings.contract_notice_days))
    return found


def committee_term_end(founded: dt.date, today: dt.date, years: int) -> dt.date:
    """End of the current term: the master data keeps only the founding date, so terms are
    taken to run back to back from it (每届不超过 5 年)."""
    end = founded + relativedelta(years=years)
    while end < today:
        end += relativedelta(years=years)
    return end


@figure("committees", "业委会任期届满提醒", needs="Estate",
        columns=(("estate", "小区"), ("founded_on", "成立日期"), ("term_ends", "本届届满"), ("days_left", "剩余天数"),
                 ("notice", "提示")))
def _committees(session: Session, ctx: Context) -> list[Row]:
    return committee_terms(session, ctx)


def committee_terms(session: Session, ctx: Context, *, expiring_only: bool = True) -> list[Row]:
    """Estates whose 业委会 term ends within the notice period, and estates without one.

    One row per estate (not an aggregate): the term arithmetic needs calendar years.
    """
    latest = latest_terms(session)
    query = select(Estate.id, Estate.name.label("estate"), Estate.committee_founded_on.label("founded_on"),
                   latest.c.term_ends).outerjoin(latest, latest.c.estate_id == Estate.id).order_by(Estate.name)
    found = []
    for row in rows(session, narrow(query, Estate.id, ctx)):
        elected_until = row.pop("term_ends")
        if row["founded_on"] is None and elected_until is None:
            found.append({**row, "term_ends": None, "days_left": None, "notice": "尚未成立业委会"})
            continue
        # a term recorded with its election knows its end; before that, terms run from the founding
        ends = elected_until or committee_term_end(row["founded_on"], ctx.today, ctx.settings.committee_term_years)
        days_left = (ends - ctx.today).days
        if expiring_only and days_left > ctx.settings.committee_notice_days:
            continue
        found.append({**row, "term_ends": ends, "days_left": days_left, "notice": "应筹备换届选举"})
    return found


@figure("star_ratings", "星级物业服务项目", needs="StarRating",
        columns=(("estate", "小区"), ("year", "年度"), ("managed_area", "物业管理面积(㎡)"), ("stars", "星级"),
                 ("state", "状态")))
def _star_ratings(session: Session, ctx: Context) -> list[Row]:
    from models.oversight import STAR_STATES, STARS

    query = (
        select(Estate.name.label("estate"), StarRating.year, StarRating.managed_area, StarRating.stars,
               StarRating.state)
        .join(Estate, Estate.id == StarRating.estate_id)
        .order_by(StarRating.year.desc(), Estate.name)
    )
    found = rows(session, narrow(query, StarRating.estate_id, ctx))
    for row in found:
        row["stars"], row["state"] = STARS.label(row["stars"]), STAR_STATES.label(row["state"])
    return found


# -- KPIs: targets in the settings against the actual values -----------------------------

@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    #: the Settings column holding the target (in %)
    target: str
    #: ">=": at least the target; "<=": at most
    direction: str
    #: (part, whole) within scope; None: no data source on this installation yet
    counts: Callable[[Session, Context], tuple[Any, Any]] | None = None
    needs: str | None = None
    source: str = ""


KPIS: dict[str, Kpi] = {}


def kpi(key: str, label: str, target: str, direction: str = ">=", needs: str | None = None, source: str = ""):
    def register(counts: Callable[[Session, Context], tuple[Any, Any]] | None):
        KPIS[key] = Kpi(key, label, target, direction, counts, needs, source)
        return counts

    return register


@kpi("collection_rate", "收缴率", "kpi_collection_rate", needs="Bill", source="近 12 个月已收金额 ÷ 应收金额")
def _kpi_collection(session: Session, ctx: Context) -> tuple[Any, Any]:
    totals = bill_totals(session, ctx)
    if not totals:
        return None, None
    return sum(row["paid"] for row in totals), sum(row["due"] for row in totals)


@kpi("public_satisfaction", "群众满意率", "kpi_public_satisfaction", needs="GridEvent",
     source="网格事件回访满意次数 ÷ 回访次数")
def _kpi_public_satisfaction(session: Session, ctx: Context) -> tuple[Any, Any]:
    satisfied = func.sum(case((GridEvent.state == "closed", 1), else_=0))
    query = select(satisfied, satisfied + func.coalesce(func.sum(GridEvent.reopen_count), 0))
    return tuple(session.execute(narrow(query, GridEvent.estate_id, ctx)).one())


@dataclass(frozen=True)
class KpiValue:
    label: str
    target: int
    direction: str
    #: shown, rounded to 0.01 %
    actual: Decimal | None
    source: str
    #: the exact share, which the target is judged on (97.995 % does not meet ≥ 98 %)
    exact: Decimal | None = None

    @property
    def met(self) -> bool | None:
        if self.exact is None:
            return None
        return self.exact >= self.target if self.direction == ">=" else self.exact <= self.target


def kpi_values(session: Session, ctx: Context, may_list: Callable[[str], bool]) -> list[KpiValue]:
    values = []
    for item in KPIS.values():
        if item.needs and not may_list(item.needs):
            continue
        actual = exact = None
        if item.counts is not None:
            part, whole = item.counts(session, ctx)
            actual = percent(part or 0, whole)
            exact = Decimal(part or 0) * HUNDRED / Decimal(whole) if whole else None
        values.append(KpiValue(item.label, getattr(ctx.settings, item.target), item.direction, actual, item.source,
                               exact))
    return values


# -- the 工作台: what waits for me --------------------------------------------------------

@dataclass(frozen=True)
class Waiting:
    label: str
    count: int
    #: (endpoint, url arguments) of the list that shows these rows
    link: tuple[str, dict[str, Any]]
    urgent: bool = False


@dataclass(frozen=True)
class Todo:
    key: str
    model: type[Entity]
    label: str
    count: Callable[[Session, Context], int]
    #: url arguments of the model's list page (models.filter_ops.filter_args)
    filters: Callable[[Context], dict[str, Any]] = field(default=lambda ctx: {})
    urgent: bool = True
    #: the view's page the link opens ("list", or a page of its own such as the 超时 list)
    endpoint: str = "list"
    #: a transition the user must be able to fire: a reminder for those who do the work
    acts: str | None = None


TODOS: dict[str, Todo] = {}


def todo(key: str, model: type[Entity], label: str, filters: Callable[[Context], dict[str, Any]] = lambda ctx: {},
         urgent: bool = True, endpoint: str = "list", acts: str | None = None):
    def register(count: Callable[[Session, Context], int]):
        TODOS[key] = Todo(key, model, label, count, filters, urgent, endpoint, acts)
        return count

    return register


def count_of(session: Session, ctx: Context, model: Any, *conditions: Any) -> int:
    # count(*), not count(id): SQLite then counts a table from its smallest index or page count
    query = narrow(select(func.count()).select_from(model).where(*conditions), model.estate_id, ctx)
    return session.execute(query).scalar_one()


@todo("grid_events_overdue", GridEvent, "超时未处置的网格事件",
      lambda ctx: filter_args(GridEvent, state="dispatched", deadline=("lt", ctx.today.isoformat())))
def _overdue_events(session: Session, ctx: Context) -> int:
    return count_of(session, ctx, GridEvent, GridEvent.state == "dispatched", GridEvent.deadline < ctx.today)


@todo("notices_overdue", RectificationNotice, "超过整改期限的整改通知",
      lambda ctx: filter_args(RectificationNotice, state="issued", deadline=("lt", ctx.today.isoformat())))
def _overdue_notices(session: Session, ctx: Context) -> int:
    return count_of(session, ctx, RectificationNotice, RectificationNotice.state == "issued",
                    RectificationNotice.deadline < ctx.today)


@todo("contracts_expiring", ServiceContract, "即将到期的物业服务合同",
      lambda ctx: {**filter_args(ServiceContract, ends_on=("ge", ctx.today.isoformat())),
                   **filter_args(ServiceContract, ends_on=(
                       "le", (ctx.today + dt.timedelta(days=ctx.settings.contract_notice_days)).isoformat()))})
def _contracts_to_renew(session: Session, ctx: Context) -> int:
    return len(expiring_contracts(session, ctx))


@todo("arrears_overdue", Bill, "超期欠费的房屋（户）", urgent=False, endpoint="dunning", acts="pay")
def _households_in_arrears(session: Session, ctx: Context) -> int:
    """Households (units) with a bill unpaid more than 欠费催缴天数 after its month ended."""
    cutoff = arrears_before(ctx.today, ctx.settings.arrears_notice_days)
    query = narrow(select(func.count(func.distinct(Bill.unit_id))).where(
        Bill.outstanding > 0, Bill.period < cutoff, Bill.unit_id.is_not(None)), Bill.estate_id, ctx)
    return session.execute(query).scalar_one()


def filing_words(state: str | None, due: dt.date | None, today: dt.date) -> str:
    """A term's 备案 as the oversight table says it (物业管理条例第十六条)."""
    if state is None:
        return ""
    if state == "filed":
        return "已备案"
    late = (today - due).days if due else 0
    return f"逾期 {late} 天未备案" if late > 0 else f"待备案（{due} 前）"


@todo("committees_to_file", CommitteeTerm, "待备案的业委会",
      lambda ctx: filter_args(CommitteeTerm, state="elected"), acts="file")
def _committees_to_file(session: Session, ctx: Context) -> int:
    return count_of(session, ctx, CommitteeTerm, CommitteeTerm.state == "elected")


@todo("committees_expiring", Estate, "任期即将届满的业委会")
def _committees_to_renew(session: Session, ctx: Context) -> int:
    return sum(1 for row in committee_terms(session, ctx) if row["founded_on"] is not None)


def waiting_transitions(session: Session, models: Iterable[type[Entity]], may_fire: Callable[[type[Entity], str], bool],
                        acted_on: Callable[[type[Entity]], Any] = lambda model: None) -> list[Waiting]:
    """Rows waiting for a transition this user may fire: one line per entity and state.

    Counted with one GROUP BY per workflow entity, within the user's scope and among the rows
    ``acted_on`` says the user may act on (a meeting is run by its convener).
    """
    found = []
    for model in models:
        flow = model.Admin.workflow
        if flow is None:
            continue
        actions: dict[str, list[str]] = {}
        for t in flow.transitions:
            if may_fire(model, t.name):
                for state in t.source:
                    actions.setdefault(state, []).append(t.label)
        if not actions:
            continue
        column = getattr(model, flow.field)
        query = select(column, func.count(model.id)).where(column.in_(list(actions))).group_by(column)
        if (theirs := acted_on(model)) is not None:
            query = query.where(theirs)
        for state, count in session.execute(query):
            found.append(Waiting(
                f"{model.Admin.label}「{flow.states.label(state)}」，待{'/'.join(actions[state])}", count,
                (f"{model.__name__}View.list", filter_args(model, **{flow.field: state})), urgent=False,
            ))
    return sorted(found, key=lambda w: w.label)


def waiting_items(session: Session, ctx: Context, may_list: Callable[[type[Entity]], bool],
                  may_fire: Callable[[type[Entity], str], bool] = lambda model, name: True) -> list[Waiting]:
    """Overdue and expiring things (the registered todos) the user may see, with their count."""
    found = []
    for item in TODOS.values():
        if not may_list(item.model) or (item.acts and not may_fire(item.model, item.acts)):
            continue
        count = item.count(session, ctx)
        if count:
            link = (f"{item.model.__name__}View.{item.endpoint}", item.filters(ctx))
            found.append(Waiting(item.label, count, link, item.urgent))
    return found



# -- repair fund (维修资金) -----------------------------------------------------------------

@figure("fund_balances", "维修资金结存与续交预警", chart="bar", x="estate", y=(("balance", "结存(元)"),),
        needs="FundEntry",
        columns=(("estate", "小区"), ("inflow", "交存及收益(元)"), ("used", "使用及退还(元)"), ("balance", "结存(元)"),
                 ("warnings", "续交预警(户)")))
def _fund_balances(session: Session, ctx: Context) -> list[Row]:
    # the sums kept per estate; the warnings counted over the units from their partial index
    warnings = (select(FundUnitTotal.estate_id, func.count().label("warnings"))
                .where(in_top_up_warning(ctx.settings.fund_top_up_percent))
                .group_by(FundUnitTotal.estate_id).subquery())
    query = (
        select(Estate.name.label("estate"), FundEstateTotal.inflow, FundEstateTotal.used, FundEstateTotal.balance,
               func.coalesce(warnings.c.warnings, 0).label("warnings"))
        .join(Estate, Estate.id == FundEstateTotal.estate_id)
        .outerjoin(warnings, warnings.c.estate_id == FundEstateTotal.estate_id)
        .order_by(Estate.name)
    )
    return rows(session, narrow(query, FundEstateTotal.estate_id, ctx))


@figure("fund_applications", "维修资金使用申请（按办理环节）", chart="bar", x="state", y=(("count", "件数"),),
        needs="FundApplication", columns=(("state", "办理环节"), ("count", "件数")))
def _fund_applications(session: Session, ctx: Context) -> list[Row]:
    query = (
        select(FundApplication.state, func.count(FundApplication.id).label("count"))
        .where(FundApplication.state != "archived")
        .group_by(FundApplication.state)
    )
    counts = {row["state"]: row["count"] for row in rows(session, narrow(query, FundApplication.estate_id, ctx))}
    # every step, in the workflow's order, zeros included: "待备案 0" is information too
    return [{"state": FUND_STATES.label(code), "count": counts.get(code, 0)}
            for code in FUND_STATES.codes if code != "archived"]


@figure("votes_closing", "即将截止的业主表决", needs="FundApplication",
        columns=(("estate", "小区"), ("title", "项目名称"), ("vote_until", "表决截止"), ("days_left", "剩余天数")))
def _votes_closing(session: Session, ctx: Context) -> list[Row]:
    query = (
        select(Estate.name.label("estate"), FundApplication.title, FundApplication.vote_until)
        .join(Estate, Estate.id == FundApplication.estate_id)
        .where(FundApplication.state == "voting",
               FundApplication.vote_until <= closing_horizon(ctx))
        .order_by(FundApplication.vote_until)
    )
    found = rows(session, narrow(query, FundApplication.estate_id, ctx))
    for row in found:
        row["days_left"] = (row["vote_until"] - ctx.today).days
    return found


def closing_horizon(ctx: Context) -> dt.date:
    """The last 表决截止 day that counts as closing soon (the settings' horizon)."""
    return ctx.today + dt.timedelta(days=ctx.settings.vote_closing_days)


@todo("votes_closing", FundApplication, "即将截止的业主表决",
      lambda ctx: filter_args(FundApplication, state="voting", vote_until=("le", closing_horizon(ctx).isoformat())))
def _votes_closing_count(session: Session, ctx: Context) -> int:
    return count_of(session, ctx, FundApplication, FundApplication.state == "voting",
                    FundApplication.vote_until <= closing_horizon(ctx))


@todo("meetings_closing", OwnersMeeting, "即将截止的业主大会表决",
      lambda ctx: filter_args(OwnersMeeting, state="voting", vote_until=("le", closing_horizon(ctx).isoformat())))
def _meetings_closing_count(session: Session, ctx: Context) -> int:
    return count_of(session, ctx, OwnersMeeting, OwnersMeeting.state == "voting",
                    OwnersMeeting.vote_until <= closing_horizon(ctx))


# -- 业主自治 -------------------------------------------------------------------------------

@figure("self_governance", "业主自治（近 12 个月）", needs="OwnersMeeting",
        columns=(("estate", "小区"), ("committee", "业委会"), ("term_ends", "本届届满"), ("filing", "备案"),
                 ("preparation", "首次业主大会筹备"), ("held", "已计票的会议"),
                 ("passed", "通过的事项"), ("failed", "未通过的事项"), ("in_progress", "公告或表决中的会议"),
                 ("last_held", "最近一次表决截止")))
def _self_governance(session: Session, ctx: Context) -> list[Row]:
    """Per estate: whether it has a 业委会 and when its term ends, and what its 业主大会 decided."""
    since = ctx.today - relativedelta(months=12)
    counted = (OwnersMeeting.state == "counted") & (OwnersMeeting.vote_until >= since)
    meetings = (
        select(OwnersMeeting.estate_id, func.sum(case((counted, 1), else_=0)).label("held"),
               func.sum(case((OwnersMeeting.state.in_(("announced", "voting")), 1), else_=0)).label("in_progress"),
               func.max(case((OwnersMeeting.state == "counted", OwnersMeeting.vote_until))).label("last_held"))
        .group_by(OwnersMeeting.estate_id).subquery()
    )
    decided = (
        select(MatterResult.estate_id, func.sum(case((MatterResult.passed, 1), else_=0)).label("passed"),
               func.sum(case((MatterResult.passed, 0), else_=1)).label("failed"))
        .join(OwnersMeeting, OwnersMeeting.id == MatterResult.meeting_id).where(OwnersMeeting.vote_until >= since)
        .group_by(MatterResult.estate_id).subquery()
    )
    latest = latest_terms(session)
    query = (
        select(Estate.name.label("estate"), Estate.committee_founded_on, meetings.c.held, meetings.c.in_progress,
               meetings.c.last_held, decided.c.passed, decided.c.failed, latest.c.elected_on, latest.c.term_ends,
               latest.c.state.label("term_state"), latest.c.filing_due)
        .outerjoin(meetings, meetings.c.estate_id == Estate.id).outerjoin(decided, decided.c.estate_id == Estate.id)
        .outerjoin(latest, latest.c.estate_id == Estate.id)
        .order_by(Estate.name)
    )
    found = rows(session, narrow(query.add_columns(Estate.id.label("estate_id")), Estate.id, ctx))
    preparing = preparations(session, ctx)
    for row in found:
        founded, elected, state, due = (row.pop(key) for key in ("committee_founded_on", "elected_on", "term_state",
                                                                   "filing_due"))
        row["preparation"] = preparing.get(row.pop("estate_id"), "")
        row["committee"] = f"{elected} 选举产生" if elected else (f"{founded} 成立" if founded else "尚未成立")
        if row["term_ends"] is None and founded:
            row["term_ends"] = committee_term_end(founded, ctx.today, ctx.settings.committee_term_years)
        row["filing"] = filing_words(state, due, ctx.today)
        for key in ("held", "in_progress", "passed", "failed"):
            row[key] = int(row[key] or 0)
    return found


def preparations(session: Session, ctx: Context) -> dict[int, str]:
    """Estate id -> where its first assembly's 筹备组 stands, with the steps overdue (groups at work)."""
    groups = session.execute(narrow(select(PreparatoryGroup).where(PreparatoryGroup.state != "dissolved"),
                                    PreparatoryGroup.estate_id, ctx)).scalars().all()
    return {g.estate_id: "；".join([GROUP_STATES.label(g.state), *g.overdue(session)]) for g in groups}


@todo("preparations_overdue", PreparatoryGroup, "筹备工作逾期的首次业主大会筹备组")
def _preparations_overdue(session: Session, ctx: Context) -> int:
    return sum(1 for words in preparations(session, ctx).values() if "逾期" in words)


@todo("fee_standards_taking_effect", FeeStandard, "即将执行的收费标准（公示期将满）",
      lambda ctx: {**filter_args(FeeStandard, state="published", effective_from=("gt", ctx.today.isoformat())),
                   **filter_args(FeeStandard, effective_from=(
                       "le", (ctx.today + dt.timedelta(days=ctx.settings.fee_effective_days)).isoformat()))},
      urgent=False)
def _fee_standards_taking_effect(session: Session, ctx: Context) -> int:
    """Published standards whose 公示 ends within the horizon: bills from then on use them."""
    return count_of(session, ctx, FeeStandard, FeeStandard.state == "published", FeeStandard.effective_from > ctx.today,
                    FeeStandard.effective_from <= ctx.today + dt.timedelta(days=ctx.settings.fee_effective_days))


@todo("publicity_over", FundApplication, "公示期满、可开始业主表决的维修资金使用申请",
      lambda ctx: filter_args(FundApplication, state="publicity", publicity_until=("lt", ctx.today.isoformat())),
      acts="open_vote")
def _publicity_over_count(session: Session, ctx: Context) -> int:
    return count_of(session, ctx, FundApplication, FundApplication.state == "publicity",
                    FundApplication.publicity_until < ctx.today)


@todo("fund_top_up", FundEntry, "维修资金需续交的分户账", endpoint="top_up")
def _top_up_count(session: Session, ctx: Context) -> int:
    """续交预警: units whose balance fell below the settings' share of their first deposit (as
    models.repair_fund.top_up_warnings)."""
    query = select(func.count()).select_from(FundUnitTotal).where(in_top_up_warning(ctx.settings.fund_top_up_percent))
    return session.execute(narrow(query, FundUnitTotal.estate_id, ctx)).scalar_one()


# -- daily operations (日常运营): service desk, hazards, 回访 ------------------------------

#: months of service-desk requests (by the day they came in) the figures and KPIs look back over
OPERATIONS_MONTHS = 12


def operations_window(ctx: Context) -> dt.datetime:
    start = ctx.today.replace(day=1) - relativedelta(months=OPERATIONS_MONTHS)
    return dt.datetime.combine(start, dt.time())


def _desk_on_time(session: Session, ctx: Context, model: Any, started: Any, done: Any) -> list[Row]:
    """Per estate: done by the deadline, done late, still open past it (strictly later = late)."""
    def count_if(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (
        select(Estate.name.label("estate"),
               count_if(done.is_not(None) & (done <= model.deadline)).label("on_time"),
               count_if(done.is_not(None) & (done > model.deadline)).label("late"),
               count_if(overdue_clause(model, ctx.now)).label("overdue"),
               count_if(done.is_not(None)).label("handled"))
        .join(Estate, Estate.id == model.estate_id)
        .where(started >= operations_window(ctx))
        .group_by(Estate.name)
        .order_by(Estate.name)
    )
    found = rows(session, narrow(query, model.estate_id, ctx))
    for row in found:
        row["rate"] = percent(row["on_time"], row["handled"])
    return found


_ON_TIME_Y = (("on_time", "按时办结"), ("late", "超时办结"), ("overdue", "超时未办结"))


@figure("repairs_on_time", "报修工单按时完成情况（近 12 个月）", chart="bar", x="estate", stacked=True, y=_ON_TIME_Y,
        needs="RepairOrder", rank_by="rate",
        columns=(("estate", "小区"), ("on_time", "按时完工"), ("late", "超时完工"), ("overdue", "超时未完工"),
                 ("rate", "按时完成率(%)")))
def _repairs_on_time(session: Session, ctx: Context) -> list[Row]:
    return _desk_on_time(session, ctx, RepairOrder, RepairOrder.reported_at, RepairOrder.finished_at)


@figure("complaints_on_time", "投诉建议按时答复情况（近 12 个月）", chart="bar", x="estate", stacked=True, y=_ON_TIME_Y,
        needs="Complaint", rank_by="rate",
        columns=(("estate", "小区"), ("on_time", "按时答复"), ("late", "超时答复"), ("overdue", "超时未答复"),
                 ("rate", "按时答复率(%)")))
def _complaints_on_time(session: Session, ctx: Context) -> list[Row]:
    return _desk_on_time(session, ctx, Complaint, Complaint.received_at, Complaint.replied_at)


@figure("open_hazards", "未销号的安全隐患", chart="bar", x="estate", stacked=True,
        y=(("found", "发现"), ("rectifying", "整改中"), ("rectified", "已整改待复查")), needs="Hazard",
        columns=(("estate", "小区"), ("found", "发现"), ("rectifying", "整改中"), ("rectified", "已整改待复查"),
                 ("overdue", "其中超期")))
def _open_hazards(session: Session, ctx: Context) -> list[Row]:
    def count_if(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (
        select(Estate.name.label("estate"),
               *(count_if(Hazard.state == state).label(state) for state in HAZARD_OPEN),
               count_if(Hazard.due_on < ctx.today).label("overdue"))
        .join(Estate, Estate.id == Hazard.estate_id)
        .where(Hazard.state.in_(HAZARD_OPEN))
        .group_by(Estate.name)
        .order_by(Estate.name)
    )
    return rows(session, narrow(query, Hazard.estate_id, ctx))


def _visits(session: Session, ctx: Context, model: Any, started: Any) -> list[Row]:
    """回访 verdicts per estate, one per visit: the kept verdict of each request, and one
    不满意 per reopening (a reopened request is visited again, its verdict overwritten). Read
    once per page: the figure and the KPI both sum them."""
    memo = f"visits:{model.__name__}"
    if memo not in ctx.memo:
        levels = [func.coalesce(func.sum(case((model.satisfaction == code, 1), else_=0)), 0).label(code)
                  for code in SATISFIED]
        query = (
            select(Estate.name.label("estate"), *levels,
                   func.coalesce(func.sum(model.reopen_count), 0).label("dissatisfied"))
            .join(Estate, Estate.id == model.estate_id)
            .where(started >= operations_window(ctx))
            .group_by(Estate.name)
        )
        ctx.memo[memo] = rows(session, narrow(query, model.estate_id, ctx))
    return ctx.memo[memo]


def _satisfied_and_visits(row: Row) -> tuple[int, int]:
    satisfied = sum(row[code] for code in SATISFIED)
    return satisfied, satisfied + row["dissatisfied"]


@figure("revisit_satisfaction", "报修与投诉回访满意度（近 12 个月）", chart="bar", x="estate", stacked=True,
        y=(("very_satisfied", "非常满意"), ("satisfied", "满意"), ("fair", "基本满意"), ("dissatisfied", "不满意")),
        kpi="kpi_satisfaction", needs="RepairOrder", rank_by="rate",
        columns=(("estate", "小区"), ("very_satisfied", "非常满意"), ("satisfied", "满意"), ("fair", "基本满意"),
                 ("dissatisfied", "不满意"), ("rate", "满意率(%)")))
def _revisit_satisfaction(session: Session, ctx: Context) -> list[Row]:
    merged: dict[str, Row] = {}
    for model, started in ((RepairOrder, RepairOrder.reported_at), (Complaint, Complaint.received_at)):
        for row in _visits(session, ctx, model, started):
            into = merged.setdefault(row["estate"], dict.fromkeys(row, 0) | {"estate": row["estate"]})
            for name, value in row.items():
                if name != "estate":
                    into[name] += value
    found = [merged[name] for name in sorted(merged)]
    for row in found:
        row["rate"] = percent(*_satisfied_and_visits(row))
    return found


@kpi("satisfaction", "满意度", "kpi_satisfaction", needs="RepairOrder",
     source="近 12 个月报修、投诉回访满意（含基本满意）次数 ÷ 回访次数")
def _kpi_satisfaction(session: Session, ctx: Context) -> tuple[Any, Any]:
    satisfied = visits = 0
    for model, started in ((RepairOrder, RepairOrder.reported_at), (Complaint, Complaint.received_at)):
        for row in _visits(session, ctx, model, started):
            part, whole = _satisfied_and_visits(row)
            satisfied, visits = satisfied + part, visits + whole
    return satisfied, visits


# 有效投诉率 per household: 《物业管理内容模式方案》's target list names it 用户有效投诉率 (≤2%), 用户 being
# the households served, so valid complaints (not suggestions or enquiries, not 不予受理)
# received in the window are divided by the units, not by all complaints.
@kpi("complaint_rate", "有效投诉率", "kpi_complaint_rate", "<=", needs="Complaint",
     source="近 12 个月有效投诉件数 ÷ 房屋户数")
def _kpi_complaint_rate(session: Session, ctx: Context) -> tuple[Any, Any]:
    valid = count_of(session, ctx, Complaint, Complaint.kind == "complaint", Complaint.valid.is_(True),
                     Complaint.state != "closed", Complaint.received_at >= operations_window(ctx))
    return valid, count_of(session, ctx, Unit)


# 回访率 of the repair service (《物业管理内容模式方案》: 维修服务回访率 ≥30%): orders visited since their
# last completion among the completed ones (a reopened order counts again once finished).
@kpi("revisit_rate", "回访率", "kpi_revisit_rate", needs="RepairOrder", source="近 12 个月报修工单已回访 ÷ 已完工")
def _kpi_revisit_rate(session: Session, ctx: Context) -> tuple[Any, Any]:
    since = RepairOrder.reported_at >= operations_window(ctx)
    finished = RepairOrder.finished_at.is_not(None)
    return (count_of(session, ctx, RepairOrder, since, finished, RepairOrder.visited_at >= RepairOrder.finished_at),
            count_of(session, ctx, RepairOrder, since, finished))


@todo("repairs_overdue", RepairOrder, "超时未完工的报修工单", endpoint="overdue", acts="finish")
def _overdue_repairs(session: Session, ctx: Context) -> int:
    return count_of(session, ctx, RepairOrder, overdue_clause(RepairOrder, ctx.now))


@todo("complaints_overdue", Complaint, "超时未答复的投诉建议", endpoint="overdue", acts="answer")
def _overdue_complaints(session: Session, ctx: Context) -> int:
    return count_of(session, ctx, Complaint, overdue_clause(Complaint, ctx.now))


# "not 复查通过" is every open state (HAZARD_OPEN): one list filter (text filter 7 = not equal)
@todo("hazards_overdue", Hazard, "超过整改期限未销号的安全隐患",
      lambda ctx: filter_args(Hazard, state=("neq", "closed"), due_on=("lt", ctx.today.isoformat())), acts="complete")
def _overdue_hazards(session: Session, ctx: Context) -> int:
    return count_of(session, ctx, Hazard, Hazard.state.in_(HAZARD_OPEN), Hazard.due_on < ctx.today)
