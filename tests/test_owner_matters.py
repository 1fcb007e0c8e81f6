"""Every matter owners decide together has the law's threshold (民法典第二百七十八条).

第二款: all matters need 2/3 of the area and 2/3 of the persons to take part; items (六)–(八)
(筹集维修资金, 改建重建, 改变共有部分用途或经营) need at least 3/4 of the participating area and
persons to agree, every other item more than half. Areas below are ㎡, one unit per person.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from sqlalchemy import select, text

from app.extensions import db
from models.fund_vote import MATTERS, VoteRule, Voter, legal_rule, rule_for, tally
from tests.support import client_of, in_db

THREE_QUARTERS = ("raise_fund", "rebuild", "common_parts")
MAJORITY = ("rules_of_procedure", "covenant", "committee", "property_manager", "use", "other")


def persons(count: int) -> list[Voter]:
    """``count`` owners of 100 ㎡ each: p1, p2, ..."""
    return [Voter(i, 10000, f"p{i}") for i in range(1, count + 1)]


def votes(yes: int, no: int) -> dict[str, str]:
    """p1..p{yes} agree, the next ``no`` persons disagree."""
    return {f"p{i}": "yes" if i <= yes else "no" for i in range(1, yes + no + 1)}


def test_the_matters_are_the_nine_items_of_article_278():
    assert len(MATTERS.codes) == 9
    assert sorted((*THREE_QUARTERS, *MAJORITY)) == sorted(MATTERS.codes)


@pytest.mark.parametrize("matter", THREE_QUARTERS)
def test_exactly_three_quarters_agreeing_carries_a_three_quarter_matter(matter):
    # 4 of 4 take part, 3 agree: 300/400 ㎡ and 3/4 persons, "以上" includes the boundary
    assert tally(persons(4), votes(3, 1), legal_rule(matter)).passed


@pytest.mark.parametrize("matter", THREE_QUARTERS)
def test_two_thirds_agreeing_is_not_enough_for_a_three_quarter_matter(matter):
    # 3 of 3 take part, 2 agree: 2/3 < 3/4
    assert not tally(persons(3), votes(2, 1), legal_rule(matter)).passed


@pytest.mark.parametrize("matter", MAJORITY)
def test_exactly_half_agreeing_fails_an_ordinary_matter(matter):
    # 4 take part, 2 agree: 过半数 means more than half
    assert not tally(persons(4), votes(2, 2), legal_rule(matter)).passed


@pytest.mark.parametrize("matter", MAJORITY)
def test_one_more_than_half_carries_an_ordinary_matter(matter):
    # 5 take part, 3 agree: 300/500 ㎡ and 3/5 persons
    assert tally(persons(5), votes(3, 2), legal_rule(matter)).passed


@pytest.mark.parametrize("matter", MATTERS.codes)
def test_exactly_two_thirds_taking_part_meets_the_quorum_of_every_matter(matter):
    # 6 owners, 4 vote and all agree: 400/600 ㎡ and 4/6 persons take part
    assert tally(persons(6), votes(4, 0), legal_rule(matter)).passed


@pytest.mark.parametrize("matter", MATTERS.codes)
def test_one_person_short_of_two_thirds_misses_the_quorum_of_every_matter(matter):
    # 7 owners, 4 vote: 4/7 < 2/3 although every voter agrees
    result = tally(persons(7), votes(4, 0), legal_rule(matter))
    assert not result.quorum_heads_met and not result.passed


def test_without_a_rule_of_its_own_a_jurisdiction_votes_by_the_law(app):
    def rules():
        db.session.execute(text("DELETE FROM vote_rule"))
        return {matter: rule_for(db.session, None, matter) for matter in MATTERS.codes}

    found = in_db(app, rules)
    assert {m for m, r in found.items() if r.approval == Fraction(3, 4) and not r.strict} == set(THREE_QUARTERS)
    assert {m for m, r in found.items() if r.approval == Fraction(1, 2) and r.strict} == set(MAJORITY)
    assert {r.quorum for r in found.values()} == {Fraction(2, 3)}


@pytest.mark.parametrize("matter, approval, strict, accepted", [
    *[(m, "3/4", False, True) for m in THREE_QUARTERS],
    *[(m, "2/3", False, False) for m in THREE_QUARTERS],
    *[(m, "1/2", True, True) for m in MAJORITY],
    *[(m, "1/2", False, False) for m in MAJORITY],  # "1/2 以上" lets exactly half through
])
def test_a_jurisdictions_rule_for_any_matter_may_not_fall_below_the_law(app, matter, approval, strict, accepted):
    admin = client_of(app, "admin")
    count = lambda: db.session.query(VoteRule).count()  # noqa: E731
    before = in_db(app, count)
    response = admin.post("/api/v1/vote_rule/", json={"matter": matter, "quorum": "2/3", "approval": approval,
                                                      "strict": strict, "base": "participating", "basis": "本区规则"})
    assert (response.status_code == 201) is accepted, response.get_json()
    assert in_db(app, count) == before + (1 if accepted else 0)
    if not accepted:
        assert "民法典第二百七十八条第二款" in response.get_json()["message"]


def test_a_repair_fund_application_is_put_to_the_owners_only_as_a_fund_matter(app):
    from models.repair_fund import FundApplication

    admin = client_of(app, "admin")
    estate_id = in_db(app, lambda: db.session.scalar(select(FundApplication.estate_id).limit(1)))
    count = lambda: db.session.query(FundApplication).count()  # noqa: E731
    before = in_db(app, count)
    response = admin.post("/api/v1/fund_application/", json={
        "estate": estate_id, "title": "选举业委会", "category": "major_repair", "matter": "committee",
        "repair_part": "无", "budget": "1000.00", "contractor": "无", "plan": "无", "exclusion_declared": True})
    assert response.status_code in (400, 422)
    assert in_db(app, count) == before


def test_the_upgrade_keeps_a_jurisdictions_major_rule_for_raising_and_rebuilding(tmp_path):
    """A rule once kept for "major" (筹集 and 改建 in one) now stands for each of them; every
    matter gets the law's own rule as its default."""
    from flask_migrate import upgrade
    from sqlalchemy.pool import NullPool

    from app import create_app

    migrated = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
                           "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool}})
    with migrated.app_context():
        upgrade(revision="c3f7a9d1e5b8")
        db.session.execute(text("INSERT INTO district (name, code) VALUES ('测试区', '310199')"))
        db.session.execute(text("INSERT INTO vote_rule (district_id, matter, quorum, approval, strict, base, basis)"
                                " SELECT id, 'major', '2/3', '4/5', 0, 'participating', '本区规则' FROM district"))
        db.session.commit()
        upgrade()
        local = db.session.execute(text("SELECT matter, approval, basis FROM vote_rule"
                                        " WHERE district_id IS NOT NULL ORDER BY matter")).all()
        defaults = dict(db.session.execute(text("SELECT matter, approval FROM vote_rule WHERE district_id IS NULL")).all())
        db.session.remove()
    assert [tuple(row) for row in local] == [("raise_fund", "4/5", "本区规则"), ("rebuild", "4/5", "本区规则")]
    assert defaults == {m: "3/4" if m in THREE_QUARTERS else "1/2" for m in MATTERS.codes}
