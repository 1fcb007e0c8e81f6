"""The owners' vote, case by case against the law (民法典 第278条; 解释 第8/9条).

Each case is computed by hand: areas in ㎡, one person per owner (all units of one
owner, and all unsold developer units, count as ONE person), one ballot per person.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from models.fund_vote import DEVELOPER, Rule, Voter, parse_fraction, tally

DOUBLE_TWO_THIRDS = Rule(quorum=Fraction(0), approval=Fraction(2, 3), strict=False, base="total")
THREE_QUARTERS = Rule(approval=Fraction(3, 4), strict=False)


def electorate(*units: tuple[str, str]) -> list[Voter]:
    """(area in ㎡, person) per unit; unit ids count from 1."""
    return [Voter(i, int(Decimal(area) * 100), person) for i, (area, person) in enumerate(units, start=1)]


def separate(*areas: str) -> list[Voter]:
    """Every unit a different owner: unit 1 is person "p1", unit 2 "p2", ..."""
    return electorate(*[(area, f"p{i}") for i, area in enumerate(areas, start=1)])


YES, NO, ABSTAIN = "yes", "no", "abstain"

# (name, electorate, ballots by person, rule, silent consent, passed, hand-computed numbers)
CASES = [
    ("exactly two thirds participating meets the quorum",
     separate("100", "100", "100"), {"p1": YES, "p2": YES}, Rule(), False, True,
     dict(participating_area=20000, participating_heads=2, yes_area=20000, yes_heads=2)),
    ("just under two thirds of the area misses the quorum",
     separate("100", "100", "100.01"), {"p1": YES, "p2": YES}, Rule(), False, False,
     dict(participating_area=20000, total_area=30001)),
    ("two thirds of an area with cents is exact, not a rounded float",
     separate("33.33", "33.33", "33.33"), {"p1": YES, "p2": YES}, Rule(), False, True,
     dict(participating_area=6666, total_area=9999)),
    ("exactly half agreeing is not more than half",
     separate("100", "100", "100", "100"), {"p1": YES, "p2": YES, "p3": NO, "p4": NO}, Rule(), False, False,
     dict(yes_area=20000, participating_area=40000, yes_heads=2, participating_heads=4)),
    ("one owner with three units is one person with all three areas",
     electorate(("100", "A"), ("100", "A"), ("100", "A"), ("100", "B"), ("100", "C")),
     {"A": YES, "B": NO}, Rule(), False, False,
     # area: 400/500 participate, 300/400 agree; heads: 2/3 participate, but 1 of 2 agree is only half
     dict(total_heads=3, participating_heads=2, yes_heads=1, yes_area=30000, participating_area=40000)),
    ("all unsold developer units together are one person",
     electorate(("100", DEVELOPER), ("100", DEVELOPER), ("100", DEVELOPER), ("100", DEVELOPER),
                ("100", "X"), ("100", "Y")),
     {DEVELOPER: YES, "X": YES}, Rule(), False, True,
     dict(total_heads=3, participating_heads=2, yes_heads=2, participating_area=50000, total_area=60000)),
    ("abstentions participate but do not agree",
     separate("100", "100", "100"), {"p1": YES, "p2": ABSTAIN, "p3": ABSTAIN}, Rule(), False, False,
     dict(participating_heads=3, abstain_heads=2, abstain_area=20000, yes_heads=1)),
    ("a majority of the participants carries it even with an abstention and a silent unit",
     separate("100", "100", "100", "100", "100"), {"p1": YES, "p2": YES, "p3": YES, "p4": ABSTAIN}, Rule(),
     False, True,
     dict(participating_heads=4, participating_area=40000, yes_area=30000)),
    ("反对 is recorded as 反对 and participates",
     separate("100", "100", "100"), {"p1": NO, "p2": NO, "p3": YES}, Rule(), False, False,
     dict(no_heads=2, no_area=20000, participating_heads=3)),
    ("silence counts as consent only where the estate's rules say so",
     separate("100", "100", "100"), {"p1": YES}, Rule(), True, True,
     dict(silent_heads=2, silent_area=20000, participating_heads=3, yes_heads=3)),
    ("without that rule silence is simply not participating",
     separate("100", "100", "100"), {"p1": YES}, Rule(), False, False,
     dict(silent_heads=0, participating_heads=1)),
    ("the older 双2/3 rule counts 同意 against all owners, boundary included",
     separate("100", "100", "100"), {"p1": YES, "p2": YES, "p3": NO}, DOUBLE_TWO_THIRDS, False, True,
     dict(yes_area=20000, total_area=30000)),
    ("the older 双2/3 rule fails one unit short of two thirds of all owners",
     separate("100", "100", "100", "100"), {"p1": YES, "p2": NO, "p3": YES}, DOUBLE_TWO_THIRDS, False, False,
     dict(yes_heads=2, total_heads=4)),
    ("筹集/改建 need three quarters, boundary included",
     separate("100", "100", "100", "100"), {"p1": YES, "p2": YES, "p3": YES, "p4": NO}, THREE_QUARTERS, False, True,
     dict(yes_heads=3, participating_heads=4)),
    # 民法典第二百七十八条 and 解释第九条: the person counts once, with ALL their 专有部分
    ("an owner who voted 反对 has all their units 反对, none of them silent consent",
     # A: 200 + 100 ㎡ votes 反对; B 200 and C 100 vote 同意. 同意 300 of 600 ㎡ is exactly half: refused
     # (were A's second unit silent, it would count as 同意 under silent consent: 400/600, passed)
     electorate(("200", "A"), ("100", "A"), ("200", "B"), ("100", "C")), {"A": NO, "B": YES, "C": YES},
     Rule(), True, False,
     dict(total_area=60000, participating_area=60000, yes_area=30000, no_area=30000, silent_area=0,
          yes_heads=2, no_heads=1, silent_heads=0)),
    ("an owner of three units who returned one ballot participates with all three",
     # A: 3 × 100 ㎡, B 100, C 100. A and B vote: 400/500 ㎡ = 80% and 2/3 heads participate
     electorate(("100", "A"), ("100", "A"), ("100", "A"), ("100", "B"), ("100", "C")), {"A": YES, "B": YES},
     Rule(), False, True,
     dict(participating_area=40000, total_area=50000, participating_heads=2, total_heads=3, yes_area=40000)),
    ("silent consent gives a person who returned nothing all their area",
     electorate(("100", "A"), ("50", "A"), ("100", "B"), ("100", "C")), {"B": YES, "C": NO},
     Rule(), True, True,
     dict(silent_area=15000, silent_heads=1, yes_area=25000, yes_heads=2, participating_area=35000)),
    ("nobody voting passes nothing",
     separate("100", "100"), {}, Rule(), False, False,
     dict(participating_area=0, participating_heads=0)),
]


@pytest.mark.parametrize(("name", "voters", "ballots", "rule", "silent", "passed", "numbers"), CASES,
                         ids=[case[0] for case in CASES])
def test_tally_decides_like_the_law(name, voters, ballots, rule, silent, passed, numbers):
    result = tally(voters, ballots, rule, silent_consent=silent)
    assert {key: getattr(result, key) for key in numbers} == numbers
    assert result.passed is passed


def test_headcount_and_area_thresholds_are_checked_separately():
    # one big owner: area quorum met, headcount quorum missed
    voters = electorate(("900", "big"), ("10", "a"), ("10", "b"), ("10", "c"))
    result = tally(voters, {"big": YES})
    assert result.quorum_area_met and not result.quorum_heads_met and not result.passed


def test_units_of_one_owner_count_once_in_the_total_heads():
    voters = electorate(("80", "A"), ("90", "A"), ("100", "B"))
    assert tally(voters, {}).total_heads == 2
    assert tally(voters, {}).total_area == 27000


@pytest.mark.parametrize(("text", "value"), [("2/3", Fraction(2, 3)), ("1/2", Fraction(1, 2)), ("0", 0), ("1", 1)])
def test_thresholds_are_written_as_fractions(text, value):
    assert parse_fraction(text) == value


@pytest.mark.parametrize("text", ["", "abc", "3/2", "-1/2", "1/0", "0.6.6"])
def test_a_threshold_outside_zero_to_one_is_not_one(text):
    assert parse_fraction(text) is None


def test_the_rule_reads_in_chinese():
    assert Rule().describe() == "参与表决的专有部分面积和人数均达到总数的 2/3 以上；同意的面积和人数均超过参与表决部分的 1/2"
    assert DOUBLE_TWO_THIRDS.describe() == "不设参与表决门槛；同意的面积和人数均达到全体业主的 2/3 以上"


# -- 民法典第二百七十八条第二款: local rules may be stricter, never looser ------------------------

@pytest.mark.parametrize("matter, quorum, approval, strict, accepted", [
    ("use", "2/3", "1/2", True, True),      # the law itself
    ("use", "3/4", "2/3", False, True),     # stricter
    ("use", "0", "1/2", True, False),       # no quorum
    ("use", "3/5", "1/2", True, False),     # quorum below 2/3
    ("use", "2/3", "1/2", False, False),    # 1/2 "以上" includes exactly half: looser than 过半数
    ("use", "2/3", "1/3", False, False),
    ("rebuild", "2/3", "3/4", False, True),
    ("rebuild", "2/3", "2/3", False, False),  # 改建重建 needs 3/4
    ("rebuild", "2/3", "4/5", True, True),
])
def test_a_jurisdictions_vote_rule_may_not_fall_below_article_278(app, matter, quorum, approval, strict, accepted):
    from app.extensions import db
    from models.fund_vote import VoteRule
    from tests.support import client_of, in_db

    admin = client_of(app, "admin")
    before = in_db(app, lambda: db.session.query(VoteRule).count())
    response = admin.post("/api/v1/vote_rule/", json={"matter": matter, "quorum": quorum, "approval": approval,
                                                      "strict": strict, "base": "participating", "basis": "本区规则"})
    assert (response.status_code == 201) is accepted, response.get_json()
    if not accepted:
        assert response.status_code in (400, 422) and "民法典第二百七十八条第二款" in response.get_json()["message"]
        assert in_db(app, lambda: db.session.query(VoteRule).count()) == before
