"""Fees: the 明码标价 rules, the publication workflow, bills and collection, as specifications."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from models import clock
from models.estate import Building, Estate, Unit
from models.fees import (
    ABOLISHED, IN_FORCE, NOTICE, Bill, FeeItem, FeeStandard, FeeStandardLine, Payment, generate_bills, in_force,
    record_payment,
)
from models.workflow import WorkflowEvent
from tests.support import count_queries, login

TODAY = clock.today()


# -- helpers -----------------------------------------------------------------------------

def _estate(name_index: int = 0) -> Estate:
    return db.session.execute(select(Estate).order_by(Estate.id).offset(name_index).limit(1)).scalar_one()


def _item(code: str) -> FeeItem:
    return db.session.execute(select(FeeItem).where(FeeItem.code == code)).scalar_one()


def _approved_standard(estate: Estate, effective_from: dt.date, price: str = "2.70",
                       state: str = "approved", title: str = "测试标准") -> FeeStandard:
    standard = FeeStandard(
        estate=estate, title=title, company_name="测试物业", service_content="清洁绿化",
        service_standard="二级", basis="业主大会决议", effective_from=effective_from, state=state,
    )
    standard.lines = [FeeStandardLine(item=_item("WYF"), billing_basis="per_area", unit_price=Decimal(price),
                                      price_form="guided", base_price=Decimal("2.50"), float_percent=Decimal("10"))]
    db.session.add(standard)
    db.session.commit()
    return standard


def _standard_id(estate_index: int, state: str) -> int:
    estate = _estate(estate_index)
    return db.session.execute(
        select(FeeStandard.id).where(FeeStandard.estate_id == estate.id, FeeStandard.state == state)
    ).scalars().first()


def _publish(client, standard_id: int):
    return client.post(f"/fee_standard/transition/publish/{standard_id}", follow_redirects=True)


# -- the one-month rule -------------------------------------------------------------------

def test_publishing_exactly_one_calendar_month_ahead_is_allowed(app, client):
    with app.app_context():
        pk = _approved_standard(_estate(), TODAY + relativedelta(months=1)).id
    login(client, "manager_a")
    _publish(client, pk)
    with app.app_context():
        standard = db.session.get(FeeStandard, pk)
        assert standard.state == "published" and standard.published_on == TODAY


def test_publishing_one_day_less_than_a_month_ahead_is_refused(app, client):
    with app.app_context():
        pk = _approved_standard(_estate(), TODAY + relativedelta(months=1) - dt.timedelta(days=1)).id
    login(client, "manager_a")
    html = _publish(client, pk).get_data(as_text=True)
    assert "须至少提前一个月公示" in html
    with app.app_context():
        assert db.session.get(FeeStandard, pk).state == "approved"


def test_the_refusal_names_the_earliest_allowed_date(app, client):
    with app.app_context():
        pk = _approved_standard(_estate(), TODAY + dt.timedelta(days=3)).id
    login(client, "manager_a")
    earliest = TODAY + relativedelta(months=1)
    assert f"{earliest:%Y年%m月%d日}" in _publish(client, pk).get_data(as_text=True)


def test_the_show_page_explains_the_earliest_effective_date_before_publishing(app, client):
    with app.app_context():
        pk = _approved_standard(_estate(), TODAY + relativedelta(months=2)).id
    login(client, "manager_a")
    earliest = TODAY + relativedelta(months=1)
    assert f"生效日期最早为 {earliest:%Y年%m月%d日}" in client.get(f"/fee_standard/show/{pk}").get_data(as_text=True)


def test_the_first_standard_of_an_estate_may_take_effect_at_once(app, ctx):
    estate = Estate(community=_estate().community, name="新建小区", code="NEW-1", address="新路 1 号")
    db.session.add(estate)
    db.session.commit()
    standard = _approved_standard(estate, TODAY)
    assert standard.workflow_notes(db.session)[0].startswith("本小区尚无生效的收费标准")
    from models.fees import FEE_STANDARD_FLOW

    FEE_STANDARD_FLOW.fire(db.session, standard, "publish")
    db.session.commit()
    assert in_force(db.session, estate.id, TODAY).id == standard.id


@pytest.mark.parametrize("after_days, allowed", [(10, False), (None, True)])
def test_replacing_a_standard_still_waiting_for_its_date_needs_a_months_notice_too(app, ctx, after_days, allowed):
    """《物业服务收费明码标价规定》: owners get a month's notice of any change of a published price,
    also when the standard it replaces has been published but is not in force yet (公示中)."""
    from models.fees import FEE_STANDARD_FLOW
    from models.workflow import TransitionRefused

    estate = Estate(community=_estate().community, name="待执行小区", code="NEW-2", address="新路 2 号")
    db.session.add(estate)
    db.session.commit()
    first = _approved_standard(estate, TODAY + dt.timedelta(days=5), title="首份标准")
    FEE_STANDARD_FLOW.fire(db.session, first, "publish")  # no standard in force: may start in 5 days
    db.session.commit()
    day = first.effective_from + dt.timedelta(days=after_days) if after_days else TODAY + relativedelta(months=1)
    replacement = _approved_standard(estate, day, price="2.80", title="替换标准")
    if allowed:
        FEE_STANDARD_FLOW.fire(db.session, replacement, "publish")
        assert replacement.state == "published"
    else:
        with pytest.raises(TransitionRefused, match="须至少提前一个月公示"):
            FEE_STANDARD_FLOW.fire(db.session, replacement, "publish")


# -- the guidance band ----------------------------------------------------------------------

@pytest.mark.parametrize("price, allowed", [
    ("2.25", True), ("2.75", True), ("2.50", True), ("2.2499", False), ("2.7501", False), ("3.00", False),
])
def test_a_guided_price_must_lie_within_base_plus_minus_the_float(app, admin_client, price, allowed):
    with app.app_context():
        standard = FeeStandard(estate=_estate(), title="草稿", company_name="测试物业", service_content="清洁",
                               service_standard="二级", basis="决议", effective_from=TODAY + relativedelta(months=3))
        db.session.add(standard)
        db.session.commit()
        data = {"standard": standard.id, "item": _item("WYF").id, "billing_basis": "per_area",
                "unit_price": price, "price_form": "guided", "base_price": "2.50", "float_percent": "10"}
        before = db.session.scalar(select(func.count()).select_from(FeeStandardLine))
    response = admin_client.post("/fee_standard_line/add", data=data)
    with app.app_context():
        after = db.session.scalar(select(func.count()).select_from(FeeStandardLine))
    assert (after == before + 1) is allowed
    if not allowed:
        assert "实际收费标准须在基准价上下浮动幅度之内" in response.get_data(as_text=True)


@pytest.mark.parametrize("price, allowed", [
    ("1.1110", False), ("1.1111", True), ("1.3579", True), ("1.3580", False),
])
def test_the_guidance_band_is_exact_never_rounded_outward(price, allowed):
    """《物业服务收费管理办法》第七条 (基准价及其浮动幅度): 1.2345 ± 10 % is exactly
    1.11105 ～ 1.35795; a price just outside it is refused although it rounds into it."""
    from models.fees import _guided_price_in_band

    found = _guided_price_in_band({"price_form": "guided", "base_price": Decimal("1.2345"),
                                   "float_percent": Decimal("10"), "unit_price": Decimal(price)})
    assert (found == []) is allowed
    if not allowed:
        assert "1.11105 ～ 1.35795" in found[0][1]


def test_a_guided_price_needs_its_base_price_and_float(app, admin_client):
    with app.app_context():
        draft_id = _standard_id(0, "submitted")
    response = admin_client.post("/api/v1/fee_standard_line/", json={
        "standard": draft_id, "item": 1, "billing_basis": "per_area", "unit_price": "2.60", "price_form": "guided"})
    assert response.status_code == 400 and "基准价" in response.get_json()["message"]


def test_unit_prices_keep_four_decimals(app, admin_client):
    with app.app_context():
        standard = FeeStandard(estate=_estate(), title="草稿", company_name="测试物业", service_content="清洁",
                               service_standard="二级", basis="决议", effective_from=TODAY + relativedelta(months=3))
        db.session.add(standard)
        db.session.commit()
        data = {"standard": standard.id, "item": _item("DTF").id, "billing_basis": "per_area",
                "unit_price": "0.3550", "price_form": "market"}
    admin_client.post("/fee_standard_line/add", data=data)
    with app.app_context():
        line = db.session.execute(select(FeeStandardLine).where(FeeStandardLine.standard_id == standard.id)).scalar_one()
        assert line.unit_price == Decimal("0.3550")


# -- immutability through every route ---------------------------------------------------------

def _published_id(app) -> int:
    with app.app_context():
        return _standard_id(0, "published")


def test_a_published_standard_cannot_be_edited_through_the_form(app, admin_client):
    pk = _published_id(app)
    with app.app_context():
        before = db.session.get(FeeStandard, pk).title
    admin_client.post(f"/fee_standard/edit/{pk}", data={"title": "篡改", "estate": 1})
    with app.app_context():
        assert db.session.get(FeeStandard, pk).title == before


def test_a_published_standard_cannot_be_edited_through_rest(app, admin_client):
    pk = _published_id(app)
    response = admin_client.put(f"/api/v1/fee_standard/{pk}", json={"title": "篡改"})
    assert response.status_code == 400 and "不能修改" in response.get_json()["message"]


def test_a_published_standard_cannot_be_deleted(app, admin_client):
    pk = _published_id(app)
    admin_client.post(f"/fee_standard/delete/{pk}")
    assert admin_client.delete(f"/api/v1/fee_standard/{pk}").status_code in (400, 422)
    with app.app_context():
        assert db.session.get(FeeStandard, pk) is not None


def test_the_lines_of_a_published_standard_are_frozen_too(app, admin_client):
    pk = _published_id(app)
    with app.app_context():
        line = db.session.execute(select(FeeStandardLine).where(FeeStandardLine.standard_id == pk)).scalars().first()
        line_id, price = line.id, line.unit_price
    assert admin_client.put(f"/api/v1/fee_standard_line/{line_id}", json={"unit_price": "9.99"}).status_code == 400
    assert admin_client.delete(f"/api/v1/fee_standard_line/{line_id}").status_code in (400, 422)
    response = admin_client.post("/api/v1/fee_standard_line/", json={
        "standard": pk, "item": 4, "billing_basis": "per_time", "unit_price": "1.00", "price_form": "market"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(FeeStandardLine, line_id).unit_price == price


def test_the_state_cannot_be_set_through_rest(app, admin_client):
    pk = _standard_id_in_app(app, "submitted")
    response = admin_client.put(f"/api/v1/fee_standard/{pk}", json={"state": "published"})
    assert response.status_code in (400, 422)
    with app.app_context():
        assert db.session.get(FeeStandard, pk).state == "submitted"


def _standard_id_in_app(app, state: str) -> int:
    with app.app_context():
        return _standard_id(0, state)


def test_fee_standards_have_no_import_route(admin_client):
    assert admin_client.get("/fee_standard/import/").status_code == 404


# -- the workflow --------------------------------------------------------------------------------

@pytest.mark.parametrize("user, transition, allowed", [
    ("manager_a", "submit", True), ("manager_a", "approve", False), ("manager_a", "return", False),
    ("committee_a", "approve", True), ("committee_a", "return", True), ("committee_a", "submit", False),
    ("committee_a", "publish", False), ("staff_a", "submit", False), ("staff_a", "approve", False),
    ("official_jd", "approve", False), ("official_jd", "publish", False),
])
def test_each_transition_is_its_own_permission(app, client, user, transition, allowed):
    state = {"submit": "draft", "approve": "submitted", "return": "submitted", "publish": "approved"}[transition]
    with app.app_context():
        pk = _approved_standard(_estate(), TODAY + relativedelta(months=2), state=state).id
    login(client, user)
    response = client.post(f"/fee_standard/transition/{transition}/{pk}", data={"comment": "意见"})
    assert (response.status_code == 302) is allowed
    if not allowed:
        assert response.status_code == 403
    with app.app_context():
        assert (db.session.get(FeeStandard, pk).state != state) is allowed


def test_returning_a_standard_requires_a_comment(app, client):
    pk = _standard_id_in_app(app, "submitted")
    login(client, "committee_a")
    html = client.post(f"/fee_standard/transition/return/{pk}", data={"comment": "  "},
                       follow_redirects=True).get_data(as_text=True)
    assert "「退回修改」必须填写意见" in html
    with app.app_context():
        assert db.session.get(FeeStandard, pk).state == "submitted"


def test_a_transition_not_allowed_from_the_current_state_is_refused_in_chinese(app, client):
    pk = _standard_id_in_app(app, "submitted")
    login(client, "manager_a")
    html = client.post(f"/fee_standard/transition/publish/{pk}", follow_redirects=True).get_data(as_text=True)
    assert "当前状态为「待审核」，不能执行「公示」" in html


def test_a_returned_standard_can_be_fixed_and_resubmitted(app, client):
    pk = _standard_id_in_app(app, "submitted")
    login(client, "committee_a")
    client.post(f"/fee_standard/transition/return/{pk}", data={"comment": "电梯费偏高"})
    client.post("/logout/")
    login(client, "manager_a")
    assert client.put(f"/api/v1/fee_standard/{pk}", json={"title": "修改后的标准"}).status_code == 200
    client.post(f"/fee_standard/transition/submit/{pk}")
    with app.app_context():
        standard = db.session.get(FeeStandard, pk)
        assert (standard.title, standard.state) == ("修改后的标准", "submitted")


def test_every_transition_is_recorded_with_who_when_and_comment(app, client):
    pk = _standard_id_in_app(app, "submitted")
    login(client, "committee_a")
    client.post(f"/fee_standard/transition/return/{pk}", data={"comment": "请补充服务标准"})
    with app.app_context():
        event = db.session.execute(select(WorkflowEvent).where(WorkflowEvent.record_id == pk)
                                   .order_by(WorkflowEvent.id.desc())).scalars().first()
        assert (event.username, event.transition, event.from_state, event.to_state, event.comment) == (
            "committee_a", "return", "submitted", "returned", "请补充服务标准")
        assert abs(event.created_at - clock.now()) < dt.timedelta(minutes=1)
    html = client.get(f"/fee_standard/show/{pk}").get_data(as_text=True)
    assert "请补充服务标准" in html and "退回修改" in html


# -- exactly one standard in force -------------------------------------------------------------

def test_exactly_one_standard_is_in_force_per_estate_on_every_day(app, ctx):
    estate = _estate()
    published = db.session.execute(
        select(FeeStandard).where(FeeStandard.estate_id == estate.id, FeeStandard.state == "published")
    ).scalars().all()
    assert len(published) == 2
    for offset in range(-400, 400, 7):
        day = TODAY + dt.timedelta(days=offset)
        in_force_today = [s for s in published if s.phase(db.session, day) == IN_FORCE]
        expected = 1 if any(s.effective_from <= day for s in published) else 0
        assert len(in_force_today) == expected, day


def test_the_phase_follows_from_the_dates(app, ctx):
    old, new = sorted(
        db.session.execute(select(FeeStandard).where(FeeStandard.estate_id == _estate().id,
                                                     FeeStandard.state == "published")).scalars(),
        key=lambda s: s.effective_from,
    )
    assert (old.phase(db.session, TODAY), new.phase(db.session, TODAY)) == (IN_FORCE, NOTICE)
    later = new.effective_from
    assert (old.phase(db.session, later), new.phase(db.session, later)) == (ABOLISHED, IN_FORCE)


# -- bills ----------------------------------------------------------------------------------------

def test_bill_amounts_are_price_times_area_rounded_half_up_to_the_cent(app, ctx):
    estate = _estate(1)
    unit = db.session.execute(select(Unit).where(Unit.estate_id == estate.id).limit(1)).scalar_one()
    unit.floor_area, unit.inner_area = Decimal("89.55"), None  # × 2.65 = 237.3075 → 237.31
    db.session.commit()
    period = dt.date(2026, 11, 1) + relativedelta(months=3)
    standard = in_force(db.session, estate.id, period)
    generate_bills(db.session, estate, period, 1)
    db.session.commit()
    bill = db.session.execute(select(Bill).where(Bill.unit_id == unit.id, Bill.period == period,
                                                 Bill.item_id == _item("WYF").id)).scalar_one()
    assert standard.lines[0].unit_price == Decimal("2.6500")
    assert bill.amount == Decimal("237.31") and bill.outstanding == Decimal("237.31")


def test_half_a_cent_rounds_up(app, ctx):
    from models.fees import cents

    assert cents(Decimal("0.005")) == Decimal("0.01") and cents(Decimal("12.344999")) == Decimal("12.34")


def test_generating_the_same_period_twice_is_refused_and_adds_nothing(app, ctx):
    from models.errors import Refused

    estate = _estate(1)
    period = clock.today().replace(day=1) + relativedelta(months=2)
    count = generate_bills(db.session, estate, period, 1)
    db.session.commit()
    assert count > 0
    before = db.session.scalar(select(func.count()).select_from(Bill))
    with pytest.raises(Refused, match="已经生成过"):
        generate_bills(db.session, estate, period, 1)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Bill)) == before


def test_a_bill_run_of_a_month_not_yet_billed_checks_the_monthly_totals_not_the_bills(app, ctx):
    """Another estate's bills of the month are already in: whether this estate has any is a
    lookup in the totals the database keeps, never a read of the month's bills (planned on
    statistics that do not know the month, such a read went through every one of them)."""
    from models.fees import plan_bills

    period = clock.today().replace(day=1) + relativedelta(months=4)
    generate_bills(db.session, _estate(0), period, 1)
    db.session.commit()
    estate = _estate(1)
    with count_queries(app) as statements:
        runs = plan_bills(db.session, estate, period, 1)
    assert runs and statements
    assert not [s for s in statements if re.search(r"\bFROM bill\b", s)], statements


def test_a_period_without_a_standard_in_force_is_refused(app, ctx):
    from models.errors import Refused

    with pytest.raises(Refused, match="没有生效的收费标准"):
        generate_bills(db.session, _estate(1), dt.date(2020, 1, 1), 1)


# -- 计费起始时间 is a day: a month with a change of price is billed pro rata by calendar days --------

def _new_estate(code: str, area: str = "100.00") -> tuple[Estate, Unit]:
    """An estate of one unit of ``area`` ㎡ and no standard yet."""
    estate = Estate(community=_estate().community, name=f"按日计费{code}", code=code, address="新路 9 号")
    building = Building(estate=estate, code="1", name="1号楼", floors=6)
    unit = Unit(estate=estate, building=building, floor=1, room_no="101", floor_area=Decimal(area))
    db.session.add_all([estate, building, unit])
    db.session.flush()
    return estate, unit


def _published(estate: Estate, effective_from: dt.date, price: str, basis: str = "per_area",
               item: str = "WYF") -> FeeStandard:
    """A published standard of one line (written directly: the dates, not the workflow, are tested here)."""
    standard = FeeStandard(
        estate=estate, title=f"{effective_from} 起", company_name="测试物业", service_content="清洁绿化",
        service_standard="二级", basis="业主大会决议", effective_from=effective_from, state="published",
        published_on=effective_from - relativedelta(months=1),
    )
    standard.lines = [FeeStandardLine(item=_item(item), billing_basis=basis, unit_price=Decimal(price),
                                      price_form="market")]
    db.session.add(standard)
    db.session.flush()
    return standard


def _bill(unit: Unit, period: dt.date) -> Bill:
    return db.session.execute(select(Bill).where(Bill.unit_id == unit.id, Bill.period == period)).scalar_one()


#: a month of 30 days (and one of 31) well after the demo data's bills
JUNE, JULY = dt.date(2031, 6, 1), dt.date(2031, 7, 1)


def test_a_new_price_from_the_15th_bills_the_old_price_for_14_days_and_the_new_for_16(app, ctx):
    estate, unit = _new_estate("PR-1")
    _published(estate, dt.date(2031, 1, 1), "2.00")
    _published(estate, dt.date(2031, 6, 15), "3.00")
    generate_bills(db.session, estate, JUNE, 1)
    bill = _bill(unit, JUNE)
    # 100 ㎡ × (2.00 × 14 + 3.00 × 16) / 30 = 7600 / 30 = 253.333… → 253.33
    assert (bill.amount, bill.outstanding) == (Decimal("253.33"), Decimal("253.33"))
    assert bill.proration == "按日计费：06月01日至06月14日 2.00 元 × 14/30；06月15日至06月30日 3.00 元 × 16/30；合计后四舍五入到分"
    db.session.rollback()


def test_a_first_standard_starting_mid_month_bills_only_its_own_days(app, ctx):
    estate, unit = _new_estate("PR-2")
    _published(estate, dt.date(2031, 6, 11), "2.70")
    assert generate_bills(db.session, estate, JUNE, 1) == 1
    # 100 ㎡ × 2.70 × 20/30 = 180.00
    assert _bill(unit, JUNE).amount == Decimal("180.00")
    db.session.rollback()


def test_a_pro_rata_bill_is_rounded_once_not_per_piece(app, ctx):
    estate, unit = _new_estate("PR-3", area="10.00")
    _published(estate, dt.date(2031, 1, 1), "0.0250")
    _published(estate, dt.date(2031, 6, 16), "0.0270")
    generate_bills(db.session, estate, JUNE, 1)
    # 10 ㎡ × 0.0250 × 15/30 = 0.125 and 10 ㎡ × 0.0270 × 15/30 = 0.135: rounded apart 0.13 + 0.14 = 0.27,
    # rounded once 0.260 → 0.26
    assert _bill(unit, JUNE).amount == Decimal("0.26")
    db.session.rollback()


def test_a_per_household_price_is_pro_rated_over_a_31_day_month(app, ctx):
    estate, unit = _new_estate("PR-4")
    _published(estate, dt.date(2031, 1, 1), "30.00", basis="per_unit")
    _published(estate, dt.date(2031, 7, 11), "36.00", basis="per_unit")
    generate_bills(db.session, estate, JULY, 1)
    # (30.00 × 10 + 36.00 × 21) / 31 = 1056 / 31 = 34.0645… → 34.06
    assert _bill(unit, JULY).amount == Decimal("34.06")
    db.session.rollback()


def test_a_whole_month_at_one_price_carries_no_proration_note(app, ctx):
    estate, unit = _new_estate("PR-5", area="89.55")
    _published(estate, dt.date(2031, 1, 1), "2.65")
    generate_bills(db.session, estate, JUNE, 1)
    bill = _bill(unit, JUNE)
    assert (bill.amount, bill.proration) == (Decimal("237.31"), None)  # 89.55 × 2.65 = 237.3075
    db.session.rollback()


def test_a_change_of_billing_basis_within_a_month_is_refused_in_chinese(app, ctx):
    from models.errors import Refused

    estate, _unit = _new_estate("PR-6")
    _published(estate, dt.date(2031, 1, 1), "2.00")
    _published(estate, dt.date(2031, 6, 15), "50.00", basis="per_unit")
    with pytest.raises(Refused, match="计费方式在月中改变"):
        generate_bills(db.session, estate, JUNE, 1)
    db.session.rollback()


def test_the_bill_page_explains_a_pro_rata_amount(app, client):
    with app.app_context():
        estate, unit = _new_estate("PR-7")
        _published(estate, dt.date(2031, 1, 1), "2.00")
        _published(estate, dt.date(2031, 6, 15), "3.00")
        generate_bills(db.session, estate, JUNE, 1)
        db.session.commit()
        pk = _bill(unit, JUNE).id
    login(client, "admin")
    page = client.get(f"/bill/show/{pk}").get_data(as_text=True)
    assert "计费说明" in page and "按日计费：06月01日至06月14日 2.00 元 × 14/30" in page


def test_a_whole_estate_is_billed_in_one_batch_through_the_page(app, client):
    login(client, "manager_a")
    period = (clock.today().replace(day=1) + relativedelta(months=1)).strftime("%Y-%m")
    with app.app_context():
        estate = _estate()
        before = db.session.scalar(select(func.count()).select_from(Bill))
        units = db.session.scalar(select(func.count()).select_from(Unit).where(Unit.estate_id == estate.id))
    response = client.post("/bill/generate/", data={"estate": estate.id, "first": period, "months": "2"})
    assert response.status_code == 302
    with app.app_context():
        created = db.session.scalar(select(func.count()).select_from(Bill)) - before
    assert created >= 2 * 2 * units  # 物业服务费 and 电梯费 per unit, per month (plus parking)


def test_only_managers_may_generate_bills(client):
    login(client, "committee_a")
    assert client.get("/bill/generate/").status_code == 403


def _insert_bill(estate: Estate, unit: Unit, standard: FeeStandard, item: FeeItem) -> None:
    """A bill written past the ORM's checks (as a correction script would): the keys alone decide."""
    db.session.execute(insert(Bill).values(
        estate_id=estate.id, unit_id=unit.id, item_id=item.id, standard_id=standard.id, period=JUNE,
        quantity=Decimal("100.00"), unit_price=Decimal("2.00"), amount=Decimal("200.00"), paid=Decimal("0.00"),
        outstanding=Decimal("200.00")))


def test_the_database_refuses_a_bill_for_a_house_of_another_estate(app, ctx):
    estate, _unit = _new_estate("KEY001")
    _other, strangers_unit = _new_estate("KEY002")
    standard = _published(estate, JUNE, "2.00")
    with pytest.raises(IntegrityError):
        _insert_bill(estate, strangers_unit, standard, standard.lines[0].item)


def test_the_database_refuses_a_bill_for_an_item_its_standard_does_not_list(app, ctx):
    estate, unit = _new_estate("KEY003")
    standard = _published(estate, JUNE, "2.00", item="WYF")
    not_listed = db.session.execute(select(FeeItem).where(FeeItem.code != "WYF")).scalars().first()
    with pytest.raises(IntegrityError):
        _insert_bill(estate, unit, standard, not_listed)


def test_a_bill_of_its_own_estate_for_a_listed_item_is_accepted(app, ctx):
    estate, unit = _new_estate("KEY004")
    standard = _published(estate, JUNE, "2.00")
    _insert_bill(estate, unit, standard, standard.lines[0].item)
    assert _bill(unit, JUNE).amount == Decimal("200.00")


def test_a_house_with_bills_cannot_move_to_another_estate(app, ctx):
    from sqlalchemy import text

    estate, unit = _new_estate("KEY005")
    other, _unit = _new_estate("KEY006")
    standard = _published(estate, JUNE, "2.00")
    _insert_bill(estate, unit, standard, standard.lines[0].item)
    # raw SQL, as a correction script would write it: the bill would be left in the old estate
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE unit SET estate_id = :other WHERE id = :unit"),
                           {"other": other.id, "unit": unit.id})


def test_partial_and_full_payments_settle_a_bill(app, ctx):
    bill = db.session.execute(select(Bill).where(Bill.paid == 0).limit(1)).scalar_one()
    amount = bill.amount
    record_payment(db.session, bill, Decimal("10.00"), "cash", TODAY)
    db.session.commit()
    assert bill.outstanding == amount - Decimal("10.00")
    record_payment(db.session, bill, bill.outstanding, "wechat", TODAY)
    db.session.commit()
    assert (bill.paid, bill.outstanding) == (amount, Decimal("0.00"))
    assert db.session.scalar(select(func.count()).select_from(Payment).where(Payment.bill_id == bill.id)) == 2


def test_a_payment_larger_than_what_is_owed_is_refused(app, client):
    with app.app_context():
        bill = db.session.execute(select(Bill).where(Bill.paid == 0).limit(1)).scalar_one()
        pk, owed = bill.id, bill.outstanding
    login(client, "manager_a")
    html = client.post(f"/bill/pay/{pk}", data={"amount": str(owed + 1), "method": "cash"},
                       follow_redirects=True).get_data(as_text=True)
    assert "不能超过欠费金额" in html
    with app.app_context():
        assert db.session.get(Bill, pk).paid == 0


def test_the_arrears_list_shows_only_what_is_owed(app, client):
    login(client, "manager_a")
    response = client.get("/bill/arrears/", follow_redirects=True)
    html = response.get_data(as_text=True)
    with app.app_context():
        owed = db.session.scalar(select(func.count()).select_from(Bill)
                                 .where(Bill.outstanding > 0, Bill.estate_id == _estate().id))
    shown = re.search(r"记录数:\s*</strong>\s*(\d+)", html)
    assert owed > 0 and shown and int(shown.group(1)) == owed


def test_the_collection_rate_is_paid_over_due_per_estate_and_period(app, client):
    login(client, "manager_a")
    html = client.get("/bill/collection/").get_data(as_text=True)
    with app.app_context():
        estate = _estate()
        period, due, paid = db.session.execute(
            select(Bill.period, func.sum(Bill.amount), func.sum(Bill.paid)).where(Bill.estate_id == estate.id)
            .group_by(Bill.period).order_by(Bill.period.desc()).limit(1)
        ).one()
    assert f"{(paid / due * 100).quantize(Decimal('0.01'))}%" in html
    assert "保利西园" not in html  # another estate: outside the manager's scope


# -- the public notice -----------------------------------------------------------------------------

def test_the_public_notice_needs_no_login_and_shows_the_required_fields(client):
    html = client.get("/public/estate/1/fees").get_data(as_text=True)
    for text in ("物业服务企业名称", "收费对象", "服务内容", "服务标准", "计费方式", "收费标准", "价格管理形式",
                 "基准价", "浮动幅度", "收费依据", "公示日期", "生效日期", "价格举报电话", "12315", "<svg"):
        assert text in html, text


def test_the_public_notice_shows_only_published_standards(app, client):
    with app.app_context():
        for state in ("draft", "submitted", "returned", "approved"):
            _approved_standard(_estate(), TODAY - dt.timedelta(days=1), state=state, title=f"内部草稿{state}")
    for estate_id in (1, 2, 3):
        html = client.get(f"/public/estate/{estate_id}/fees").get_data(as_text=True)
        assert "内部草稿" not in html
    assert "内部草稿" not in client.get("/public/").get_data(as_text=True)


def test_the_public_index_lists_every_estate(app, client):
    html = client.get("/public/").get_data(as_text=True)
    with app.app_context():
        names = db.session.execute(select(Estate.name)).scalars().all()
    assert all(name in html for name in names)


def test_the_hotline_is_a_setting(app, client):
    with app.app_context():
        from models.settings import Settings

        Settings.current(db.session).complaint_hotline = "010-12345"
        db.session.commit()
    assert "010-12345" in client.get("/public/estate/1/fees").get_data(as_text=True)


def test_the_public_notice_prints_on_a4(client):
    css = client.get("/static/css/public.css").get_data(as_text=True)
    assert "@media print" in css and "size: A4" in css


def test_version_history_shows_old_and_new_price_side_by_side(app, client):
    with app.app_context():
        pk = db.session.execute(select(FeeStandard.id).where(FeeStandard.estate_id == _estate().id,
                                                             FeeStandard.version == 2)).scalar_one()
    login(client, "committee_a")
    html = client.get(f"/fee_standard/compare/{pk}").get_data(as_text=True)
    assert "2.65" in html and "2.75" in html and "上调 0.10" in html


@pytest.mark.parametrize("url", ["/bill/generate/", "/bill/collection/", "/fee_standard/compare/2",
                                 "/bill/show/1", "/fee_standard/show/2", "/public/", "/public/estate/1/fees"])
def test_the_fee_pages_read_in_chinese(app, client, url):
    from tests.pages import data_words, english_words

    login(client, "manager_a")
    with app.app_context():
        data = data_words(db.session)
    response = client.get(url)
    assert response.status_code == 200
    assert english_words(response.get_data(as_text=True), data) == set()
