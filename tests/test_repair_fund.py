"""Repair fund: the ledger, the application's two flows, the vote and the payment, as specifications."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DatabaseError

from app.audit import AppendOnly
from app.extensions import db
from models import clock
from models.errors import Refused
from models.estate import Building, Estate, Unit
from models.fund_vote import ONE_BALLOT, Ballot, VoteResult, VoteRoll, VoteTally, Voter, tally
from models.governing_documents import GoverningDocument
from models.people import Owner, UnitOwnership
from models.repair_fund import (
    FUND_FLOW, FundApplication, FundEntry, FundPayment, FundScope, FundUnitTotal, apportion, balances, cast_ballot,
    current_tally, deposit_first, disburse, in_top_up_warning, reverse_entry, shortfalls, top_up_warnings,
    vote_rule,
)
from models.settings import Settings
from models.workflow import Frozen, TransitionRefused, WorkflowEvent
from tests.support import client_of, electorate_ids

TODAY = clock.today()
SCAN = "scan.pdf"

# the path of each flow, in order: (transition, state after it)
NORMAL = ["submit", "approve", "open_vote", "close_vote", "start_work", "accept", "settle",
          "request_transfer", "file", "pay", "disclose", "archive"]
EMERGENCY = ["submit_emergency", "confirm_emergency", "confirm_official", "accept", "settle", "pay_emergency",
             "disclose", "archive"]


# -- helpers -----------------------------------------------------------------------------

def _estate(index: int = 0) -> Estate:
    return db.session.execute(select(Estate).order_by(Estate.id).offset(index).limit(1)).scalar_one()


def _building(estate: Estate, index: int = 0) -> Building:
    return db.session.execute(
        select(Building).where(Building.estate_id == estate.id).order_by(Building.id).offset(index).limit(1)
    ).scalar_one()


def _no_publicity_wait() -> None:
    Settings.current(db.session).fund_publicity_days = 0


def _application(estate: Estate | None = None, *, category: str = "major_repair", budget: str = "20000.00",
                 buildings=(0,), units=(), **fields) -> FundApplication:
    estate = estate or _estate()
    fields = {"exclusion_declared": True, **fields}
    app = FundApplication(
        estate=estate, title="屋面防水翻新", category=category, repair_part="1号楼屋面",
        budget=Decimal(budget), contractor="某某建筑工程有限公司", plan="30 天完工",
        emergency_kind="屋面/外墙渗漏" if category == "emergency" else None, **fields,
    )
    app.scope = [FundScope(building=_building(estate, i)) for i in buildings] + [FundScope(unit=u) for u in units]
    db.session.add(app)
    db.session.flush()
    return app


def _deposit(estate: Estate) -> None:
    deposit_first(db.session, estate, Decimal("100.00"), TODAY - dt.timedelta(days=400))
    db.session.flush()


def _fire(app: FundApplication, *names: str, comment: str = "同意") -> None:
    for name in names:
        FUND_FLOW.fire(db.session, app, name, None, comment)
        db.session.flush()


def _vote_all(app: FundApplication, choice: str = "yes") -> None:
    """Every person of the roll votes, through their first unit."""
    for unit_id in db.session.execute(select(func.min(VoteRoll.unit_id)).where(VoteRoll.application_id == app.id)
                                      .group_by(VoteRoll.person)).scalars():
        _cast(app, unit_id, choice)


def _cast(app: FundApplication, unit_id: int, choice: str):
    ballot = cast_ballot(db.session, app, unit_id, choice, channel="paper", recorded_by="测试", scan=SCAN)
    db.session.flush()
    return ballot


def _one_owner_of(estate: Estate, count: int) -> list[Unit]:
    """The first ``count`` units of the estate's first building, owned by one person alone."""
    units = db.session.execute(select(Unit).where(Unit.building_id == _building(estate).id)
                               .order_by(Unit.id).limit(count)).scalars().all()
    owner = Owner(estate=estate, name="王测试", id_type="resident_id", id_number="11010519491231002X")
    db.session.add(owner)
    db.session.flush()
    for unit in units:
        db.session.execute(UnitOwnership.__table__.delete().where(UnitOwnership.unit_id == unit.id))
        db.session.add(UnitOwnership(unit=unit, owner=owner, share=Decimal("100")))
    db.session.flush()
    return units


def _advance(app: FundApplication, until: str) -> FundApplication:
    """Fire the application's path up to and including ``until``, voting yes when it is time."""
    _no_publicity_wait()
    path = EMERGENCY if app.category == "emergency" else NORMAL
    for name in path[: path.index(until) + 1]:
        if name == "close_vote":
            _vote_all(app)
        if name == "settle" and app.actual_cost is None:
            app.actual_cost = (app.budget * Decimal("0.9")).quantize(Decimal("0.01"))
            db.session.flush()
        _fire(app, name)
    return app


def _balance_of(unit_id: int) -> Decimal:
    return balances(db.session, [unit_id])[unit_id]


# -- the ledger ---------------------------------------------------------------------------

def test_first_deposit_is_area_times_rate_to_the_cent(ctx):
    estate = _estate(2)
    unit = Unit(estate=estate, building=_building(estate), floor=1, room_no="新增101", floor_area=Decimal("89.67"))
    db.session.add(unit)
    db.session.flush()
    deposit_first(db.session, estate, Decimal("123.45"), TODAY)
    amounts = db.session.execute(select(FundEntry.amount).where(FundEntry.unit_id == unit.id)).scalars().all()
    assert amounts == [Decimal("11069.76")]  # 89.67 × 123.45 = 11069.7615


def test_first_deposit_is_never_recorded_twice(ctx):
    estate = _estate(2)
    deposit_first(db.session, estate, Decimal("100.00"), TODAY)
    assert deposit_first(db.session, estate, Decimal("100.00"), TODAY) == 0


def test_a_balance_is_the_sum_of_its_entries(ctx):
    estate = _estate(2)
    _deposit(estate)
    unit = db.session.execute(select(Unit).where(Unit.estate_id == estate.id)).scalars().first()
    db.session.add(FundEntry(estate=estate, unit=unit, kind="interest", amount=Decimal("12.34"), occurred_on=TODAY))
    db.session.add(FundEntry(estate=estate, unit=unit, kind="refund", amount=Decimal("-0.34"), occurred_on=TODAY))
    db.session.flush()
    total = db.session.scalar(select(func.sum(FundEntry.amount)).where(FundEntry.unit_id == unit.id))
    assert _balance_of(unit.id) == Decimal(total)


def test_an_entry_cannot_be_changed_through_the_orm(ctx):
    estate = _estate(2)
    _deposit(estate)
    entry = db.session.execute(select(FundEntry).where(FundEntry.estate_id == estate.id)).scalars().first()
    entry.amount = Decimal("1.00")
    with pytest.raises(AppendOnly, match="资金流水只能追加"):
        db.session.flush()


def test_an_entry_cannot_be_deleted_through_the_orm(ctx):
    estate = _estate(2)
    _deposit(estate)
    entry = db.session.execute(select(FundEntry).where(FundEntry.estate_id == estate.id)).scalars().first()
    db.session.delete(entry)
    with pytest.raises(AppendOnly):
        db.session.flush()


@pytest.mark.parametrize("statement", ["UPDATE fund_entry SET amount = 1", "DELETE FROM fund_entry"])
def test_the_database_refuses_raw_sql_on_entries(ctx, statement):
    _deposit(_estate(2))
    db.session.commit()
    with pytest.raises(DatabaseError, match="fund_entry is append-only"):
        db.session.execute(text(statement))
    db.session.rollback()


@pytest.mark.parametrize("table", ["ballot", "vote_roll", "vote_result", "fund_payment"])
def test_the_vote_and_the_payments_are_append_only_in_the_database(ctx, table):
    _deposit(_estate(2))
    _advance(_application(_estate(2), budget="1000.00"), "disclose")
    db.session.commit()
    for statement in (f"DELETE FROM {table}", f"UPDATE {table} SET estate_id = estate_id"):
        with pytest.raises(DatabaseError, match=f"{table} is append-only"):
            db.session.execute(text(statement))
        db.session.rollback()


@pytest.mark.parametrize(("method", "path"), [
    ("put", "/api/v1/fundentry/{pk}"), ("delete", "/api/v1/fundentry/{pk}"),
    ("get", "/fund_entry/edit/{pk}"), ("post", "/fund_entry/edit/{pk}"),
    ("post", "/fund_entry/delete/{pk}"), ("get", "/fund_entry/import/"),
])
def test_no_route_edits_or_deletes_an_entry(app, method, path):
    with app.app_context():
        estate = _estate()
        _deposit(estate)
        entry = db.session.execute(select(FundEntry).where(FundEntry.estate_id == estate.id)).scalars().first()
        pk, amount = entry.id, entry.amount
        db.session.commit()
    client = client_of(app, "admin")
    response = getattr(client, method)(path.format(pk=pk), json={"amount": "1.00"} if method == "put" else None)
    assert response.status_code in (404, 405)
    with app.app_context():
        assert db.session.get(FundEntry, pk).amount == amount


def test_a_correction_is_a_reversing_entry_pointing_at_the_original(ctx):
    estate = _estate(2)
    unit = db.session.execute(select(Unit).where(Unit.estate_id == estate.id)).scalars().first()
    wrong = FundEntry(estate=estate, unit=unit, kind="top_up", amount=Decimal("500.00"), occurred_on=TODAY)
    db.session.add(wrong)
    db.session.flush()
    before = _balance_of(unit.id)
    correction = reverse_entry(db.session, wrong, "金额录错")
    db.session.flush()
    assert (correction.amount, correction.kind, correction.reverses_id) == (Decimal("-500.00"), "top_up", wrong.id)
    assert _balance_of(unit.id) == before - Decimal("500.00")
    assert db.session.get(FundEntry, wrong.id).amount == Decimal("500.00")


def test_an_entry_is_reversed_at_most_once(ctx):
    estate = _estate(2)
    unit = db.session.execute(select(Unit).where(Unit.estate_id == estate.id)).scalars().first()
    entry = FundEntry(estate=estate, unit=unit, kind="interest", amount=Decimal("5.00"), occurred_on=TODAY)
    db.session.add(entry)
    db.session.flush()
    correction = reverse_entry(db.session, entry, "重复记账")
    db.session.flush()
    with pytest.raises(Refused, match="已经冲正过"):
        reverse_entry(db.session, entry, "再次冲正")
    with pytest.raises(Refused, match="冲正流水不能再冲正"):
        reverse_entry(db.session, correction, "冲正的冲正")


def test_a_correction_needs_a_reason(ctx):
    estate = _estate(2)
    _deposit(estate)
    entry = db.session.execute(select(FundEntry).where(FundEntry.estate_id == estate.id)).scalars().first()
    with pytest.raises(Refused, match="须填写原因"):
        reverse_entry(db.session, entry, "  ")


@pytest.mark.parametrize(("kind", "amount", "message"), [
    ("refund", "100.00", "退还金额须填负数"),
    ("deposit", "-1.00", "交存金额须大于 0"),
    ("use", "-1.00", "使用分摊只能由维修资金划转自动生成"),
    ("transfer", "1.00", "过户时分户账余额随房屋转移"),
])
def test_the_entry_form_refuses_a_wrong_sign_in_chinese(app, kind, amount, message):
    with app.app_context():
        estate = _estate()
        unit = db.session.execute(select(Unit).where(Unit.estate_id == estate.id)).scalars().first()
        form = {"estate": estate.id, "unit": unit.id, "kind": kind, "amount": amount,
                "occurred_on": TODAY.isoformat(), "note": ""}
        count = db.session.scalar(select(func.count()).select_from(FundEntry))
    client = client_of(app, "manager_a")
    html = client.post("/fund_entry/add", data=form, follow_redirects=True).get_data(as_text=True)
    assert message in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FundEntry)) == count


def test_top_up_warning_below_the_threshold_share_of_the_first_deposit(ctx):
    estate = _estate(2)
    _deposit(estate)
    low, exact = db.session.execute(
        select(Unit).where(Unit.estate_id == estate.id).order_by(Unit.id).limit(2)).scalars().all()
    for unit, keep_percent in ((low, 29), (exact, 30)):
        first = db.session.scalar(select(func.sum(FundEntry.amount)).where(
            FundEntry.unit_id == unit.id, FundEntry.kind == "deposit"))
        first = Decimal(first)
        spend = _balance_of(unit.id) - (first * keep_percent / 100).quantize(Decimal("0.01"))
        db.session.add(FundEntry(estate=estate, unit=unit, kind="refund", amount=-spend, occurred_on=TODAY))
    db.session.flush()
    warned = {row.unit_id for row in top_up_warnings(db.session, 30, estate.id)}
    assert low.id in warned and exact.id not in warned


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(balance=st.integers(-10**8, 10**12), first_deposit=st.integers(1, 10**12), threshold=st.integers(0, 150))
@example(balance=-1, first_deposit=1000, threshold=0)  # a balance just below zero: -0.1 % rounds to 0
@example(balance=2999, first_deposit=10000, threshold=30)  # 29.99 % is 29
@example(balance=3000, first_deposit=10000, threshold=30)  # exactly 30 %: no warning
@example(balance=-250, first_deposit=100, threshold=0)  # -250 % rounds towards zero, to -2
def test_the_top_up_warning_is_exactly_a_balance_below_the_threshold_share(ctx, balance, first_deposit, threshold):
    """The warning reads the units from an index of the whole percent left (computed by the
    database from the stored values) and decides by the exact comparison: for any balance and
    first deposit (cents) it is raised exactly when balance < threshold % of the first deposit."""
    estate_id = db.session.scalar(select(Estate.id).order_by(Estate.id).limit(1))
    unit = {"estate_id": estate_id, "unit_key": -1}  # a row of its own (kept rows have unit ids)
    try:
        db.session.execute(insert(FundUnitTotal).values(
            **unit, inflow=0, used=0, balance=Decimal(balance).scaleb(-2), first_deposit=Decimal(first_deposit).scaleb(-2)))
        warned = db.session.scalar(select(func.count()).select_from(FundUnitTotal).where(
            FundUnitTotal.unit_key == -1, in_top_up_warning(threshold)))
        assert warned == (1 if balance * 100 < first_deposit * threshold else 0)
    finally:
        db.session.rollback()


def test_the_fund_totals_can_be_analyzed_with_an_estate_row_without_a_first_deposit(ctx):
    """The database's statistics of the percent left are computed over every row, the estate's
    own (first deposit 0) too: the expression must not divide by zero there, or every ANALYZE
    of the table (autovacuum's included) fails."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps no statistics of an expression")
    estate_id = db.session.scalar(select(Estate.id).order_by(Estate.id).limit(1))
    try:
        db.session.execute(insert(FundUnitTotal).values(
            estate_id=estate_id, unit_key=-2, inflow=0, used=Decimal("5.00"), balance=Decimal("-5.00"),
            first_deposit=Decimal("0.00")))
        db.session.execute(text("ANALYZE fund_unit_total"))  # samples this transaction's own row
        assert db.session.scalar(select(func.count()).select_from(FundUnitTotal).where(
            FundUnitTotal.unit_key == -2, in_top_up_warning(30))) == 0
    finally:
        db.session.rollback()


# -- apportionment ------------------------------------------------------------------------

def test_apportionment_by_area_with_the_remainder_to_the_largest_remainders():
    # 100.00 over three equal units: 33.33 each, the odd cent to the first (ties: smaller key)
    assert apportion(Decimal("100.00"), {3: Decimal("50"), 1: Decimal("50"), 2: Decimal("50")}) == {
        1: Decimal("33.34"), 2: Decimal("33.33"), 3: Decimal("33.33")}
    # 10.00 over 60 ㎡ and 40 ㎡ splits exactly
    assert apportion(Decimal("10.00"), {1: Decimal("60"), 2: Decimal("40")}) == {1: Decimal("6.00"), 2: Decimal("4.00")}


areas = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2, allow_nan=False)


@given(amount=st.decimals(min_value=0, max_value=Decimal("9999999.99"), places=2, allow_nan=False),
       weights=st.dictionaries(st.integers(1, 10_000), areas, min_size=1, max_size=60))
def test_apportioned_shares_always_sum_exactly_to_the_amount(amount, weights):
    shares = apportion(amount, weights)
    assert sum(shares.values()) == amount
    assert set(shares) == set(weights)
    total = sum(weights.values())
    for key, share in shares.items():
        exact = amount * weights[key] / total
        assert abs(share - exact) < Decimal("0.01")  # each share within one cent of its exact value
        assert share >= 0 and share == share.quantize(Decimal("0.01"))


@given(weights=st.dictionaries(st.integers(1, 1000), areas, min_size=1, max_size=30))
def test_apportionment_is_deterministic_whatever_the_order(weights):
    amount = Decimal("1234.57")
    reordered = dict(reversed(list(weights.items())))
    assert apportion(amount, weights) == apportion(amount, reordered)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cost=st.decimals(min_value=Decimal("1.00"), max_value=Decimal("300000.00"), places=2, allow_nan=False))
def test_a_payment_never_drives_a_balance_negative(ctx, cost):
    """Either every share is covered and paid exactly, or nothing is paid at all."""
    estate = _estate(2)
    _deposit(estate)
    app = _advance(_application(estate, budget=str(cost), actual_cost=cost, audit_report="report.pdf"), "settle")
    unit_ids = electorate_ids(app)
    before = balances(db.session, unit_ids)
    short = shortfalls(db.session, app)
    try:
        _fire(app, "request_transfer", "file", "pay")
    except TransitionRefused as refused:
        assert short and "余额不足" in str(refused)
        assert balances(db.session, unit_ids) == before
    else:
        assert not short
        after = balances(db.session, unit_ids)
        assert all(value >= 0 for value in after.values())
        assert sum(before.values()) - sum(after.values()) == cost
    db.session.rollback()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choices=st.lists(st.sampled_from([None, "yes", "no", "abstain"]), min_size=1, max_size=120),
       silence_is_consent=st.booleans())
def test_the_count_in_the_database_equals_the_count_of_the_law(ctx, choices, silence_is_consent):
    """current_tally aggregates in SQL; fund_vote.tally is the arithmetic read against the law.
    Ballots are written directly, one per person, through that person's first unit: both
    counts must agree, number for number."""
    estate = _estate()
    try:
        _one_owner_of(estate, 4)
        app = _advance(_application(estate), "open_vote")
        db.session.execute(update(FundApplication).where(FundApplication.id == app.id)
                           .values(silent_consent=silence_is_consent))
        roll = db.session.execute(select(VoteRoll).where(VoteRoll.application_id == app.id)
                                  .order_by(VoteRoll.unit_id)).scalars().all()
        first_unit = {}
        for entry in roll:
            first_unit.setdefault(entry.person, entry.unit_id)
        ballots = {person: choice for person, choice in zip(first_unit, choices) if choice}
        for person, choice in ballots.items():
            db.session.add(Ballot(application_id=app.id, estate_id=estate.id, unit_id=first_unit[person],
                                  person=person, choice=choice, channel="electronic", recorded_by="业主",
                                  cast_at=dt.datetime(2026, 11, 1)))
        db.session.flush()
        voters = [Voter(entry.unit_id, int(entry.area * 100), entry.person) for entry in roll]
        expected = tally(voters, ballots, vote_rule(app), silence_is_consent)
        assert current_tally(db.session, app) == expected
        assert expected.units == len(roll)
        assert expected.voted_heads == len(ballots)
    finally:
        db.session.rollback()


# -- the application's flows -------------------------------------------------------------

def test_the_normal_flow_goes_through_the_vote_to_archive(ctx):
    _deposit(_estate(2))
    app = _advance(_application(_estate(2), budget="1000.00"), "archive")
    events = db.session.execute(select(WorkflowEvent.to_state).where(
        WorkflowEvent.table_name == "fund_application", WorkflowEvent.record_id == app.id)
        .order_by(WorkflowEvent.id)).scalars().all()
    assert events == ["submitted", "publicity", "voting", "vote_passed", "in_progress", "accepted", "settled",
                      "transfer_requested", "filed", "paid", "disclosed", "archived"]


def test_the_emergency_flow_needs_no_vote(ctx):
    _deposit(_estate(2))
    app = _advance(_application(_estate(2), category="emergency", budget="1000.00"), "archive")
    assert app.state == "archived"
    assert db.session.scalar(select(func.count()).select_from(VoteRoll).where(VoteRoll.application_id == app.id)) == 0


@pytest.mark.parametrize("until", ["submit_emergency", "confirm_emergency", "confirm_official", "accept"])
def test_the_emergency_path_cannot_skip_to_paid(ctx, until):
    _deposit(_estate(2))
    app = _advance(_application(_estate(2), category="emergency", budget="1000.00", actual_cost=Decimal("900.00")),
                   until)
    for name in ("pay_emergency", "pay", "file", "request_transfer"):
        with pytest.raises(TransitionRefused):
            _fire(app, name)
    assert app.state != "paid"


def test_the_emergency_path_is_refused_for_a_normal_category(ctx):
    app = _application(category="major_repair")
    with pytest.raises(TransitionRefused, match="不适用"):
        _fire(app, "submit_emergency")


def test_an_emergency_must_be_one_of_the_configured_situations(ctx):
    app = _application(category="emergency")
    app.emergency_kind = "小区绿化补种"
    with pytest.raises(TransitionRefused, match="应急维修须属于以下紧急情况之一：电梯故障"):
        _fire(app, "submit_emergency")


def test_a_normal_application_cannot_take_the_emergency_submission_and_vice_versa(ctx):
    emergency = _application(category="emergency")
    with pytest.raises(TransitionRefused, match="不适用"):
        _fire(emergency, "submit")
    available = {t.name for t in FUND_FLOW.available(emergency)}
    assert "submit_emergency" in available and "submit" not in available


def test_submission_needs_the_declaration_of_no_excluded_cost(ctx):
    app = _application(exclusion_declared=False)
    with pytest.raises(TransitionRefused, match="不属于不得列支的四类情形"):
        _fire(app, "submit")


def test_submission_needs_a_scope(ctx):
    app = _application(buildings=())
    with pytest.raises(TransitionRefused, match="列支范围为空"):
        _fire(app, "submit")


def test_returning_needs_a_comment(ctx):
    app = _application()
    _fire(app, "submit")
    with pytest.raises(TransitionRefused, match="必须填写意见"):
        _fire(app, "return", comment="")


def test_the_vote_opens_only_after_the_publicity_period(ctx):
    Settings.current(db.session).fund_publicity_days = 7
    app = _application()
    _fire(app, "submit", "approve")
    assert (app.publicity_from, app.publicity_until) == (TODAY, TODAY + dt.timedelta(days=6))
    with pytest.raises(TransitionRefused, match="公示期满后方可开始表决"):
        _fire(app, "open_vote")


def test_the_vote_closes_early_only_when_every_person_has_voted(ctx):
    app = _advance(_application(), "open_vote")
    first = db.session.execute(select(VoteRoll.unit_id).where(VoteRoll.application_id == app.id)).scalars().first()
    _cast(app, first, "yes")
    with pytest.raises(TransitionRefused, match="位业主未投票"):
        _fire(app, "close_vote")


def test_the_tally_not_a_person_decides_the_outcome(ctx):
    app = _advance(_application(), "open_vote")
    _vote_all(app, "no")
    _fire(app, "close_vote")
    assert app.state == "vote_failed"
    result = db.session.execute(select(VoteResult).where(VoteResult.application_id == app.id)).scalar_one()
    assert (result.passed, result.yes_heads, result.participating_area) == (False, 0, result.total_area)
    with pytest.raises(TransitionRefused):
        _fire(app, "start_work")


def test_the_stored_result_carries_the_numbers_it_came_from(ctx):
    app = _advance(_application(), "close_vote")
    result = db.session.execute(select(VoteResult).where(VoteResult.application_id == app.id)).scalar_one()
    total_area = db.session.scalar(select(func.sum(Unit.floor_area)).where(Unit.id.in_(electorate_ids(app))))
    assert result.passed and result.total_area == total_area
    assert result.yes_area == result.participating_area == result.total_area
    assert "2/3" in result.rule and "1/2" in result.rule


def test_the_electorate_of_one_building_is_exactly_its_units(ctx):
    estate = _estate()
    app = _advance(_application(estate, buildings=(1,)), "open_vote")
    building = _building(estate, 1)
    expected = set(db.session.execute(select(Unit.id).where(Unit.building_id == building.id)).scalars())
    assert set(db.session.execute(select(VoteRoll.unit_id).where(VoteRoll.application_id == app.id)).scalars()) == expected


def test_a_building_and_a_unit_inside_it_count_the_unit_once(ctx):
    estate = _estate()
    unit = db.session.execute(select(Unit).where(Unit.building_id == _building(estate).id)).scalars().first()
    app = _application(estate, units=(unit,))
    ids = electorate_ids(app)
    assert len(ids) == len(set(ids)) and unit.id in ids


def test_the_roll_counts_an_owner_of_several_units_as_one_person(ctx):
    estate = _estate()
    units = _one_owner_of(estate, 2)
    app = _advance(_application(estate), "open_vote")
    persons = db.session.execute(select(VoteRoll.person).where(
        VoteRoll.application_id == app.id, VoteRoll.unit_id.in_([u.id for u in units]))).scalars().all()
    assert len(persons) == 2 and len(set(persons)) == 1


def test_unsold_units_all_count_as_the_developer(ctx):
    estate = _estate()
    units = db.session.execute(select(Unit).where(Unit.building_id == _building(estate).id)
                               .order_by(Unit.id).limit(3)).scalars().all()
    for unit in units:
        unit.status = "unsold"
    db.session.flush()
    app = _advance(_application(estate), "open_vote")
    persons = set(db.session.execute(select(VoteRoll.person).where(
        VoteRoll.application_id == app.id, VoteRoll.unit_id.in_([u.id for u in units]))).scalars())
    assert persons == {"developer"}


@pytest.mark.parametrize("delivered_in_days, developers", [(1, True), (0, False), (None, False)])
def test_sold_units_not_yet_delivered_count_with_the_developer_as_one_person(ctx, delivered_in_days, developers):
    """建筑物区分所有权解释第九条: 未售出 and 已售出未交付 units together are the developer's one person;
    a unit delivered on the day the vote opens is its buyer's."""
    estate = _estate()
    units = _one_owner_of(estate, 2)
    for unit in units:
        unit.delivered_on = None if delivered_in_days is None else TODAY + dt.timedelta(days=delivered_in_days)
    db.session.flush()
    app = _advance(_application(estate), "open_vote")
    persons = set(db.session.execute(select(VoteRoll.person).where(
        VoteRoll.application_id == app.id, VoteRoll.unit_id.in_([u.id for u in units]))).scalars())
    assert (persons == {"developer"}) is developers


def test_one_ballot_per_unit(ctx):
    app = _advance(_application(), "open_vote")
    unit_id = db.session.execute(select(VoteRoll.unit_id).where(VoteRoll.application_id == app.id)).scalars().first()
    _cast(app, unit_id, "yes")
    with pytest.raises(Refused, match=ONE_BALLOT):
        _cast(app, unit_id, "no")


def test_the_database_itself_holds_one_ballot_per_person(ctx):
    """解释第九条: a second ballot of the same person, even through another of their units, is
    refused by the table's own key."""
    from sqlalchemy.exc import IntegrityError

    estate = _estate()
    units = _one_owner_of(estate, 2)
    app = _advance(_application(estate), "open_vote")
    ballot = _cast(app, units[0].id, "yes")
    db.session.add(Ballot(application_id=app.id, estate_id=app.estate_id, unit_id=units[1].id, person=ballot.person,
                          choice="no", channel="paper", scan=SCAN, recorded_by="绕过", cast_at=clock.now()))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_ballot_cannot_name_a_person_the_unit_does_not_belong_to(ctx):
    from sqlalchemy.exc import IntegrityError

    app = _advance(_application(), "open_vote")
    unit_id = db.session.execute(select(VoteRoll.unit_id).where(VoteRoll.application_id == app.id)).scalars().first()
    db.session.add(Ballot(application_id=app.id, estate_id=app.estate_id, unit_id=unit_id, person="owners:999999",
                          choice="yes", channel="paper", scan=SCAN, recorded_by="绕过", cast_at=clock.now()))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_unit_outside_the_scope_cannot_vote(ctx):
    estate = _estate()
    app = _advance(_application(estate, buildings=(0,)), "open_vote")
    outside = db.session.execute(select(Unit.id).where(Unit.building_id == _building(estate, 1).id)).scalars().first()
    with pytest.raises(Refused, match="不在本次表决的列支范围内"):
        _cast(app, outside, "yes")


def test_a_paper_ballot_needs_its_scan(ctx):
    app = _advance(_application(), "open_vote")
    unit_id = db.session.execute(select(VoteRoll.unit_id).where(VoteRoll.application_id == app.id)).scalars().first()
    with pytest.raises(Refused, match="须上传扫描件"):
        cast_ballot(db.session, app, unit_id, "yes", channel="paper", recorded_by="测试", scan=None)


def test_an_electronic_ballot_needs_the_unit_code(ctx):
    app = _advance(_application(), "open_vote")
    roll = db.session.execute(select(VoteRoll).where(VoteRoll.application_id == app.id)).scalars().first()
    with pytest.raises(Refused, match="电子投票码不正确"):
        cast_ballot(db.session, app, roll.unit_id, "yes", channel="electronic", recorded_by="业主", code="WRONG")
    ballot = cast_ballot(db.session, app, roll.unit_id, "yes", channel="electronic", recorded_by="业主",
                         code=roll.code.lower())
    assert ballot.channel == "electronic"


def test_no_ballot_outside_the_voting_period(ctx):
    app = _application()
    unit_id = electorate_ids(app)[0]
    with pytest.raises(Refused, match="不在表决期内"):
        _cast(app, unit_id, "yes")


def test_the_developer_votes_once_for_all_its_unsold_units(ctx):
    estate = _estate()
    units = db.session.execute(select(Unit).where(Unit.building_id == _building(estate).id)
                               .order_by(Unit.id).limit(2)).scalars().all()
    for unit in units:
        unit.status = "unsold"
    db.session.flush()
    app = _advance(_application(estate), "open_vote")
    _cast(app, units[0].id, "yes")
    with pytest.raises(Refused, match=ONE_BALLOT):
        _cast(app, units[1].id, "yes")


def test_an_owner_of_three_units_who_returns_one_ballot_participates_with_all_three(ctx):
    """民法典第二百七十八条, 解释第九条: the person counts once, with all their 专有部分."""
    estate = _estate()
    units = _one_owner_of(estate, 3)
    app = _advance(_application(estate), "open_vote")
    before = current_tally(db.session, app)
    _cast(app, units[1].id, "no")
    after = current_tally(db.session, app)
    area = sum(int(unit.floor_area * 100) for unit in units)
    assert (after.no_area, after.no_heads, after.ballots) == (area, 1, 3)
    assert after.participating_area - before.participating_area == area


def test_the_kept_count_moves_all_of_a_persons_units_to_their_ballots_choice(ctx):
    """vote_tally (kept by the database's triggers): when the vote opens every unit of the roll
    is under '' (no ballot yet), each person once; the owner of three units then votes 反对
    through one of them, and exactly those three units, their area and one person move."""
    estate = _estate()
    units = _one_owner_of(estate, 3)
    app = _advance(_application(estate), "open_vote")

    def kept() -> dict[str, tuple[int, int, int]]:
        return {row.choice: (row.units, row.area_hundredths, row.persons) for row in db.session.execute(
            select(VoteTally).where(VoteTally.application_id == app.id)).scalars()}

    roll = db.session.execute(select(func.count(), func.count(func.distinct(VoteRoll.person)))
                              .where(VoteRoll.application_id == app.id)).one()
    before = kept()
    assert set(before) == {""} and (before[""][0], before[""][2]) == tuple(roll)
    _cast(app, units[1].id, "no")
    area = sum(int(unit.floor_area * 100) for unit in units)
    assert kept() == {"": (roll[0] - 3, before[""][1] - area, roll[1] - 1), "no": (3, area, 1)}


def _rules_in_force(estate: Estate, *, silence_is_consent: bool) -> None:
    """The estate's 议事规则 in force is a new version that says (or not) that owners who do not
    vote consent; the versions before it are superseded (plain UPDATEs: versions in force are frozen)."""
    db.session.execute(update(GoverningDocument).where(GoverningDocument.estate_id == estate.id,
                                                       GoverningDocument.state == "in_force").values(state="superseded"))
    db.session.add(GoverningDocument(estate_id=estate.id, kind="rules_of_procedure", title="业主大会议事规则",
                                     state="in_force", silent_consent=silence_is_consent))
    db.session.flush()


def test_a_fund_vote_counts_silence_as_consent_where_the_rules_in_force_say_so(ctx):
    estate = _estate()
    _rules_in_force(estate, silence_is_consent=True)
    app = _advance(_application(estate), "open_vote")
    counted = current_tally(db.session, app)
    assert app.silent_consent is True
    # nobody has voted: every person and all their area agree by silence
    assert (counted.silent_heads, counted.silent_area) == (counted.total_heads, counted.total_area)
    assert counted.total_heads > 0


def test_a_fund_vote_counts_no_silence_where_the_rules_in_force_do_not_say_so(ctx):
    estate = _estate()
    _rules_in_force(estate, silence_is_consent=False)
    db.session.add(GoverningDocument(estate_id=estate.id, kind="covenant", title="管理规约修订草案", silent_consent=True))
    app = _advance(_application(estate), "open_vote")  # a draft saying so does not count
    counted = current_tally(db.session, app)
    assert app.silent_consent is False
    assert (counted.silent_heads, counted.silent_area, counted.participating_heads) == (0, 0, 0)


def test_rules_adopted_after_a_fund_vote_opened_do_not_change_its_count(ctx):
    estate = _estate()
    _rules_in_force(estate, silence_is_consent=False)
    app = _advance(_application(estate), "open_vote")
    _rules_in_force(estate, silence_is_consent=True)
    assert current_tally(db.session, app).silent_heads == 0


def test_with_silent_consent_an_owner_who_voted_is_never_partly_silent(ctx):
    """An owner who voted 反对 through one unit has no unit left to count as 同意 by silence."""
    estate = _estate()
    units = _one_owner_of(estate, 2)
    _rules_in_force(estate, silence_is_consent=True)
    app = _advance(_application(estate), "open_vote")
    silent_before = current_tally(db.session, app).silent_area
    _cast(app, units[0].id, "no")
    after = current_tally(db.session, app)
    area = sum(int(unit.floor_area * 100) for unit in units)
    assert after.silent_area == silent_before - area
    assert after.no_area == area


def test_the_plan_is_frozen_after_submission(ctx):
    app = _application()
    _fire(app, "submit")
    app.budget = Decimal("1.00")
    with pytest.raises(Frozen):
        db.session.flush()


def test_the_actual_cost_may_be_entered_during_the_works_but_not_the_plan(ctx):
    app = _advance(_application(), "start_work")
    app.actual_cost = Decimal("15000.00")
    db.session.flush()
    app.title = "改个名字"
    with pytest.raises(Frozen):
        db.session.flush()


def test_settlement_above_the_threshold_needs_the_audit_report(ctx):
    app = _advance(_application(budget="40000.00"), "accept")
    app.actual_cost = Decimal("30000.01")
    with pytest.raises(TransitionRefused, match="须上传审价"):
        _fire(app, "settle")
    app.audit_report = "report.pdf"
    _fire(app, "settle")
    assert app.state == "settled"


def test_settlement_at_exactly_the_threshold_needs_no_audit_report(ctx):
    app = _advance(_application(budget="40000.00"), "accept")
    app.actual_cost = Decimal("30000.00")
    _fire(app, "settle")
    assert app.state == "settled"


@pytest.mark.parametrize(("cost", "state"), [("10999.99", "settled"), ("11000.00", "overrun_review")])
def test_an_overrun_of_ten_percent_goes_back_for_approval(ctx, cost, state):
    app = _advance(_application(budget="10000.00"), "accept")
    app.actual_cost = Decimal(cost)
    _fire(app, "settle")
    assert app.state == state


def test_an_approved_overrun_continues_to_payment(ctx):
    app = _advance(_application(budget="10000.00"), "accept")
    app.actual_cost = Decimal("12000.00")
    _fire(app, "settle", "approve_overrun")
    assert app.state == "settled"


def test_payment_is_refused_while_a_unit_cannot_cover_its_share_and_nothing_is_written(ctx):
    estate = _estate(2)
    app = _advance(_application(estate, budget="10000000.00", actual_cost=Decimal("9999999.99"),
                                audit_report="report.pdf"), "settle")
    entries = db.session.scalar(select(func.count()).select_from(FundEntry))
    with pytest.raises(TransitionRefused, match="余额不足，须先续交"):
        _fire(app, "request_transfer")
    assert app.state == "settled"
    assert db.session.scalar(select(func.count()).select_from(FundEntry)) == entries


def test_payment_apportions_the_cost_by_area_in_one_transaction(ctx):
    estate = _estate(2)
    _deposit(estate)
    app = _advance(_application(estate, budget="2000.00"), "file")
    unit_ids = electorate_ids(app)
    before = balances(db.session, unit_ids)
    _fire(app, "pay")
    uses = db.session.execute(select(FundEntry.unit_id, FundEntry.amount).where(
        FundEntry.application_id == app.id, FundEntry.kind == "use")).all()
    assert sum(-amount for _unit, amount in uses) == app.actual_cost
    assert {unit for unit, _amount in uses} <= set(unit_ids)
    after = balances(db.session, unit_ids)
    assert sum(before.values()) - sum(after.values()) == app.actual_cost
    payment = db.session.execute(select(FundPayment).where(FundPayment.application_id == app.id)).scalar_one()
    assert (payment.amount, payment.units, app.paid_on) == (app.actual_cost, len(unit_ids), TODAY)


def test_an_application_is_paid_only_once(ctx):
    estate = _estate(2)
    _deposit(estate)
    app = _advance(_application(estate, budget="2000.00"), "pay")
    with pytest.raises(Refused, match="已经划转"):
        disburse(db.session, app)


# -- who may fire what, over HTTP -----------------------------------------------------------

# transition → the role that may fire it; every other demo role is refused
FIRED_BY = {
    "submit": "manager_a", "approve": "committee_a", "open_vote": "committee_a", "close_vote": "committee_a",
    "start_work": "manager_a", "accept": "committee_a", "settle": "manager_a", "request_transfer": "manager_a",
    "file": "official_jd", "pay": "official_jd", "disclose": "committee_a", "archive": "committee_a",
    "submit_emergency": "manager_a", "confirm_emergency": "committee_a", "confirm_official": "official_jd",
    "pay_emergency": "official_jd", "return": "committee_a", "reject_official": "official_jd",
    "approve_overrun": "committee_a", "return_overrun": "committee_a",
}
USERS = ("manager_a", "staff_a", "committee_a", "official_jd")


EMERGENCY_ONLY = {"submit_emergency", "confirm_emergency", "confirm_official", "reject_official", "pay_emergency"}
#: where a transition that is not the next step of its path starts from
STARTS_AFTER = {"return": "submit", "reject_official": "confirm_emergency",
                "approve_overrun": "settle", "return_overrun": "settle"}


def _prepared(transition: str) -> int:
    """An application of estate 1 in the state the transition starts from."""
    estate = _estate()
    _deposit(estate)
    emergency = transition in EMERGENCY_ONLY
    overrun = transition in ("approve_overrun", "return_overrun")
    app = _application(estate, category="emergency" if emergency else "major_repair", budget="1000.00",
                       actual_cost=Decimal("2000.00") if overrun else None)
    path = EMERGENCY if emergency else NORMAL
    previous = STARTS_AFTER.get(transition) or (path[path.index(transition) - 1] if path.index(transition) else None)
    if previous:
        _advance(app, previous)
    if transition == "close_vote":
        _vote_all(app)
    if transition == "settle":
        app.actual_cost = Decimal("900.00")  # entered on the edit form before settling
    db.session.commit()
    return app.id


@pytest.mark.parametrize("transition", sorted(FIRED_BY))
@pytest.mark.parametrize("user", USERS)
def test_each_transition_is_fired_only_by_its_role(app, transition, user):
    with app.app_context():
        pk = _prepared(transition)
        before = db.session.get(FundApplication, pk).state
    client = client_of(app, user)
    response = client.post(f"/fund_application/transition/{transition}/{pk}", data={"comment": "意见"})
    with app.app_context():
        after = db.session.get(FundApplication, pk).state
    if user == FIRED_BY[transition]:
        assert response.status_code == 302 and after != before, f"{user} may {transition}"
    else:
        assert response.status_code == 403 and after == before, f"{user} may not {transition}"


def test_another_estates_application_is_not_found(app):
    with app.app_context():
        pk = _application(_estate(1)).id
        db.session.commit()
    client = client_of(app, "manager_a")
    assert client.post(f"/fund_application/transition/submit/{pk}").status_code == 404
    assert client.get(f"/fund_application/show/{pk}").status_code == 404
    assert client.get(f"/fund_application/tally/{pk}").status_code == 404


def test_the_state_cannot_be_set_through_rest_or_the_edit_form(app):
    with app.app_context():
        pk = _application().id
        db.session.commit()
    client = client_of(app, "manager_a")
    client.put(f"/api/v1/fundapplication/{pk}", json={"state": "paid"})
    client.post(f"/fund_application/edit/{pk}", data={"state": "paid", "title": "新名字"})
    with app.app_context():
        assert db.session.get(FundApplication, pk).state == "draft"


def test_the_electronic_voting_codes_never_appear_on_generated_pages_or_the_api(app):
    with app.app_context():
        application = _advance(_application(), "open_vote")
        roll = db.session.execute(select(VoteRoll).where(VoteRoll.application_id == application.id)).scalars().first()
        pk, code = roll.id, roll.code
        db.session.commit()
    client = client_of(app, "admin")
    for url in (f"/vote_roll/show/{pk}", "/vote_roll/list/", f"/api/v1/vote_roll/{pk}", "/api/v1/vote_roll/",
                "/vote_roll/export/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert code.encode() not in response.data, url


def test_a_jurisdiction_rule_overrides_the_default(ctx):
    from fractions import Fraction

    from models.fund_vote import VoteRule, rule_for
    from models.region import District

    district = db.session.execute(select(District)).scalars().first()
    assert rule_for(db.session, district.id, "use").approval == Fraction(1, 2)
    db.session.add(VoteRule(district=district, matter="use", quorum="3/4", approval="2/3", strict=False, base="total",
                            basis="本市规则"))
    db.session.flush()
    rule = rule_for(db.session, district.id, "use")
    assert (rule.quorum, rule.approval, rule.strict, rule.base) == (Fraction(3, 4), Fraction(2, 3), False, "total")
    assert rule_for(db.session, district.id + 1000, "use").approval == Fraction(1, 2)


def test_the_rule_in_force_when_the_vote_opened_applies_to_the_count(ctx):
    from models.fund_vote import VoteRule

    application = _advance(_application(), "open_vote")
    for rule in db.session.execute(select(VoteRule)).scalars():
        rule.approval = "9/10"
    db.session.flush()
    _vote_all(application)
    _fire(application, "close_vote")
    result = db.session.execute(select(VoteResult).where(VoteResult.application_id == application.id)).scalar_one()
    assert "1/2" in result.rule and result.passed



# -- who records which kind of entry (app/roles.py FUND_ENTRY_RECORDERS) ----------------------

def _unit_with_balance(app) -> tuple[int, int]:
    """(estate id, unit id) of a unit of manager_a's and committee_a's estate holding money."""
    def read():
        estate = _estate()
        _deposit(estate)
        db.session.commit()
        unit = db.session.execute(select(FundEntry.unit_id).where(
            FundEntry.estate_id == estate.id, FundEntry.kind == "deposit").order_by(FundEntry.unit_id)).scalars().first()
        return estate.id, unit

    with app.app_context():
        return read()


def _entries(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(FundEntry))


def _entry(estate: int, unit: int, kind: str, amount: str) -> dict:
    return {"estate": estate, "unit": unit, "kind": kind, "amount": amount, "occurred_on": TODAY.isoformat(),
            "note": "核实后办理"}


@pytest.mark.parametrize(("user", "kind", "amount"), [
    ("manager_a", "refund", "-100.00"),  # money out of an owner's account: not the property company's to enter
    ("committee_a", "deposit", "100.00"),
    ("committee_a", "top_up", "100.00"),
    ("committee_a", "public_income", "100.00"),
])
def test_an_entry_kind_is_recorded_only_by_the_role_declared_for_it_over_rest(app, user, kind, amount):
    estate, unit = _unit_with_balance(app)
    before = _entries(app)
    answer = client_of(app, user).post("/api/v1/fund_entry/", json=_entry(estate, unit, kind, amount))
    assert answer.status_code in (400, 422)
    assert "您的角色不能登记这一类资金流水" in str(answer.get_json()["message"])
    assert _entries(app) == before


def test_a_manager_cannot_enter_a_refund_through_the_form_either(app):
    estate, unit = _unit_with_balance(app)
    before = _entries(app)
    page = client_of(app, "manager_a").post("/fund_entry/add", data=_entry(estate, unit, "refund", "-100.00"),
                                            follow_redirects=True).get_data(as_text=True)
    assert "「退还」由业委会委员记账" in page
    assert _entries(app) == before


def test_the_committee_enters_a_refund_and_the_manager_a_deposit(app):
    estate, unit = _unit_with_balance(app)
    before = _entries(app)
    refund = client_of(app, "committee_a").post("/api/v1/fund_entry/", json=_entry(estate, unit, "refund", "-100.00"))
    top_up = client_of(app, "manager_a").post("/api/v1/fund_entry/", json=_entry(estate, unit, "top_up", "50.00"))
    assert (refund.status_code, top_up.status_code) == (201, 201)
    assert _entries(app) == before + 2
