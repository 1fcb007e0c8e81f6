"""The public repair-fund pages: published data only, no personal data, and the owner's
own forms (分户账 lookup, electronic vote) that refuse without telling what was wrong."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.pool import NullPool

from app.extensions import db
from models import clock
from models.estate import Building, Estate, Unit
from models.fund_vote import Ballot, VoteRoll
from models.people import Owner, UnitOwnership
from models.repair_fund import FundApplication, FundEntry, FundScope
from models.repair_fund_disclosure import disclose, period_of
from views.public import VOTE_REFUSED
from tests.pages import data_words, english_words
from tests.support import database_state, text_of
from views.public import LOOKUP_REFUSED

TODAY = clock.today()
UNCHANGED = (FundEntry, Ballot, VoteRoll, FundApplication)


def _state():
    return database_state(UNCHANGED, rows_of=(FundApplication,))


def _app(state: str) -> FundApplication:
    """The large estate's demo application in this state."""
    return db.session.execute(select(FundApplication).where(FundApplication.state == state,
                                                            FundApplication.estate_id == 1)).scalars().first()


def _draft(estate_id: int, title: str, state: str = "draft") -> int:
    building = db.session.execute(select(Building).where(Building.estate_id == estate_id)).scalars().first()
    app = FundApplication(estate_id=estate_id, title=title, category="major_repair", repair_part="屋面",
                          budget=Decimal("1000.00"), contractor="某公司", plan="计划", exclusion_declared=True,
                          state=state)
    app.scope = [FundScope(building_id=building.id)]
    db.session.add(app)
    db.session.commit()
    return app.id


# -- the disclosure and the published applications ------------------------------------------

def test_the_public_index_links_each_estates_fund_page_and_the_open_vote(app, client):
    html = text_of(client.get("/public/"))
    with app.app_context():
        voting = _app("voting")
        ids = db.session.execute(select(Estate.id)).scalars().all()
    assert all(f"/public/estate/{i}/fund" in html for i in ids)
    assert f"/public/vote/{voting.id}" in html


def test_the_public_fund_page_needs_no_login_and_shows_the_periods_figures(app, client):
    response = client.get("/public/estate/1/fund")
    with app.app_context():
        report = disclose(db.session, 1, period_of(TODAY, 12))
    html = text_of(response)
    assert response.status_code == 200
    for figure in (report.opening, report.deposits, report.used, report.closing):
        assert f"{figure:,.2f}" in html
    for title in ("资金总体情况", "本期使用情况", "分户账", "使用方案公示", "表决结果", "决算公示"):
        assert title in html


def test_the_public_page_shows_unit_numbers_and_amounts_but_no_personal_data(app, client):
    html = text_of(client.get("/public/estate/1/fund"))
    with app.app_context():
        owners = db.session.execute(select(Owner.name, Owner.id_number, Owner.mobile)
                                    .where(Owner.estate_id == 1)).all()
        voters = db.session.execute(select(VoteRoll.voter_name, VoteRoll.code)).all()
        unit = db.session.execute(select(Unit).where(Unit.estate_id == 1).order_by(Unit.id)).scalars().first()
    assert unit.room_no in html
    leaked = [value for row in owners for value in row if value and value in html]
    leaked += [value for row in voters for value in row if value and value in html]
    assert leaked == []


def test_unpublished_applications_do_not_appear(app, client):
    with app.app_context():
        ids = [_draft(1, f"内部草稿{state}", state) for state in ("draft", "submitted", "returned")]
    html = text_of(client.get("/public/estate/1/fund"))
    assert "内部草稿" not in html and "内部草稿" not in text_of(client.get("/public/"))
    assert all(client.get(f"/public/vote/{pk}").status_code == 404 for pk in ids)


def test_a_published_plan_shows_its_scope_budget_and_publicity_dates(app, client):
    html = text_of(client.get("/public/estate/1/fund"))
    with app.app_context():
        voting = _app("voting")
        building = db.session.execute(select(Building.name).join(FundScope, FundScope.building_id == Building.id)
                                      .where(FundScope.application_id == voting.id)).scalar_one()
    assert voting.title in html and voting.repair_part in html and f"{voting.budget:,.2f}" in html
    assert f"{building}（整栋）" in html
    assert f"{voting.publicity_from} 至 {voting.publicity_until}" in html


def test_the_stored_vote_result_and_its_rule_are_published(app, client):
    html = text_of(client.get("/public/estate/1/fund"))
    with app.app_context():
        from models.fund_vote import VoteResult

        result = db.session.execute(select(VoteResult).where(VoteResult.estate_id == 1)).scalars().first()
    assert f"{result.participating_area} / {result.participating_heads}" in html
    assert f"{result.yes_area} / {result.yes_heads}" in html and result.rule in html


def test_another_estates_applications_are_not_on_an_estates_page(app, client):
    with app.app_context():
        titles = db.session.execute(select(FundApplication.title).where(FundApplication.estate_id == 1)).scalars().all()
    html = text_of(client.get("/public/estate/2/fund"))
    assert titles and not any(title in html for title in titles)


def test_future_periods_and_unknown_estates_are_not_found(client):
    assert client.get(f"/public/estate/1/fund?period={TODAY.year + 1}-01").status_code == 404
    assert client.get("/public/estate/999/fund").status_code == 404


@pytest.mark.parametrize("url", ["/public/", "/public/estate/1/fund", "/public/estate/1/fund/ledger",
                                 "/public/vote/{voting}", "/public/vote/{disclosed}"])
def test_the_public_fund_pages_read_in_chinese(app, client, url):
    with app.app_context():
        data = data_words(db.session)
        url = url.format(voting=_app("voting").id, disclosed=_app("disclosed").id)
    response = client.get(url)
    assert response.status_code == 200
    assert english_words(text_of(response), data) == set()


def test_the_public_fund_pages_refer_to_no_external_host(app, client):
    with app.app_context():
        voting = _app("voting").id
    for url in ("/public/estate/1/fund", "/public/estate/1/fund/ledger", f"/public/vote/{voting}"):
        refs = re.findall(r"""(?:src|href|action)\s*=\s*["']((?:https?:)?//[^"']+)["']""", text_of(client.get(url)))
        assert refs == [], url


# -- the owner's lookup of one 分户账 ------------------------------------------------------------

def _owned_unit():
    """A sold unit of estate 1 with its owner's 证件号码."""
    unit, number = db.session.execute(
        select(Unit, Owner.id_number).join(UnitOwnership, UnitOwnership.unit_id == Unit.id)
        .join(Owner, Owner.id == UnitOwnership.owner_id)
        .where(Unit.estate_id == 1, Owner.is_developer.is_(False)).order_by(Unit.id)
    ).first()
    return {"building": str(unit.building_id), "room": unit.room_no}, number, unit.id


def test_the_right_id_suffix_shows_the_units_ledger_and_balance(app, client):
    with app.app_context():
        form, number, unit_id = _owned_unit()
        balance = sum(e.amount for e in db.session.execute(select(FundEntry).where(FundEntry.unit_id == unit_id)).scalars())
    response = client.post("/public/estate/1/fund/ledger", data={**form, "id_suffix": number[-6:].lower()})
    html = text_of(response)
    assert response.status_code == 200 and LOOKUP_REFUSED not in html
    assert f"当前余额：<strong>{balance:,.2f}</strong>" in html and "首期交存" in html


@pytest.mark.parametrize("change", ["suffix", "room", "building", "short", "other_estate"])
def test_any_mismatch_gets_the_same_message_and_shows_nothing(app, client, change):
    with app.app_context():
        form, number, _unit = _owned_unit()
        other_building = db.session.execute(select(Building.id).where(Building.estate_id == 2)).scalars().first()
        before = _state()
    data = {**form, "id_suffix": number[-6:]}
    if change == "suffix":
        data["id_suffix"] = "000000" if number[-6:] != "000000" else "111111"
    elif change == "room":
        data["room"] = "9-9999"
    elif change == "building":
        data["building"] = str(other_building)
    elif change == "short":
        data["id_suffix"] = number[-5:]
    response = client.post(f"/public/estate/{2 if change == 'other_estate' else 1}/fund/ledger", data=data)
    html = text_of(response)
    assert response.status_code == 400 and LOOKUP_REFUSED in html
    assert "当前余额" not in html
    with app.app_context():
        assert _state() == before


# -- the electronic vote -------------------------------------------------------------------------

def _voter(app_id: int):
    """A unit on the roll whose owner has not voted yet: its form fields and code."""
    voted = select(Ballot.person).where(Ballot.application_id == app_id)
    roll, unit = db.session.execute(
        select(VoteRoll, Unit).join(Unit, Unit.id == VoteRoll.unit_id)
        .where(VoteRoll.application_id == app_id, VoteRoll.person.not_in(voted)).order_by(VoteRoll.unit_id)
    ).first()
    return {"building": str(unit.building_id), "room": unit.room_no}, roll.code, unit.id


def test_the_right_code_casts_one_electronic_ballot(app, client):
    with app.app_context():
        pk = _app("voting").id
        form, code, unit_id = _voter(pk)
    response = client.post(f"/public/vote/{pk}", data={**form, "code": code.lower(), "choice": "yes"})
    assert response.status_code == 200 and "投票成功" in text_of(response)
    with app.app_context():
        ballot = db.session.execute(select(Ballot).where(Ballot.application_id == pk, Ballot.unit_id == unit_id)).scalar_one()
        assert (ballot.choice, ballot.channel, ballot.recorded_by) == ("yes", "electronic", "业主电子投票")


def test_a_second_ballot_for_the_unit_is_refused(app, client):
    with app.app_context():
        pk = _app("voting").id
        form, code, _unit = _voter(pk)
    client.post(f"/public/vote/{pk}", data={**form, "code": code, "choice": "yes"})
    with app.app_context():
        before = _state()
    response = client.post(f"/public/vote/{pk}", data={**form, "code": code, "choice": "no"})
    assert response.status_code == 400 and "已经投过票" in text_of(response)
    with app.app_context():
        assert _state() == before


@pytest.mark.parametrize("change, message", [
    ("code", VOTE_REFUSED), ("room", VOTE_REFUSED), ("outside", VOTE_REFUSED), ("choice", "请选择表决意见"),
])
def test_a_wrong_vote_is_refused_in_chinese_and_changes_nothing(app, client, change, message):
    with app.app_context():
        pk = _app("voting").id
        form, code, _unit = _voter(pk)
        before = _state()
        # a unit of the same estate that exists but is not in this vote's 列支范围
        rolled = select(VoteRoll.unit_id).where(VoteRoll.application_id == pk)
        other = db.session.execute(select(Unit).where(Unit.estate_id == db.session.get(Unit, _unit).estate_id,
                                                      Unit.id.not_in(rolled)).limit(1)).scalar_one()
        outside = {"building": str(other.building_id), "room": other.room_no}
    data = {**form, "code": code, "choice": "yes"}
    data.update({"code": {"code": "AAAAAAAA" if code != "AAAAAAAA" else "BBBBBBBB"},
                 "room": {"room": "9-9999"}, "outside": outside, "choice": {"choice": "maybe"}}[change])
    response = client.post(f"/public/vote/{pk}", data=data)
    assert response.status_code == 400 and message in text_of(response)
    with app.app_context():
        assert _state() == before


def test_no_vote_outside_the_voting_state(app, client):
    with app.app_context():
        closed = _app("disclosed")
        roll = db.session.execute(select(VoteRoll, Unit).join(Unit, Unit.id == VoteRoll.unit_id)
                                  .where(VoteRoll.application_id == closed.id)).first()
        form = {"building": str(roll[1].building_id), "room": roll[1].room_no, "code": roll[0].code, "choice": "yes"}
        before = _state()
    assert "不在表决期内" in text_of(client.get(f"/public/vote/{closed.id}"))
    response = client.post(f"/public/vote/{closed.id}", data=form)
    assert response.status_code == 400 and "不在表决期内" in text_of(response)
    with app.app_context():
        assert _state() == before


def test_an_emergency_has_no_vote_page(app, client):
    with app.app_context():
        emergency = db.session.execute(select(FundApplication.id).where(FundApplication.category == "emergency")).scalar()
    assert client.get(f"/public/vote/{emergency}").status_code == 404


# -- CSRF and the rate limit on the owner forms ----------------------------------------------------

@pytest.fixture()
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_a_vote_without_the_csrf_token_is_refused(app, client, csrf_on):
    with app.app_context():
        pk = _app("voting").id
        form, code, _unit = _voter(pk)
        before = _state()
    response = client.post(f"/public/vote/{pk}", data={**form, "code": code, "choice": "yes"})
    assert response.status_code == 400
    with app.app_context():
        assert _state() == before
    page = text_of(client.get(f"/public/vote/{pk}"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/public/vote/{pk}", data={**form, "code": code, "choice": "yes", "csrf_token": token})
    assert response.status_code == 200 and "投票成功" in text_of(response)


@pytest.fixture(scope="module")
def limited_app(app):
    """A second app on the same test database with the rate limits on (as in production)."""
    from app import create_app

    return create_app({
        "TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": True,
        "PUBLIC_FORM_RATE_LIMIT": "3 per minute",
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool},
    })


@pytest.fixture()
def limited(limited_app):
    limited_app.appbuilder.sm.limiter.reset()
    return limited_app


def test_refused_owner_attempts_are_rate_limited_across_both_forms(app, limited):
    with app.app_context():
        form, number, _unit = _owned_unit()
        pk = _app("voting").id
        vote_form, code, _u = _voter(pk)
    client = limited.test_client()
    wrong = {**form, "id_suffix": "XXXXXX"}
    assert client.post("/public/estate/1/fund/ledger", data=wrong).status_code == 400
    assert client.post("/public/estate/1/fund/ledger", data=wrong).status_code == 400
    assert client.post(f"/public/vote/{pk}", data={**vote_form, "code": "WRONG123", "choice": "yes"}).status_code == 400
    assert client.post("/public/estate/1/fund/ledger", data={**form, "id_suffix": number[-6:]}).status_code == 429
    assert client.get("/public/estate/1/fund").status_code == 200  # reading stays open


def test_successful_lookups_do_not_use_up_the_limit(app, limited):
    with app.app_context():
        form, number, _unit = _owned_unit()
    client = limited.test_client()
    for _ in range(5):
        assert client.post("/public/estate/1/fund/ledger", data={**form, "id_suffix": number[-6:]}).status_code == 200
