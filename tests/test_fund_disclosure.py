"""维修资金公开 (第30条): the figures, the periods, who sees which estate, and the demo fund."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models import clock
from models.estate import Estate, Unit
from models.fees import cents
from models.fund_vote import Ballot, VoteResult, VoteRoll
from models.repair_fund import (
    FundAccount, FundApplication, FundEntry, FundPayment, balances, current_tally, top_up_warnings,
)
from models.repair_fund_disclosure import Period, disclose, parse_period, period_of, periods
from models.settings import Settings
from models.workflow import WorkflowEvent
from tests.pages import data_words, english_words
from tests.support import assert_refused, login

TODAY = clock.today()
YEAR_2030 = Period(dt.date(2030, 1, 1), dt.date(2030, 12, 31))


def _estate(index: int = 0) -> Estate:
    return db.session.execute(select(Estate).order_by(Estate.id).offset(index).limit(1)).scalar_one()


def _disclosed() -> FundApplication:
    """The demo's paid and disclosed application of the large estate."""
    return db.session.execute(select(FundApplication).where(FundApplication.state == "disclosed",
                                                            FundApplication.estate_id == 1)).scalar_one()


def _units(estate: Estate, count: int) -> list[Unit]:
    return db.session.execute(select(Unit).where(Unit.estate_id == estate.id).order_by(Unit.id).limit(count)).scalars().all()


def _entry(estate: Estate, unit: Unit | None, kind: str, amount: str, day: dt.date) -> FundEntry:
    entry = FundEntry(estate_id=estate.id, unit_id=unit.id if unit else None, kind=kind, amount=Decimal(amount),
                      occurred_on=day, note="测试")
    db.session.add(entry)
    return entry


@pytest.fixture()
def year_2030(ctx):
    """Hand-written entries of estate 2 around the year 2030 (after every demo entry)."""
    estate = _estate(1)
    a, b = _units(estate, 2)
    _entry(estate, a, "deposit", "1000.00", dt.date(2030, 1, 1))       # first day: inside
    _entry(estate, a, "top_up", "200.50", dt.date(2030, 12, 31))       # last day: inside
    _entry(estate, b, "interest", "10.01", dt.date(2030, 6, 30))
    _entry(estate, None, "public_income", "500.00", dt.date(2030, 3, 1))
    _entry(estate, b, "refund", "-300.00", dt.date(2030, 9, 1))
    _entry(estate, a, "interest", "7.77", dt.date(2029, 12, 31))       # day before: the opening balance
    _entry(estate, b, "top_up", "99.99", dt.date(2031, 1, 1))          # day after: not in the period
    db.session.commit()
    return estate, a, b


# -- the figures ---------------------------------------------------------------------------

def test_totals_of_the_period_are_the_sums_of_its_entries_by_kind(year_2030):
    estate, _a, _b = year_2030
    report = disclose(db.session, estate.id, YEAR_2030)
    assert report.deposits == Decimal("1200.50")
    assert report.interest == Decimal("10.01")
    assert report.public_income == Decimal("500.00")
    assert report.refunded == Decimal("300.00")
    assert report.used == Decimal("0.00")


def test_opening_balance_is_every_entry_before_the_first_day(year_2030):
    estate, _a, _b = year_2030
    before = [e.amount for e in db.session.execute(select(FundEntry).where(
        FundEntry.estate_id == estate.id, FundEntry.occurred_on < YEAR_2030.start)).scalars()]
    report = disclose(db.session, estate.id, YEAR_2030)
    assert report.opening == sum(before) and Decimal("7.77") <= report.opening


def test_closing_balance_is_opening_plus_the_periods_movements(year_2030):
    estate, _a, _b = year_2030
    report = disclose(db.session, estate.id, YEAR_2030)
    assert report.closing == report.opening + Decimal("1200.50") + Decimal("10.01") + Decimal("500.00") - Decimal("300.00")
    assert report.closing == sum(e.amount for e in db.session.execute(select(FundEntry).where(
        FundEntry.estate_id == estate.id, FundEntry.occurred_on <= YEAR_2030.end)).scalars())


def test_each_unit_ledger_closes_at_the_sum_of_its_entries(year_2030):
    estate, a, b = year_2030
    lines = {line.unit_id: line for line in disclose(db.session, estate.id, YEAR_2030).ledgers}
    for unit in (a, b):
        entries = db.session.execute(select(FundEntry).where(FundEntry.unit_id == unit.id)).scalars().all()
        line = lines[unit.id]
        assert line.closing == sum(e.amount for e in entries if e.occurred_on <= YEAR_2030.end)
        assert line.opening == sum(e.amount for e in entries if e.occurred_on < YEAR_2030.start)
        assert line.closing == line.opening + line.deposits - line.uses + line.interest + line.other
    assert lines[a.id].deposits == Decimal("1200.50")
    assert lines[b.id].other == Decimal("-300.00") and lines[b.id].interest == Decimal("10.01")


def test_every_unit_of_the_estate_has_a_ledger_line_and_the_rest_is_undivided(year_2030):
    estate, _a, _b = year_2030
    report = disclose(db.session, estate.id, YEAR_2030)
    units = db.session.scalar(select(func.count()).select_from(Unit).where(Unit.estate_id == estate.id))
    assert len(report.ledgers) == units
    undivided = db.session.scalar(select(func.sum(FundEntry.amount)).where(
        FundEntry.estate_id == estate.id, FundEntry.unit_id.is_(None), FundEntry.occurred_on <= YEAR_2030.end))
    assert report.undivided == (undivided or Decimal("0.00"))


def test_a_reversing_entry_nets_out_of_its_kind(year_2030):
    from models.repair_fund import reverse_entry

    estate, a, _b = year_2030
    top_up = db.session.execute(select(FundEntry).where(FundEntry.unit_id == a.id, FundEntry.kind == "top_up",
                                                        FundEntry.amount == Decimal("200.50"))).scalar_one()
    correction = reverse_entry(db.session, top_up, "重复记账")
    correction.occurred_on = dt.date(2030, 12, 31)
    db.session.commit()
    assert disclose(db.session, estate.id, YEAR_2030).deposits == Decimal("1000.00")


def test_each_use_lists_its_apportionment_which_sums_to_the_cost(ctx):
    paid = _disclosed()
    report = disclose(db.session, paid.estate_id, period_of(paid.paid_on, 12))
    use = next(u for u in report.uses if u.application_id == paid.id)
    assert use.cost == paid.actual_cost == sum(share for _label, _area, share in use.shares)
    entries = db.session.scalar(select(func.count()).select_from(FundEntry).where(FundEntry.application_id == paid.id))
    assert len(use.shares) == entries
    assert report.used >= paid.actual_cost


def test_a_use_outside_the_period_is_not_listed(ctx):
    paid = _disclosed()
    report = disclose(db.session, paid.estate_id, YEAR_2030)
    assert report.uses == [] and report.used == 0


# -- periods -------------------------------------------------------------------------------

@pytest.mark.parametrize("months, start, end", [
    (12, dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    (6, dt.date(2026, 7, 1), dt.date(2026, 12, 31)),
    (3, dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
    (1, dt.date(2026, 8, 1), dt.date(2026, 8, 31)),
])
def test_periods_are_calendar_periods_of_the_configured_length(months, start, end):
    assert period_of(dt.date(2026, 8, 15), months) == Period(start, end)


def test_a_period_key_must_be_the_first_month_of_a_period():
    assert parse_period("2026-07", 6) == Period(dt.date(2026, 7, 1), dt.date(2026, 12, 31))
    assert parse_period("2026-02", 6) is None
    assert parse_period("2026-13", 12) is None and parse_period("abc", 12) is None


def test_the_period_list_runs_from_the_first_entry_to_today(ctx):
    estate = _estate()
    first = db.session.scalar(select(func.min(FundEntry.occurred_on)).where(FundEntry.estate_id == estate.id))
    found = periods(db.session, estate.id, 12, TODAY)
    assert found[0] == period_of(TODAY, 12) and found[-1] == period_of(first, 12)
    assert len(found) == TODAY.year - first.year + 1


def test_the_default_period_follows_the_setting(app, client):
    with app.app_context():
        Settings.current(db.session).fund_disclosure_months = 6
        db.session.commit()
    login(client, "manager_a")
    html = client.get("/fund_account/disclosure/").get_data(as_text=True)
    half = period_of(TODAY, 6)
    assert f"{half.start} 至 {half.end}" in html


# -- the admin page: the role matrix and the estate scope ------------------------------------

def test_the_manager_sees_the_disclosure_of_their_estate(app, client):
    login(client, "manager_a")
    response = client.get("/fund_account/disclosure/")
    html = response.get_data(as_text=True)
    with app.app_context():
        mine, other = _estate().name, _estate(1).name
        report = disclose(db.session, _estate().id, period_of(TODAY, 12))
    assert response.status_code == 200 and mine in html and other not in html
    assert f"{report.closing:,.2f}" in html


def test_another_estates_disclosure_is_not_found_for_the_manager(client):
    login(client, "manager_a")
    assert client.get("/fund_account/disclosure/?estate=2").status_code == 404
    assert client.get("/fund_account/disclosure/print/?estate=2").status_code == 404


@pytest.mark.parametrize("user", ["staff_a", "committee_a", "official_jd", "admin"])
def test_everyone_who_reads_fund_accounts_reads_the_disclosure(client, user):
    login(client, user)
    assert client.get("/fund_account/disclosure/?estate=1").status_code == 200


def test_the_street_official_may_choose_every_estate_of_the_street(app, client):
    login(client, "official_jd")
    assert client.get("/fund_account/disclosure/?estate=3").status_code == 200


def test_anonymous_users_are_sent_to_login(client):
    assert_refused(client.get("/fund_account/disclosure/"), logged_in=False)


def test_a_custom_period_is_checked(client):
    login(client, "manager_a")
    html = client.get("/fund_account/disclosure/?estate=1&start=2026-05-01&end=2026-04-01").get_data(as_text=True)
    assert "结束日期不能早于开始日期" in html
    html = client.get("/fund_account/disclosure/?estate=1&start=2025-03-01&end=2025-08-31").get_data(as_text=True)
    assert "2025-03-01 至 2025-08-31" in html


def test_the_printable_report_is_laid_out_for_a4(client):
    login(client, "committee_a")
    html = client.get("/fund_account/disclosure/print/?estate=1").get_data(as_text=True)
    assert "css/public.css" in html and "资金总体情况" in html and "分户账" in html
    assert "size: A4" in client.get("/static/css/public.css").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/fund_account/disclosure/", "/fund_account/disclosure/print/?estate=1",
                                 "/fund_account/list/"])
def test_the_disclosure_pages_read_in_chinese(app, client, url):
    login(client, "manager_a")
    with app.app_context():
        data = data_words(db.session)
    response = client.get(url)
    assert response.status_code == 200
    assert english_words(response.get_data(as_text=True), data) == set()


# -- the demo fund ----------------------------------------------------------------------------------

def test_demo_has_one_fund_account_per_estate(ctx):
    accounts = db.session.execute(select(FundAccount)).scalars().all()
    assert sorted(a.estate_id for a in accounts) == sorted(db.session.execute(select(Estate.id)).scalars())


def test_demo_first_deposit_of_every_unit_is_area_times_rate(ctx):
    rate = Settings.current(db.session).fund_deposit_rate
    deposits = dict(db.session.execute(
        select(FundEntry.unit_id, FundEntry.amount).where(FundEntry.kind == "deposit")).all())
    units = db.session.execute(select(Unit.id, Unit.floor_area)).all()
    assert {u: cents(area * rate) for u, area in units} == deposits


def test_demo_has_one_application_in_the_vote_with_a_partial_tally_not_yet_passing(ctx):
    voting = db.session.execute(select(FundApplication).where(FundApplication.state == "voting")).scalars().all()
    assert len(voting) == 1
    app = voting[0]
    channels = set(db.session.execute(select(Ballot.channel).where(Ballot.application_id == app.id)).scalars())
    assert channels == {"paper", "electronic"}
    counted = current_tally(db.session, app)
    assert 0 < counted.participating_heads < counted.total_heads and not counted.passed


def test_demo_has_a_paid_and_disclosed_application_with_its_apportionment_and_result(ctx):
    app = _disclosed()
    payment = db.session.execute(select(FundPayment).where(FundPayment.application_id == app.id)).scalar_one()
    shares = db.session.execute(select(FundEntry.amount).where(FundEntry.application_id == app.id)).scalars().all()
    assert payment.amount == app.actual_cost == -sum(shares)
    result = db.session.execute(select(VoteResult).where(VoteResult.application_id == app.id)).scalar_one()
    assert result.passed and app.disclosed_on is not None
    steps = db.session.execute(select(WorkflowEvent.transition).where(
        WorkflowEvent.table_name == "fund_application", WorkflowEvent.record_id == app.id)
        .order_by(WorkflowEvent.id)).scalars().all()
    assert steps == ["submit", "approve", "open_vote", "close_vote", "start_work", "accept", "settle",
                     "request_transfer", "file", "pay", "disclose"]


def test_demo_has_an_emergency_application_that_skipped_the_vote(ctx):
    app = db.session.execute(select(FundApplication).where(FundApplication.category == "emergency")).scalar_one()
    assert app.state == "paid" and app.emergency_kind
    assert db.session.scalar(select(func.count()).select_from(VoteRoll).where(VoteRoll.application_id == app.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(FundEntry).where(FundEntry.application_id == app.id)) > 0


def test_demo_has_units_in_top_up_warning(ctx):
    percent = Settings.current(db.session).fund_top_up_percent
    assert len(top_up_warnings(db.session, percent)) > 0


def test_demo_balances_are_never_negative(ctx):
    assert min(balances(db.session).values()) > 0


def test_demo_paper_ballots_have_their_scan_on_disk(app, ctx):
    scans = db.session.execute(select(Ballot.scan).where(Ballot.channel == "paper")).scalars().all()
    folder = Path(app.config["UPLOAD_FOLDER"])
    assert scans and all((folder / name).read_bytes().startswith(b"%PDF") for name in scans)
