"""Dashboards: every figure against hand-counted fixtures, every figure within the user's
scope, the 工作台's links, and pages that read in Chinese and load nothing from outside."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
from dateutil.relativedelta import relativedelta
from flask import g
from flask_login import login_user
from sqlalchemy import func, select

from app.extensions import db
from models import clock
from models.company import ServiceContract
from models.dashboard import (
    FIGURES, TODOS, Context, committee_term_end, kpi_values, waiting_items, waiting_transitions,
)
from models.base import declared_entities
from models.estate import Building, Estate, Unit
from models.fees import Bill, FeeItem, FeeStandard, FeeStandardLine
from models.oversight import AssessmentItem, Grid, GridEvent, Inspection, IntegrityAssessment, RectificationNotice
from models.company import Employee
from models.repair_fund import FundApplication, FundEntry
from models.safety import Hazard
from models.clock import local_now
from models.service_orders import Complaint, RepairOrder
from models.settings import Settings
from tests.pages import data_words, english_words
from tests.support import client_of, in_db, record_count, text_of

TODAY = clock.today()
LAST_MONTH = TODAY.replace(day=1) - relativedelta(months=1)
#: one fixed moment, so that a deadline cannot pass between two reads of the same test
NOW = local_now().replace(second=0)
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


def _ctx(estate_id=None) -> Context:
    return Context(TODAY, Settings.current(db.session), estate_id, now=NOW)


@pytest.fixture()
def tiny(ctx):
    """A fourth estate whose every number is counted by hand below."""
    first = db.session.get(Estate, 1)
    estate = Estate(community_id=first.community_id, name="测试小区", code="TEST0001", address="测试路 1 号",
                    committee_founded_on=TODAY - relativedelta(years=5) + dt.timedelta(days=30))
    building = Building(estate=estate, code="1", name="1号楼", floors=6)
    units = [Unit(building=building, floor=1, room_no=f"1-{i}", floor_area=Decimal("100.00")) for i in range(3)]
    standard = FeeStandard(estate=estate, title="测试标准", company_name="测试物业", service_content="保洁",
                           service_standard="二级", basis="合同", effective_from=LAST_MONTH)
    item = db.session.execute(select(FeeItem).limit(1)).scalar_one()
    line = FeeStandardLine(standard=standard, item=item, billing_basis="per_area", unit_price=Decimal("1"))
    db.session.add_all([estate, building, *units, standard, line])
    db.session.flush()
    # 收缴率: last month 300.00 due, 250.00 paid; this month 100.00 due, 100.00 paid
    for unit, period, amount, paid in ((units[0], LAST_MONTH, "100.00", "100.00"),
                                       (units[1], LAST_MONTH, "200.00", "150.00"),
                                       (units[2], TODAY.replace(day=1), "100.00", "100.00")):
        db.session.add(Bill(estate=estate, unit=unit, item=item, standard=standard, period=period,
                            quantity=Decimal("100.00"), unit_price=Decimal("1"), amount=Decimal(amount),
                            paid=Decimal(paid), outstanding=Decimal(amount) - Decimal(paid)))
    top = Grid(estate=estate, number="T-01", name="测试网格", leader="王", phone="1")
    grid = Grid(estate=estate, parent=top, number="T-02", name="测试二级网格", leader="王", phone="1")
    yesterday, tomorrow = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)
    # (state, deadline, handled_on, reopen_count)
    for state, deadline, handled, reopened in (
        ("closed", TODAY, TODAY - dt.timedelta(days=2), 0),      # on time, satisfied
        ("closed", yesterday, TODAY, 1),                        # late, satisfied after one reopen
        ("closed", None, TODAY, 0),                             # solved on the spot: on time
        ("handled", tomorrow, TODAY, 0),                        # on time, not visited yet
        ("dispatched", yesterday, None, 0),                     # overdue
        ("dispatched", tomorrow, None, 0),                      # not yet due
        ("reported", None, None, 0),
    ):
        db.session.add(GridEvent(grid=grid, title="事件", collected_by="王", collected_on=TODAY - dt.timedelta(days=9),
                                 state=state, deadline=deadline, handled_on=handled, reopen_count=reopened))
    assessment = IntegrityAssessment(estate=estate, period="2025年度", assessors="刘", state="published",
                                     score=Decimal("88.5"), grade="good")
    assessment.items = [AssessmentItem(name="全部", max_score=Decimal(100), score=Decimal("88.5"))]
    draft = IntegrityAssessment(estate=estate, period="2026年度", assessors="刘")
    inspection = Inspection(estate=estate, inspectors="刘", subject="消防", conclusion="rectify")
    for serial, (state, deadline) in enumerate((("issued", yesterday), ("issued", tomorrow), ("responded", yesterday),
                                                ("closed", yesterday))):
        db.session.add(RectificationNotice(inspection=inspection, notice_no=f"T-{serial}", requirements="整改",
                                           state=state, deadline=deadline))
    company = first.company
    for number, days in (("T-30", 30), ("T-80", 80), ("T-100", 100), ("T-PAST", -1)):
        db.session.add(ServiceContract(estate=estate, company=company, contract_no=number,
                                       starts_on=TODAY - relativedelta(years=3), ends_on=TODAY + dt.timedelta(days=days)))
    db.session.add_all([top, grid, assessment, draft, inspection])
    db.session.flush()
    _fund(estate, units)
    return estate


def _fund(estate, units, vote_in_days=3):
    """First deposits of 1000.00 per unit; one unit spent 800.00 (20 % left: 续交预警 at 30 %);
    one vote closing soon, one later."""
    for unit in units:
        db.session.add(FundEntry(estate=estate, unit=unit, kind="deposit", amount=Decimal("1000.00"),
                                 occurred_on=TODAY))
    db.session.add(FundEntry(estate=estate, unit=units[0], kind="use", amount=Decimal("-800.00"), occurred_on=TODAY))
    db.session.add(FundEntry(estate=estate, unit=None, kind="interest", amount=Decimal("12.34"), occurred_on=TODAY))
    for title, days in (("外墙维修", vote_in_days), ("屋面防水", 30)):
        db.session.add(FundApplication(estate=estate, title=title, repair_part="外墙", budget=Decimal("10000.00"),
                                       contractor="某公司", plan="十日完工", state="voting",
                                       vote_from=TODAY - dt.timedelta(days=5),
                                       vote_until=TODAY + dt.timedelta(days=days)))
    db.session.flush()


def _figure(key, estate):
    return FIGURES[key].query(db.session, _ctx(estate.id))


def test_collection_rate_per_month_is_paid_over_due(tiny):
    rows = {r["period"]: (r["due"], r["paid"], r["rate"]) for r in _figure("collection_by_month", tiny)}
    assert rows == {f"{LAST_MONTH:%Y-%m}": (Decimal("300.00"), Decimal("250.00"), Decimal("83.33")),
                    f"{TODAY:%Y-%m}": (Decimal("100.00"), Decimal("100.00"), Decimal("100.00"))}


def test_the_jurisdictions_monthly_collection_rate_is_one_line_over_every_estates_bills(tiny):
    rows = FIGURES["collection_by_month"].query(db.session, _ctx())
    assert {r["estate"] for r in rows} == {"辖区合计"}
    row = next(r for r in rows if r["period"] == f"{LAST_MONTH:%Y-%m}")
    due, paid = db.session.execute(select(func.sum(Bill.amount), func.sum(Bill.paid)).where(
        Bill.period == LAST_MONTH)).one()
    assert (row["due"], row["paid"]) == (due, paid) and due > Decimal("300.00")  # the test estate's 300.00 and more


def test_collection_rate_per_estate_sums_the_months(tiny):
    [row] = _figure("collection_by_estate", tiny)
    assert (row["due"], row["paid"], row["arrears"], row["rate"]) == (
        Decimal("400.00"), Decimal("350.00"), Decimal("50.00"), Decimal("87.50"))


def test_grid_events_are_counted_per_state(tiny):
    counts = {r["state"]: r["count"] for r in _figure("grid_events_by_state", tiny)}
    assert counts == {"已办结": 3, "已处置": 1, "已派单": 2, "已上报": 1}


def test_grid_events_on_time_counts_handled_by_the_deadline(tiny):
    [row] = _figure("grid_events_on_time", tiny)
    assert (row["handled"], row["on_time"], row["overdue"], row["rate"]) == (4, 3, 1, Decimal("75.00"))


def test_rectification_notices_are_counted_per_state_and_overdue(tiny):
    [row] = _figure("rectifications", tiny)
    assert {k: row[k] for k in ("waiting", "overdue", "responded", "closed")} == \
        {"waiting": 2, "overdue": 1, "responded": 1, "closed": 1}


def test_only_published_assessments_are_charted(tiny):
    assert [(r["period"], r["score"], r["grade"]) for r in _figure("integrity_scores", tiny)] == \
        [("2025年度", Decimal("88.5"), "良好")]


def test_contracts_within_90_days_are_listed_and_within_60_urgent(tiny):
    rows = _figure("contracts_expiring", tiny)
    assert [(r["contract_no"], r["days_left"]) for r in rows] == [("T-30", 30), ("T-80", 80)]
    assert "不足 60 天" in rows[0]["notice"] and "90 天" in rows[1]["notice"]


def test_a_committee_whose_term_ends_within_the_notice_period_is_listed(tiny):
    [row] = _figure("committees", tiny)
    assert row["days_left"] == 30 and row["notice"] == "应筹备换届选举"


def test_an_estate_without_a_committee_is_listed_as_such(tiny):
    tiny.committee_founded_on = None
    db.session.flush()
    assert [r["notice"] for r in _figure("committees", tiny)] == ["尚未成立业委会"]


@pytest.mark.parametrize("founded, term_end", [
    (dt.date(2020, 1, 1), dt.date(2030, 1, 1)),  # second term running
    (dt.date(2021, 12, 1), dt.date(2026, 12, 1)),
])
def test_terms_run_back_to_back_from_the_founding_date(founded, term_end):
    assert committee_term_end(founded, dt.date(2026, 11, 1), 5) == term_end


def test_kpis_show_targets_from_the_settings_against_actual_values(tiny):
    values = {v.label: v for v in kpi_values(db.session, _ctx(tiny.id), lambda name: True)}
    assert (values["收缴率"].target, values["收缴率"].actual, values["收缴率"].met) == (98, Decimal("87.50"), False)
    # 3 satisfied visits, 1 unsatisfied: 3 / 4
    assert (values["群众满意率"].target, values["群众满意率"].actual, values["群众满意率"].met) == (85, Decimal("75.00"), False)
    assert values["满意度"].actual is None and values["满意度"].target == 98
    assert values["有效投诉率"].direction == "<=" and values["有效投诉率"].target == 2


def test_a_changed_kpi_target_is_what_the_dashboard_compares_with(tiny):
    Settings.current(db.session).kpi_public_satisfaction = 75
    values = {v.label: v for v in kpi_values(db.session, _ctx(tiny.id), lambda name: True)}
    assert values["群众满意率"].met is True


def test_waiting_items_count_the_overdue_and_expiring(tiny):
    items = {w.label: w.count for w in waiting_items(db.session, _ctx(tiny.id), lambda model: True)}
    assert items["超时未处置的网格事件"] == 1 and items["超过整改期限的整改通知"] == 1
    assert items["即将到期的物业服务合同"] == 2 and items["任期即将届满的业委会"] == 1


def test_fund_balances_sum_the_ledger_per_estate_with_the_top_up_warnings(tiny):
    [row] = _figure("fund_balances", tiny)
    assert (row["inflow"], row["used"], row["balance"], row["warnings"]) == (
        Decimal("3012.34"), Decimal("-800.00"), Decimal("2212.34"), 1)


def test_fund_applications_are_counted_for_every_step_zeros_included(tiny):
    from models.repair_fund import STATES

    found = _figure("fund_applications", tiny)
    assert [row["state"] for row in found] == [STATES.label(c) for c in STATES.codes if c != "archived"]
    assert {row["state"]: row["count"] for row in found if row["count"]} == {"业主表决": 2}
    assert {"state": "已申请划转", "count": 0} in found  # waiting for 备案: none, and said so


def test_votes_closing_within_the_settings_horizon_are_listed(tiny):
    assert [(r["title"], r["days_left"]) for r in _figure("votes_closing", tiny)] == [("外墙维修", 3)]


@pytest.mark.parametrize("days, listed", [(14, True), (15, False)])
def test_a_vote_closing_on_the_horizons_last_day_is_listed_and_the_day_after_is_not(ctx, days, listed):
    estate = db.session.get(Estate, 1)
    db.session.add(FundApplication(estate=estate, title="临界表决", repair_part="屋面", budget=Decimal("100.00"),
                                   contractor="某公司", plan="一周", state="voting", vote_from=TODAY,
                                   vote_until=TODAY + dt.timedelta(days=days)))
    db.session.flush()
    assert Settings.current(db.session).vote_closing_days == 14
    titles = [r["title"] for r in FIGURES["votes_closing"].query(db.session, _ctx())]
    assert ("临界表决" in titles) is listed


def test_a_longer_horizon_setting_lists_votes_further_ahead(ctx):
    estate = db.session.get(Estate, 1)
    db.session.add(FundApplication(estate=estate, title="三周后截止", repair_part="屋面", budget=Decimal("100.00"),
                                   contractor="某公司", plan="一周", state="voting", vote_from=TODAY,
                                   vote_until=TODAY + dt.timedelta(days=21)))
    Settings.current(db.session).vote_closing_days = 21
    db.session.flush()
    assert "三周后截止" in [r["title"] for r in FIGURES["votes_closing"].query(db.session, _ctx())]


def test_the_workbench_counts_closing_votes_and_top_up_warnings(tiny):
    items = {w.label: w.count for w in waiting_items(db.session, _ctx(tiny.id), lambda model: True)}
    assert items["即将截止的业主表决"] == 1 and items["维修资金需续交的分户账"] == 1


# -- daily operations: service desk, hazards, 回访 ----------------------------------------------

@pytest.fixture()
def desk(tiny):
    """Repairs, complaints and hazards of the test estate, counted by hand in the tests below."""
    clerk = Employee(estate=tiny, name="李客服", position="客服")
    db.session.add(clerk)
    db.session.flush()

    def repair(state, reported, deadline, finished=None, satisfaction=None, visited=None, reopened=0):
        db.session.add(RepairOrder(
            estate=tiny, requester="张", category="door", location="1号楼", description="门坏了",
            first_receiver=clerk, reported_at=reported, deadline=deadline, finished_at=finished, state=state,
            satisfaction=satisfaction, visited_at=visited, reopen_count=reopened))

    repair("done", NOW - 3 * DAY, NOW - DAY, NOW - 2 * DAY, "very_satisfied", NOW - DAY)   # on time, visited
    repair("done", NOW - 5 * DAY, NOW - 3 * DAY, NOW - 2 * DAY, "satisfied", NOW - DAY, 1)  # late, reopened once
    repair("visiting", NOW - 2 * DAY, NOW - DAY, NOW - DAY)                                 # at the deadline: on time
    repair("processing", NOW - 3 * DAY, NOW - HOUR)                                         # overdue
    repair("processing", NOW - DAY, NOW)                                                    # due now: not yet overdue
    repair("pending", NOW - DAY, NOW + DAY)
    repair("done", NOW - 800 * DAY, NOW - 799 * DAY, NOW - 799 * DAY, "fair", NOW - 798 * DAY, 1)  # out of the window

    def complaint(state, received, kind="complaint", urgency="normal", valid=True, replied=None,
                  satisfaction=None, reopened=0, deadline=None):
        db.session.add(Complaint(
            estate=tiny, complainant="赵", kind=kind, category="noise", urgency=urgency, content="噪声",
            first_receiver=clerk, received_at=received, valid=valid, replied_at=replied, state=state,
            satisfaction=satisfaction, visited_at=replied and NOW - HOUR, reopen_count=reopened, deadline=deadline))

    # reply deadlines: 24 h, urgent 12 h after receipt (a reopened one keeps its own)
    complaint("done", NOW - 3 * DAY, replied=NOW - 2 * DAY - HOUR, satisfaction="fair")   # on time
    complaint("visiting", NOW - 3 * DAY, urgency="urgent", valid=False, replied=NOW - 2 * DAY)  # late
    complaint("handling", NOW - 2 * DAY, satisfaction="dissatisfied", reopened=1, deadline=NOW - HOUR)  # overdue
    complaint("received", NOW - DAY, valid=False)                                          # due now: not overdue
    complaint("received", NOW - HOUR, kind="suggestion")
    complaint("closed", NOW - DAY)                                                         # 不予受理: not counted

    yesterday = TODAY - DAY
    for state, due in (("found", None), ("rectifying", yesterday), ("rectified", yesterday), ("rectifying", TODAY),
                       ("closed", TODAY - 5 * DAY)):
        db.session.add(Hazard(estate=tiny, category="fire", location="地下车库", description="隐患",
                              found_on=TODAY - 10 * DAY, due_on=due, state=state, responsible=clerk))
    db.session.flush()
    return tiny


def test_repairs_finished_by_the_deadline_are_on_time_and_open_ones_past_it_overdue(desk):
    [row] = _figure("repairs_on_time", desk)
    assert {k: row[k] for k in ("on_time", "late", "overdue", "handled", "rate")} == \
        {"on_time": 2, "late": 1, "overdue": 1, "handled": 3, "rate": Decimal("66.67")}


def test_complaints_answered_by_their_urgencys_deadline_are_on_time(desk):
    [row] = _figure("complaints_on_time", desk)
    assert {k: row[k] for k in ("on_time", "late", "overdue", "handled", "rate")} == \
        {"on_time": 1, "late": 1, "overdue": 1, "handled": 2, "rate": Decimal("50.00")}


def test_open_hazards_are_counted_per_state_with_those_past_their_deadline(desk):
    [row] = _figure("open_hazards", desk)
    assert {k: row[k] for k in ("found", "rectifying", "rectified", "overdue")} == \
        {"found": 1, "rectifying": 2, "rectified": 1, "overdue": 2}


def test_revisit_satisfaction_counts_each_reopening_as_one_dissatisfied_visit(desk):
    [row] = _figure("revisit_satisfaction", desk)
    assert {k: row[k] for k in ("very_satisfied", "satisfied", "fair", "dissatisfied", "rate")} == \
        {"very_satisfied": 1, "satisfied": 1, "fair": 1, "dissatisfied": 2, "rate": Decimal("60.00")}


def test_operations_kpis_are_measured_against_their_settings_targets(desk):
    values = {v.label: v for v in kpi_values(db.session, _ctx(desk.id), lambda name: True)}
    # 3 satisfied visits of 5 (repairs and complaints); requests older than 12 months left out
    assert (values["满意度"].target, values["满意度"].actual, values["满意度"].met) == (98, Decimal("60.00"), False)
    # 2 valid complaints (not the invalid ones, the suggestion or the 不予受理 one) for 3 units
    assert (values["有效投诉率"].target, values["有效投诉率"].actual, values["有效投诉率"].met) == \
        (2, Decimal("66.67"), False)
    # 2 of the 3 finished repairs visited since they were finished
    assert (values["回访率"].target, values["回访率"].actual, values["回访率"].met) == (30, Decimal("66.67"), True)


def test_the_workbench_reminds_of_overdue_requests_and_hazards(desk):
    items = {w.label: w.count for w in waiting_items(db.session, _ctx(desk.id), lambda model: True)}
    assert items["超时未完工的报修工单"] == 1 and items["超时未答复的投诉建议"] == 1
    assert items["超过整改期限未销号的安全隐患"] == 2


def test_operations_reminders_are_for_those_who_do_the_work(desk):
    def may_fire(model, name):
        return model not in (RepairOrder, Complaint, Hazard)

    labels = {w.label for w in waiting_items(db.session, _ctx(desk.id), lambda model: True, may_fire)}
    assert not labels & {"超时未完工的报修工单", "超时未答复的投诉建议", "超过整改期限未销号的安全隐患"}
    assert "超时未处置的网格事件" in labels


@pytest.fixture()
def fund_everywhere(app):
    """Ledger entries and votes in estates 1 and 2 (the demo data has none yet), committed."""
    with app.app_context():
        for estate_id, vote_in_days in ((1, 2), (2, 5)):
            estate = db.session.get(Estate, estate_id)
            units = db.session.execute(select(Unit).where(Unit.estate_id == estate_id).order_by(Unit.id).limit(3)).scalars().all()
            _fund(estate, units, vote_in_days)
        db.session.commit()
        db.session.remove()


# -- scoping: each figure, KPI and waiting item holds only the user's estates ---------------------

def _as(app, username, read):
    """``read()`` inside a request of ``username`` (the data layer scopes it)."""
    with app.test_request_context():
        user = app.appbuilder.sm.find_user(username=username)
        login_user(user)
        g.user = user
        try:
            return read()
        finally:
            db.session.remove()


def _everything(estate_id=None, rows_only=True):
    def read():
        ctx = _ctx(estate_id)
        figures = {key: f.query(db.session, ctx) for key, f in FIGURES.items()}
        kpis = [(v.label, v.actual) for v in kpi_values(db.session, ctx, lambda name: True)]
        todos = {key: t.count(db.session, ctx) for key, t in TODOS.items()}
        return figures, kpis, todos
    return read


@pytest.mark.parametrize("user, estate_id", [("manager_a", 1), ("committee_a", 1), ("official_jd", None)])
def test_every_figure_kpi_and_waiting_item_holds_exactly_the_users_estates(app, fund_everywhere, user, estate_id):
    expected = in_db(app, _everything(estate_id))
    seen = _as(app, user, _everything())
    for (name, want), got in zip(zip(("图表", "指标", "提醒"), expected), seen):
        assert got == want, name


def test_the_scoped_figures_are_not_empty_so_the_scoping_test_can_fail(app, fund_everywhere):
    figures, kpis, todos = in_db(app, _everything(1))
    # the test estates are too small for a star rating; estate 1's committee is mid-term
    empty = [key for key, rows in figures.items() if not rows]
    assert set(empty) <= {"star_ratings", "committees"}
    other = in_db(app, _everything(2))[0]
    assert figures["collection_by_estate"] != other["collection_by_estate"]


def test_another_estates_names_never_reach_a_managers_figures(app, fund_everywhere):
    names = in_db(app, lambda: dict(db.session.execute(select(Estate.id, Estate.name)).all()))
    figures = _as(app, "manager_a", _everything())[0]
    shown = {row["estate"] for rows in figures.values() for row in rows if "estate" in row}
    assert shown == {names[1]}


def test_workflow_waiting_counts_are_scoped(app):
    def read():
        waiting = waiting_transitions(db.session, declared_entities(), lambda model, name: True)
        return {w.label: w.count for w in waiting}

    def unscoped_estate_1():
        counts = {}
        for state, count in db.session.execute(
                select(GridEvent.state, db.func.count()).where(GridEvent.estate_id == 1).group_by(GridEvent.state)):
            counts[state] = count
        return counts

    waiting = _as(app, "manager_a", read)
    expected = in_db(app, unscoped_estate_1)
    assert waiting["网格事件「已派单」，待处置完成"] == expected["dispatched"]


# -- pages ------------------------------------------------------------------------------------

def _estate_names(app):
    return in_db(app, lambda: dict(db.session.execute(select(Estate.id, Estate.name)).all()))


def test_the_official_sees_every_estate_of_the_street_side_by_side(app):
    page = text_of(client_of(app, "official_jd").get("/dashboard/jurisdiction/"))
    assert all(name in page for name in _estate_names(app).values())
    assert 'data-figure="spec-collection_by_estate"' in page


def test_a_manager_sees_only_his_estate_and_another_estates_page_is_not_found(app):
    names = _estate_names(app)
    manager = client_of(app, "manager_a")
    page = text_of(manager.get("/dashboard/estate/"))
    assert names[1] in page and names[2] not in page and names[3] not in page
    assert manager.get("/dashboard/estate/?estate=2").status_code == 404
    assert manager.get("/dashboard/estate/?estate=abc").status_code == 404


@pytest.mark.parametrize("user", ["manager_a", "staff_a", "committee_a"])
def test_the_jurisdiction_overview_is_for_officials(app, user):
    assert client_of(app, user).get("/dashboard/jurisdiction/").status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page(app):
    response = client_of(app, None).get("/dashboard/estate/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


_PAGES = ("/", "/dashboard/jurisdiction/", "/dashboard/jurisdiction/collection_by_estate/", "/dashboard/estate/",
          "/dashboard/estate/?estate=1")


@pytest.mark.parametrize("user", ["admin", "official_jd", "manager_a"])
def test_dashboard_pages_show_no_english(app, user):
    data = in_db(app, lambda: data_words(db.session))
    client = client_of(app, user)
    for url in _PAGES:
        response = client.get(url)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, url
        assert english_words(text_of(response), data) == set(), url


def test_dashboard_pages_load_nothing_from_another_host_and_scripts_carry_the_nonce(app):
    client = client_of(app, "official_jd")
    for url in _PAGES:
        response = client.get(url)
        html = text_of(response)
        refs = re.findall(r"""(?:src|href|action)\s*=\s*["']([^"']+)["']""", html)
        assert [r for r in refs if re.match(r"(?:https?:)?//", r)] == [], url
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert f'nonce="{nonce}"' in tag, (url, tag)
    html = text_of(client.get("/dashboard/jurisdiction/"))
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert client.get("/static/vendor/echarts/echarts.min.js").status_code == 200


@pytest.mark.parametrize("user", ["official_jd", "manager_a"])
def test_each_workbench_link_lists_as_many_rows_as_its_badge_says(app, user):
    client = client_of(app, user)
    html = text_of(client.get("/"))
    links = re.findall(r'<a class="list-group-item" href="([^"]+)"><span class="badge">(\d+)</span>', html)
    assert len(links) >= 5
    for href, count in links:
        # the 超时 reminders open the lists' own 超时 page, which redirects to the filtered list
        listed = client.get(unescape(href), follow_redirects=True)
        assert listed.status_code == 200, href
        assert _listed(text_of(listed)) == int(count), href


def _listed(page):
    """Rows of a list page, or units of the 续交预警 page (a page of its own, no FAB list)."""
    units = re.search(r"共 <strong>(\d+)</strong> 户", page)
    return int(units.group(1)) if units else record_count(page)


def test_the_service_desk_reminders_are_on_the_managers_workbench_not_the_officials(app):
    reminders = ("超时未完工的报修工单", "超时未答复的投诉建议", "超过整改期限未销号的安全隐患")
    assert all(label in text_of(client_of(app, "manager_a").get("/")) for label in reminders)
    assert not any(label in text_of(client_of(app, "official_jd").get("/")) for label in reminders)


def test_the_workbench_offers_only_transitions_the_user_may_fire(app):
    html = text_of(client_of(app, "manager_a").get("/"))
    assert "网格事件「已派单」，待处置完成" in html
    # the grid events' 派单 and the assessments' 公布结果 are the officials' (报修工单 has a 待派单 state of its own)
    assert "网格事件「已上报」" not in html and "待公布结果" not in html
    assert "报修工单「待派单」，待派单" in html


# -- ranking and axes ----------------------------------------------------------------------------

def test_estates_are_ranked_worst_first_and_estates_without_a_rate_come_last():
    from views.dashboard import ranked

    rows = [{"estate": "甲", "rate": Decimal("96.35")}, {"estate": "乙", "rate": None},
            {"estate": "丙", "rate": Decimal("95.82")}]
    assert [(r["rank"], r["estate"]) for r in ranked(rows, "rate")] == [(1, "丙"), (2, "甲"), (3, "乙")]


def test_rate_charts_run_from_zero_to_one_hundred_and_count_charts_from_zero():
    assert FIGURES["collection_by_estate"].percent_axis
    assert not FIGURES["fund_applications"].percent_axis


def test_the_jurisdiction_page_ranks_estates_by_collection_rate(app):
    page = text_of(client_of(app, "official_jd").get("/dashboard/jurisdiction/"))
    table = page[page.find('id="table-collection_by_estate"'):]
    table = table[:table.find("</table>")]
    assert "排名（差→好）" in table
    rates = [Decimal(r) for r in re.findall(r"<td>(\d+\.\d\d)</td></tr>", table)]
    assert rates == sorted(rates) and len(rates) >= 2


@pytest.mark.parametrize("part, whole, met", [(19599, 20000, False), (19600, 20000, True), (39199, 40000, False)])
def test_a_kpi_target_is_judged_on_the_exact_share_and_rounded_only_for_display(part, whole, met):
    """97.995 % shows as 98.00 % but does not meet ≥ 98 %; exactly 98 % does."""
    from models.dashboard import KpiValue, percent

    exact = Decimal(part) * 100 / Decimal(whole)
    value = KpiValue("收缴率", 98, ">=", percent(part, whole), "", exact)
    assert value.met is met
    if part == 39199:
        assert value.actual == Decimal("98.00") and value.met is False


def test_an_application_whose_publicity_ended_waits_on_the_committees_workbench_only(app):
    from sqlalchemy import update

    from app.extensions import db
    from models.repair_fund import FundApplication

    with app.app_context():  # the demo's application in 业主表决, set back into 公示 that ended yesterday
        db.session.execute(update(FundApplication).where(FundApplication.state == "voting").values(
            state="publicity", publicity_from=clock.today() - dt.timedelta(days=8),
            publicity_until=clock.today() - dt.timedelta(days=1)))
        db.session.commit()
    label = "公示期满、可开始业主表决的维修资金使用申请"
    assert label in text_of(client_of(app, "committee_a").get("/"))
    assert label not in text_of(client_of(app, "manager_a").get("/"))  # the 业委会 opens the vote


@pytest.mark.parametrize("days, listed", [(0, False), (1, True), (7, True), (8, False)])
def test_a_published_fee_standard_is_listed_from_seven_days_before_it_takes_effect(tiny, days, listed):
    """Its 公示 ends when it takes effect: the 7 days before are on the 工作台 (and in the daily
    reminder); on the day itself it is in force, no longer waiting."""
    db.session.add(FeeStandard(estate=tiny, title="新标准", company_name="测试物业", service_content="清洁",
                               service_standard="二级", basis="业主大会决议", state="published",
                               published_on=TODAY, effective_from=TODAY + dt.timedelta(days=days)))
    db.session.flush()
    assert Settings.current(db.session).fee_effective_days == 7
    assert TODOS["fee_standards_taking_effect"].count(db.session, _ctx(tiny.id)) == (1 if listed else 0)


def _table_rows(page: str, key: str) -> int:
    table = page[page.find(f'id="table-{key}"'):]
    return table[:table.find("</table>")].count("<tr>") - 1  # the header row


def test_the_overview_lists_the_first_rows_of_a_long_figure_and_links_to_all_of_them(app, monkeypatch):
    """A city's official has a thousand estates: the overview's tables show the worst (or first)
    few, each figure's own page every one. Three estates against two rows: 2 listed, 3 linked."""
    monkeypatch.setattr("views.dashboard.TABLE_ROWS", 2)
    official = client_of(app, "official_jd")
    overview = text_of(official.get("/dashboard/jurisdiction/"))
    assert _table_rows(overview, "collection_by_estate") == 2
    assert "表中为前 2 行，共 3 行" in overview and 'href="/dashboard/jurisdiction/collection_by_estate/"' in overview
    whole = text_of(official.get("/dashboard/jurisdiction/collection_by_estate/"))
    assert _table_rows(whole, "collection_by_estate") == 3 and "表中为前" not in whole
    assert all(name in whole for name in _estate_names(app).values())


def test_a_figures_own_page_is_for_officials_and_only_for_figures_of_the_overview(app):
    official = client_of(app, "official_jd")
    assert official.get("/dashboard/jurisdiction/no_such_figure/").status_code == 404
    assert client_of(app, "manager_a").get("/dashboard/jurisdiction/collection_by_estate/").status_code == 403
