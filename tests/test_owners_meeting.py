"""业主大会会议 as specifications: the notice, one ballot per person for the whole agenda, each
matter counted by the threshold of its kind, and who may do what.

The estate of these tests is built here: five owners, A holding two units. Areas (㎡):
A 100 + 100, B 100, C 100, D 100, E 100 — 600 ㎡, five persons.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.fakes import id_card
from models import clock
from models.errors import Refused
from models.estate import Building, Estate, Unit
from models.fund_vote import ONE_BALLOT, VoteResult, Voter, tally
from models.owners_assembly import (
    MEETING_FLOW, MatterResult, MeetingBallot, MeetingChoice, MeetingMatter, MeetingProposer, MeetingRoll, OwnersMeeting,
    cast_agenda, tally_of,
)
from models.people import Owner, UnitOwnership
from models.repair_fund import FUND_FLOW, FundApplication, FundScope
from models.settings import LocalSetting, Settings
from models.workflow import Frozen, TransitionRefused, timeline
from tests.support import client_of, in_db, text_of

TODAY = clock.today()
DAY = dt.timedelta(days=1)
YES, NO, ABSTAIN = "yes", "no", "abstain"


# -- the estate and its meeting ---------------------------------------------------------------

def _estate() -> tuple[Estate, dict[str, list[int]]]:
    """A new estate: owner -> their unit ids (A two units, B–E one each, 100 ㎡ each)."""
    first = db.session.execute(select(Estate).order_by(Estate.id)).scalars().first()
    rng = random.Random(5)
    estate = Estate(community_id=first.community_id, name="议事测试小区", code="YS0001", address="测试路 1 号")
    building = Building(estate=estate, code="1", name="1号楼", floors=6)
    db.session.add_all([estate, building])
    db.session.flush()
    units: dict[str, list[int]] = {}
    for index, person in enumerate("AABCDE", start=1):
        unit = Unit(estate_id=estate.id, building_id=building.id, floor=index, room_no=f"1-{index:02d}01",
                    floor_area=Decimal("100.00"))
        db.session.add(unit)
        db.session.flush()
        units.setdefault(person, []).append(unit.id)
    for person, unit_ids in units.items():
        owner = Owner(estate_id=estate.id, name=f"业主{person}", id_number=id_card(rng))
        db.session.add(owner)
        db.session.flush()
        db.session.add_all([UnitOwnership(unit_id=u, owner_id=owner.id) for u in unit_ids])
    db.session.flush()
    return estate, units


def _meeting(estate: Estate, *kinds: str, vote_from: dt.date | None = None) -> OwnersMeeting:
    meeting = OwnersMeeting(
        estate_id=estate.id, title="测试业主大会会议", kind="regular", form="written",
        vote_from=vote_from or TODAY + 15 * DAY, vote_until=(vote_from or TODAY + 15 * DAY) + 14 * DAY,
        matters=[MeetingMatter(position=i, matter=kind, title=f"事项{i}") for i, kind in enumerate(kinds, start=1)],
    )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def _voting(estate: Estate, *kinds: str) -> OwnersMeeting:
    """Announced 15 days ahead, then its first day has come: voting opens."""
    meeting = _meeting(estate, *kinds)
    MEETING_FLOW.fire(db.session, meeting, "announce")
    _move(meeting, vote_from=TODAY, vote_until=TODAY + 14 * DAY)
    MEETING_FLOW.fire(db.session, meeting, "open_vote")
    return meeting


def _move(meeting: OwnersMeeting, **dates: dt.date) -> None:
    """The dates as if the days had passed (a plain UPDATE: the row is frozen)."""
    table = OwnersMeeting.__table__
    db.session.execute(update(table).where(table.c.id == meeting.id).values(**dates))
    db.session.expire(meeting, list(dates))


def _code(meeting: OwnersMeeting, unit_id: int) -> str:
    return db.session.scalar(select(MeetingRoll.code).where(MeetingRoll.meeting_id == meeting.id,
                                                            MeetingRoll.unit_id == unit_id))


def _cast(meeting: OwnersMeeting, unit_id: int, *choices: str) -> MeetingBallot:
    return cast_agenda(db.session, meeting, unit_id, {m.id: c for m, c in zip(meeting.matters, choices)},
                       channel="electronic", recorded_by="测试", code=_code(meeting, unit_id))


# -- the notice (物业管理条例第十四条) -----------------------------------------------------------

def test_a_meeting_is_announced_at_least_fifteen_days_before_voting(ctx):
    estate, _units = _estate()
    meeting = _meeting(estate, "covenant", vote_from=TODAY + 15 * DAY)
    MEETING_FLOW.fire(db.session, meeting, "announce")
    assert meeting.state == "announced" and meeting.announced_on == TODAY


def test_fourteen_days_notice_is_refused_with_the_article(ctx):
    estate, _units = _estate()
    meeting = _meeting(estate, "covenant", vote_from=TODAY + 14 * DAY)
    with pytest.raises(TransitionRefused, match="物业管理条例第十四条") as refused:
        MEETING_FLOW.fire(db.session, meeting, "announce")
    assert f"{TODAY + 15 * DAY:%Y年%m月%d日}" in str(refused.value)


def test_a_locality_may_ask_for_longer_notice(ctx):
    estate, _units = _estate()
    Settings.current(db.session).assembly_notice_days = 20
    meeting = _meeting(estate, "covenant", vote_from=TODAY + 19 * DAY)
    with pytest.raises(TransitionRefused, match="20 日以前"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_notice_days_below_the_law_are_refused(app):
    admin = client_of(app, "admin")
    response = admin.put("/api/v1/settings/1", json={"assembly_notice_days": 14})
    assert response.status_code in (400, 422) and "物业管理条例第十四条" in response.get_json()["message"]
    assert in_db(app, lambda: Settings.current(db.session).assembly_notice_days) == 15


def test_an_empty_agenda_cannot_be_announced(ctx):
    estate, _units = _estate()
    meeting = _meeting(estate)
    with pytest.raises(TransitionRefused, match="议程为空"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_the_agenda_is_frozen_once_announced(ctx):
    estate, _units = _estate()
    meeting = _meeting(estate, "covenant")
    MEETING_FLOW.fire(db.session, meeting, "announce")
    meeting.matters[0].title = "改过的事项"
    with pytest.raises(Frozen):
        db.session.flush()


def test_voting_does_not_open_before_its_first_day(ctx):
    estate, _units = _estate()
    meeting = _meeting(estate, "covenant")
    MEETING_FLOW.fire(db.session, meeting, "announce")
    with pytest.raises(TransitionRefused, match="开始表决"):
        MEETING_FLOW.fire(db.session, meeting, "open_vote")


# -- the roll and the ballot ----------------------------------------------------------------------

def test_the_roll_counts_an_owner_of_two_units_as_one_person(ctx):
    estate, units = _estate()
    meeting = _voting(estate, "covenant")
    roll = db.session.execute(select(MeetingRoll.unit_id, MeetingRoll.person).where(
        MeetingRoll.meeting_id == meeting.id)).all()
    assert len(roll) == 6 and len({person for _unit, person in roll}) == 5
    assert len({person for unit, person in roll if unit in units["A"]}) == 1


def test_one_ballot_carries_a_choice_on_every_matter(ctx):
    estate, units = _estate()
    meeting = _voting(estate, "covenant", "raise_fund", "property_manager")
    ballot = _cast(meeting, units["B"][0], YES, NO, ABSTAIN)
    stored = dict(db.session.execute(select(MeetingChoice.matter_id, MeetingChoice.choice)
                                     .where(MeetingChoice.ballot_id == ballot.id)).all())
    assert stored == {meeting.matters[0].id: YES, meeting.matters[1].id: NO, meeting.matters[2].id: ABSTAIN}


def test_a_ballot_missing_a_matter_is_refused_and_writes_nothing(ctx):
    estate, units = _estate()
    meeting = _voting(estate, "covenant", "raise_fund")
    with pytest.raises(Refused, match="第 2 项未选择"):
        _cast(meeting, units["B"][0], YES)
    assert db.session.scalar(select(MeetingBallot.id).where(MeetingBallot.meeting_id == meeting.id)) is None


def test_an_owner_of_two_units_votes_the_agenda_once(ctx):
    estate, units = _estate()
    meeting = _voting(estate, "covenant", "raise_fund")
    _cast(meeting, units["A"][0], YES, YES)
    with pytest.raises(Refused, match=re.escape(ONE_BALLOT)):
        _cast(meeting, units["A"][1], NO, NO)
    counted = tally_of(db.session, meeting.matters[0])
    # A's one ballot counts with both units: 200 ㎡, one person
    assert (counted.yes_area, counted.yes_heads, counted.ballots) == (20000, 1, 2)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(agendas=st.lists(st.one_of(st.none(), st.tuples(*[st.sampled_from([YES, NO, ABSTAIN])] * 2)),
                        min_size=5, max_size=5))
def test_each_matters_kept_count_equals_the_count_of_the_law(ctx, agendas):
    """tally_of reads the figures the database keeps per matter and choice; fund_vote.tally is
    the arithmetic read against the law. Each of the five persons returns a ballot on both
    matters or none: per matter the two counts agree, number for number."""
    try:
        estate, units = _estate()
        meeting = _voting(estate, "covenant", "raise_fund")
        for (person, unit_ids), agenda in zip(units.items(), agendas):
            if agenda:
                _cast(meeting, unit_ids[-1], *agenda)
        voters = [Voter(entry.unit_id, int(entry.area * 100), entry.person) for entry in db.session.execute(
            select(MeetingRoll).where(MeetingRoll.meeting_id == meeting.id)).scalars()]
        person_of = {v.unit_id: v.person for v in voters}
        for index, matter in enumerate(meeting.matters):
            ballots = {person_of[unit_ids[0]]: agenda[index]
                       for unit_ids, agenda in zip(units.values(), agendas) if agenda}
            assert tally_of(db.session, matter) == tally(voters, ballots, matter.rule(), bool(meeting.silent_consent))
    finally:
        db.session.rollback()


def test_a_wrong_code_is_refused(ctx):
    estate, units = _estate()
    meeting = _voting(estate, "covenant")
    with pytest.raises(Refused, match="电子投票码不正确"):
        cast_agenda(db.session, meeting, units["B"][0], {meeting.matters[0].id: YES}, channel="electronic",
                    recorded_by="测试", code="WRONG123")


def test_a_unit_of_another_estate_is_not_on_the_roll(ctx):
    estate, _units = _estate()
    meeting = _voting(estate, "covenant")
    elsewhere = db.session.scalar(select(Unit.id).where(Unit.estate_id != estate.id).limit(1))
    with pytest.raises(Refused, match="不在本次会议的表决名册中"):
        cast_agenda(db.session, meeting, elsewhere, {meeting.matters[0].id: YES}, channel="electronic",
                    recorded_by="测试", code="X")


def test_the_database_refuses_a_choice_on_another_meetings_matter(ctx):
    """A choice is held to its ballot's meeting by keys, whoever writes it (not only cast_agenda)."""
    estate, units = _estate()
    meeting = _voting(estate, "covenant")
    other = _meeting(estate, "raise_fund")
    ballot = _cast(meeting, units["B"][0], YES)
    for meeting_id in (meeting.id, other.id):  # either the matter's or the ballot's meeting is wrong
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.execute(insert(MeetingChoice.__table__).values(
                ballot_id=ballot.id, estate_id=estate.id, meeting_id=meeting_id, matter_id=other.matters[0].id,
                choice=YES))
    assert db.session.scalar(select(func.count()).select_from(MeetingChoice)
                             .where(MeetingChoice.ballot_id == ballot.id)) == 1


# -- the count: one set of ballots, each matter by its own threshold --------------------------------

def test_the_same_ballots_carry_an_ordinary_matter_and_fail_a_three_quarter_one(ctx):
    estate, units = _estate()
    meeting = _voting(estate, "property_manager", "common_parts")
    # all five persons vote; on both matters A (200 ㎡), B and C agree, D and E disagree:
    # 同意 400/600 ㎡ and 3/5 persons — more than half, but 3/5 < 3/4
    for person in "ABC":
        _cast(meeting, units[person][0], YES, YES)
    for person in "DE":
        _cast(meeting, units[person][0], NO, NO)
    _move(meeting, vote_from=TODAY - 14 * DAY, vote_until=TODAY - DAY)
    MEETING_FLOW.fire(db.session, meeting, "close_vote")
    results = {r.matter_id: r for r in db.session.execute(
        select(MatterResult).where(MatterResult.meeting_id == meeting.id)).scalars()}
    ordinary, special = (results[m.id] for m in meeting.matters)
    assert (ordinary.passed, special.passed) == (True, False)
    assert (ordinary.yes_area, ordinary.participating_area, ordinary.yes_heads, ordinary.participating_heads) == (
        Decimal("400.00"), Decimal("600.00"), 3, 5)
    assert "3/4 以上" in special.rule and meeting.state == "counted"


def test_a_matter_passes_with_exactly_three_quarters_of_the_area_and_persons(ctx):
    estate, units = _estate()
    owner_e = db.session.execute(select(Owner).join(UnitOwnership).where(
        UnitOwnership.unit_id == units["E"][0])).scalar_one()
    # E's unit goes to A: A 300 ㎡, B, C, D 100 ㎡ each — 4 persons, 600 ㎡
    db.session.execute(update(UnitOwnership.__table__).where(UnitOwnership.__table__.c.owner_id == owner_e.id)
                       .values(owner_id=db.session.scalar(select(UnitOwnership.owner_id).where(
                           UnitOwnership.unit_id == units["A"][0]))))
    meeting = _voting(estate, "raise_fund")
    # A (300 ㎡), B, C agree and D disagrees: persons 3/4 exactly, area 500/600 — passes ("以上")
    for person, choice in (("A", YES), ("B", YES), ("C", YES), ("D", NO)):
        _cast(meeting, units[person][0], choice)
    counted = tally_of(db.session, meeting.matters[0])
    assert (counted.yes_heads, counted.participating_heads, counted.passed) == (3, 4, True)


def test_voting_closes_early_only_when_every_person_has_voted(ctx):
    estate, units = _estate()
    meeting = _voting(estate, "covenant")
    for person in "ABCD":
        _cast(meeting, units[person][0], YES)
    with pytest.raises(TransitionRefused, match="尚有 1 位业主未投票"):
        MEETING_FLOW.fire(db.session, meeting, "close_vote")
    _cast(meeting, units["E"][0], YES)
    MEETING_FLOW.fire(db.session, meeting, "close_vote")
    assert meeting.state == "counted"


def test_the_rule_of_a_matter_is_fixed_when_voting_opens(ctx):
    from models.fund_vote import VoteRule

    estate, _units = _estate()
    meeting = _voting(estate, "covenant")
    db.session.add(VoteRule(matter="covenant", quorum="4/5", approval="4/5", strict=False, base="participating",
                            basis="后来的规则", district_id=None))
    db.session.flush()
    assert (meeting.matters[0].rule_quorum, meeting.matters[0].rule_approval) == ("2/3", "1/2")
    assert tally_of(db.session, meeting.matters[0]).rule.approval == Fraction(1, 2)


# -- pages and the public board -------------------------------------------------------------------

def _seed_voting(app) -> tuple[int, dict[str, list[int]], dict[int, str]]:
    """A committed voting meeting of the test estate: (id, units, code per unit)."""
    def make():
        estate, units = _estate()
        meeting = _voting(estate, "covenant", "common_parts")
        codes = {u: _code(meeting, u) for ids in units.values() for u in ids}
        db.session.commit()
        return meeting.id, units, codes

    return in_db(app, make)


def _form(app, meeting_id: int, unit_id: int, code: str, choices: list[str]) -> dict[str, str]:
    def read():
        unit = db.session.get(Unit, unit_id)
        matters = db.session.execute(select(MeetingMatter.id).where(MeetingMatter.meeting_id == meeting_id)
                                     .order_by(MeetingMatter.position)).scalars().all()
        return unit.building_id, unit.room_no, matters

    building, room, matters = in_db(app, read)
    return {"building": str(building), "room": room, "code": code,
            **{f"choice_{m}": c for m, c in zip(matters, choices)}}


def test_an_owner_votes_the_whole_agenda_on_the_public_board(app):
    meeting_id, units, codes = _seed_voting(app)
    client = app.test_client()
    unit = units["A"][1]
    response = client.post(f"/public/meeting/{meeting_id}", data=_form(app, meeting_id, unit, codes[unit], [YES, NO]))
    assert response.status_code == 200 and "投票成功" in text_of(response)
    assert "全部 2 套房屋（200.00 ㎡）" in text_of(response)
    stored = in_db(app, lambda: sorted(db.session.execute(select(MeetingChoice.choice).where(
        MeetingChoice.meeting_id == meeting_id)).scalars().all()))
    assert stored == [NO, YES]


def test_a_wrong_code_on_the_public_board_is_a_400_that_writes_nothing(app):
    meeting_id, units, _codes = _seed_voting(app)
    unit = units["B"][0]
    response = app.test_client().post(f"/public/meeting/{meeting_id}",
                                      data=_form(app, meeting_id, unit, "WRONG123", [YES, YES]))
    assert response.status_code == 400 and "房号或电子投票码不正确" in text_of(response)
    assert in_db(app, lambda: db.session.scalar(select(MeetingBallot.id).where(
        MeetingBallot.meeting_id == meeting_id))) is None


def test_a_draft_meeting_is_not_on_the_public_board(app):
    def draft():
        estate, _units = _estate()
        meeting = _meeting(estate, "covenant")
        db.session.commit()
        return meeting.id

    meeting_id = in_db(app, draft)
    assert app.test_client().get(f"/public/meeting/{meeting_id}").status_code == 404


def test_the_public_notice_states_each_matters_threshold(app):
    meeting_id, _units, _codes = _seed_voting(app)
    page = text_of(app.test_client().get(f"/public/meeting/{meeting_id}"))
    assert "改变共有部分的用途或者利用共有部分从事经营活动" in page
    assert "同意的面积和人数均达到参与表决部分的 3/4 以上" in page
    assert "同意的面积和人数均超过参与表决部分的 1/2" in page


def test_the_committee_records_a_paper_ballot_for_the_whole_agenda(app):
    from io import BytesIO

    meeting_id, units, _codes = _seed_voting(app)
    committee = client_of(app, "admin")
    unit = units["C"][0]
    form = _form(app, meeting_id, unit, "", [ABSTAIN, YES])
    form.pop("code")
    data = {**{k: v for k, v in form.items() if k.startswith("choice_")}, "unit": str(unit),
            "scan": (BytesIO(b"%PDF-1.4\n%%EOF\n"), "ballot.pdf")}
    response = committee.post(f"/owners_meeting/ballot/{meeting_id}", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    page = text_of(committee.get(f"/owners_meeting/tally/{meeting_id}"))
    assert "已投票 1 人" in page
    channel = in_db(app, lambda: db.session.scalar(select(MeetingBallot.channel).where(
        MeetingBallot.meeting_id == meeting_id)))
    assert channel == "paper"


def test_the_printed_ballots_carry_every_matter_for_each_person_once(app):
    meeting_id, _units, codes = _seed_voting(app)
    page = text_of(client_of(app, "admin").get(f"/owners_meeting/print_ballots/{meeting_id}"))
    assert page.count('<section class="slip">') == 5  # A's two units share one slip
    assert all(page.count(code) == 2 for code in set(codes.values()))  # the slip and the roll
    assert page.count("事项1") == 5 and page.count("事项2") == 5
    assert "对全部事项逐项表决" in page and "返回表决与计票" in page
    assert f'href="/owners_meeting/tally/{meeting_id}"' in page
    assert "fund_print.css" in page and not re.search(r'(?:src|href)="(?:https?:)?//', page)


def test_a_manager_may_read_a_meeting_but_not_announce_it(app):
    def draft():
        estate = db.session.execute(select(Estate).order_by(Estate.id)).scalars().first()  # manager_a's estate
        meeting = _meeting(estate, "covenant")
        db.session.commit()
        return meeting.id

    meeting_id = in_db(app, draft)
    manager = client_of(app, "manager_a")
    assert manager.get(f"/owners_meeting/show/{meeting_id}").status_code == 200
    manager.post(f"/owners_meeting/transition/announce/{meeting_id}", data={"comment": ""})
    assert in_db(app, lambda: db.session.get(OwnersMeeting, meeting_id).state) == "draft"


def test_another_estates_committee_cannot_open_the_meeting(app):
    def other():
        estate = db.session.execute(select(Estate).order_by(Estate.id).offset(1)).scalars().first()
        meeting = _meeting(estate, "covenant")
        db.session.commit()
        return meeting.id

    meeting_id = in_db(app, other)
    committee = client_of(app, "committee_a")  # the large estate's committee
    assert committee.get(f"/owners_meeting/show/{meeting_id}").status_code == 404
    assert committee.get(f"/owners_meeting/tally/{meeting_id}").status_code == 404
    committee.post(f"/owners_meeting/transition/announce/{meeting_id}", data={"comment": ""})
    assert in_db(app, lambda: db.session.get(OwnersMeeting, meeting_id).state) == "draft"


# -- oversight ----------------------------------------------------------------------------------

def test_the_oversight_figure_counts_an_estates_meetings_and_decided_matters(ctx):
    from models.dashboard import FIGURES, Context

    estate, units = _estate()
    meeting = _voting(estate, "property_manager", "common_parts")
    for person in "ABC":
        _cast(meeting, units[person][0], YES, YES)
    for person in "DE":
        _cast(meeting, units[person][0], NO, NO)
    MEETING_FLOW.fire(db.session, meeting, "close_vote")  # everyone has voted
    _meeting(estate, "covenant")  # a draft is neither held nor in progress
    announced = _meeting(estate, "other")
    MEETING_FLOW.fire(db.session, announced, "announce")
    [row] = FIGURES["self_governance"].query(db.session, Context(TODAY, Settings.current(db.session), estate.id))
    assert (row["held"], row["passed"], row["failed"], row["in_progress"]) == (1, 1, 1, 1)
    assert row["committee"] == "尚未成立" and row["last_held"] == TODAY + 14 * DAY


def test_a_meeting_whose_vote_closes_within_the_horizon_is_on_the_workbench(ctx):
    from models.dashboard import TODOS, Context

    estate, _units = _estate()
    before = TODOS["meetings_closing"].count(db.session, Context(TODAY, Settings.current(db.session), estate.id))
    meeting = _voting(estate, "covenant")  # closes in 14 days
    horizon = Settings.current(db.session).vote_closing_days
    _move(meeting, vote_until=TODAY + horizon * DAY)
    after = TODOS["meetings_closing"].count(db.session, Context(TODAY, Settings.current(db.session), estate.id))
    assert (before, after) == (0, 1)


@pytest.mark.parametrize("kind, reason, refused", [
    ("extraordinary", "", True), ("extraordinary", "proposal", False), ("regular", "", False)])
def test_an_extraordinary_meeting_names_why_it_is_called(app, kind, reason, refused):
    admin = client_of(app, "admin")
    count = lambda: db.session.query(OwnersMeeting).count()  # noqa: E731
    before = in_db(app, count)
    response = admin.post("/api/v1/owners_meeting/", json={
        "estate": 1, "title": "临时会议", "kind": kind, "reason": reason or None, "form": "written",
        "vote_from": f"{TODAY + 20 * DAY}", "vote_until": f"{TODAY + 30 * DAY}"})
    assert (response.status_code in (400, 422)) is refused, response.get_json()
    assert in_db(app, count) == before + (0 if refused else 1)
    if refused:
        assert "指导规则第二十一条" in response.get_json()["message"]


# -- 选聘物业: the decision becomes the contract record -------------------------------------------

def _hiring(estate: Estate) -> OwnersMeeting:
    """A meeting whose one matter hires a company for 2027–2029, 包干制."""
    from models.company import PropertyCompany

    meeting = _meeting(estate, "property_manager")
    matter = meeting.matters[0]
    matter.company_id = db.session.execute(select(PropertyCompany.id).order_by(PropertyCompany.id)).scalars().first()
    matter.contract_starts, matter.contract_ends = dt.date(2027, 1, 1), dt.date(2029, 12, 31)
    matter.billing_mode = "lump_sum"
    db.session.flush()
    MEETING_FLOW.fire(db.session, meeting, "announce")
    _move(meeting, vote_from=TODAY, vote_until=TODAY + 14 * DAY)
    MEETING_FLOW.fire(db.session, meeting, "open_vote")
    return meeting


def _contracts_of(meeting: OwnersMeeting) -> list:
    from models.company import ServiceContract

    return db.session.execute(select(ServiceContract).where(
        ServiceContract.decided_by_id == meeting.matters[0].id)).scalars().all()


def test_a_passed_hiring_becomes_the_contract_record_without_retyping(ctx):
    estate, units = _estate()
    meeting = _hiring(estate)
    for person in "ABCDE":  # everyone votes: 4 of 5 persons, 500 of 600 ㎡ agree
        _cast(meeting, units[person][0], NO if person == "E" else YES)
    MEETING_FLOW.fire(db.session, meeting, "close_vote")
    [contract] = _contracts_of(meeting)
    matter = meeting.matters[0]
    assert (contract.estate_id, contract.company_id, contract.starts_on, contract.ends_on, contract.billing_mode) == (
        estate.id, matter.company_id, dt.date(2027, 1, 1), dt.date(2029, 12, 31), "lump_sum")
    assert contract.signed_on is None  # 物业 add it when the contract is signed


def test_a_hiring_the_owners_turned_down_writes_no_contract(ctx):
    estate, units = _estate()
    meeting = _hiring(estate)
    for person in "ABCDE":  # 2 of 5 persons (300 of 600 ㎡) agree: not more than half
        _cast(meeting, units[person][0], YES if person in "AB" else NO)
    MEETING_FLOW.fire(db.session, meeting, "close_vote")
    assert _contracts_of(meeting) == []


def test_a_contract_proposal_belongs_only_to_hiring_a_company(app):
    from models.company import PropertyCompany

    def meeting_and_company():
        estate, _units = _estate()
        meeting = _meeting(estate)
        db.session.commit()
        return meeting.id, db.session.execute(select(PropertyCompany.id)).scalars().first()

    meeting_id, company_id = in_db(app, meeting_and_company)
    response = client_of(app, "admin").post("/api/v1/meeting_matter/", json={
        "meeting": meeting_id, "position": 1, "matter": "covenant", "title": "修订管理规约", "company": company_id,
        "contract_starts": "2027-01-01", "contract_ends": "2029-12-31", "billing_mode": "lump_sum"})
    assert response.status_code == 400
    assert "只有「选聘和解聘物业服务企业」事项填写拟签合同" in response.get_json()["message"]
    assert in_db(app, lambda: db.session.scalar(select(MeetingMatter.id).where(
        MeetingMatter.meeting_id == meeting_id))) is None


# -- 临时会议 on the owners' proposal (业主大会和业主委员会指导规则第二十一条) -------------------------------

def _proposed_by(estate, *persons: str) -> OwnersMeeting:
    meeting = _meeting(estate, "other")
    meeting.kind, meeting.reason = "extraordinary", "proposal"
    meeting.proposers = [MeetingProposer(owner_id=db.session.scalar(select(Owner.id).where(
        Owner.estate_id == estate.id, Owner.name == f"业主{p}"))) for p in persons]
    db.session.flush()
    return meeting


def test_owners_with_a_fifth_of_the_persons_and_a_third_of_the_area_call_a_meeting(ctx):
    estate, _units = _estate()
    meeting = _proposed_by(estate, "A")  # 1 of 5 persons (20 %), 200 of 600 ㎡
    MEETING_FLOW.fire(db.session, meeting, "announce")
    assert meeting.state == "announced"


def test_a_fifth_of_the_persons_with_a_sixth_of_the_area_cannot_call_a_meeting(ctx):
    estate, _units = _estate()
    meeting = _proposed_by(estate, "B")  # 1 of 5 persons, 100 of 600 ㎡ (16.67 %)
    with pytest.raises(TransitionRefused, match=r"现为 1 人（占 20.00%）、100.00 ㎡（占 16.67%）"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_a_locality_may_let_fewer_owners_call_a_meeting(ctx):
    estate, _units = _estate()
    db.session.add(LocalSetting(district_id=estate.community.street.district_id,
                                setting="extraordinary_proposal_percent", value="15", basis="本市规定"))
    meeting = _proposed_by(estate, "B")
    MEETING_FLOW.fire(db.session, meeting, "announce")
    assert meeting.state == "announced"


def test_a_share_above_the_laws_twenty_percent_is_refused(app):
    response = client_of(app, "admin").put("/api/v1/settings/1", json={"extraordinary_proposal_percent": 25})
    assert response.status_code == 400 and "第二十一条" in response.get_json()["message"]


def test_a_proposer_is_an_owner_of_the_estate(ctx):
    estate, _units = _estate()
    meeting = _meeting(estate, "other")
    stranger = db.session.execute(select(Owner).where(Owner.estate_id != estate.id)).scalars().first()
    db.session.add(MeetingProposer(meeting_id=meeting.id, owner_id=stranger.id))
    with pytest.raises(Refused, match="所选的业主不属于同一小区"):
        db.session.flush()


# -- 使用维修资金 decided by the whole estate at a meeting --------------------------------------------

def _fund_application(estate: Estate, units: dict[str, list[int]] | None = None) -> FundApplication:
    """A plan approved by the committee and now published (7 days by default), its 列支范围 the
    estate's one building (every unit), or the units named."""
    app = FundApplication(estate_id=estate.id, title="外墙翻新", repair_part="外墙", budget=Decimal("60000.00"),
                          contractor="某某建筑工程有限公司", plan="60 天完工", exclusion_declared=True)
    building = db.session.scalar(select(Building.id).where(Building.estate_id == estate.id))
    app.scope = ([FundScope(unit_id=u) for ids in units.values() for u in ids] if units
                 else [FundScope(building_id=building)])
    db.session.add(app)
    db.session.flush()
    for step in ("submit", "approve"):
        FUND_FLOW.fire(db.session, app, step, None, "同意")
    return app


def _fund_meeting(estate: Estate, app: FundApplication) -> OwnersMeeting:
    meeting = OwnersMeeting(estate_id=estate.id, title="维修资金使用表决会议", vote_from=TODAY + 15 * DAY,
                            vote_until=TODAY + 29 * DAY,
                            matters=[MeetingMatter(position=1, matter="use", title="外墙翻新使用维修资金",
                                                   fund_application_id=app.id)])
    db.session.add(meeting)
    db.session.flush()
    return meeting


def _counted(meeting: OwnersMeeting, units: dict[str, list[int]], yes: str, no: str) -> None:
    MEETING_FLOW.fire(db.session, meeting, "announce")
    _move(meeting, vote_from=TODAY, vote_until=TODAY + 14 * DAY)
    MEETING_FLOW.fire(db.session, meeting, "open_vote")
    for people, choice in ((yes, YES), (no, NO)):
        for person in people:
            _cast(meeting, units[person][0], choice)
    _move(meeting, vote_from=TODAY - 14 * DAY, vote_until=TODAY - DAY)
    MEETING_FLOW.fire(db.session, meeting, "close_vote")


def test_a_plan_of_the_whole_estate_passed_at_a_meeting_goes_on_to_the_works(ctx):
    estate, units = _estate()
    app = _fund_application(estate)
    meeting = _fund_meeting(estate, app)
    _counted(meeting, units, yes="ABCD", no="E")  # 同意 500 of 600 ㎡, 4 of 5 persons
    result = db.session.execute(select(VoteResult).where(VoteResult.application_id == app.id)).scalar_one()
    assert app.state == "vote_passed" and result.passed
    assert (result.yes_area, result.participating_area, result.yes_heads, result.participating_heads) == (
        Decimal("500.00"), Decimal("600.00"), 4, 5)
    assert (app.vote_from, app.vote_until) == (TODAY - 14 * DAY, TODAY - DAY)
    event = timeline(db.session, app)[-1]
    assert (event.transition, event.to_state, event.username) == ("count_at_meeting", "vote_passed", "业主大会")
    assert "维修资金使用表决会议 第 1 项" in event.comment


def test_the_meetings_notice_shows_the_plan_put_to_the_owners(app):
    def seed():
        estate, _units = _estate()
        meeting = _fund_meeting(estate, _fund_application(estate))
        MEETING_FLOW.fire(db.session, meeting, "announce")
        db.session.commit()
        return meeting.id

    page = text_of(app.test_client().get(f"/public/meeting/{in_db(app, seed)}"))
    assert "维修资金使用方案：外墙翻新，维修部位 外墙，费用预算 60,000.00 元" in page


def test_a_plan_the_meeting_rejects_fails_as_its_own_vote_would(ctx):
    estate, units = _estate()
    app = _fund_application(estate)
    # A (200 ㎡) and B agree, C, D and E disagree: 300 of 600 ㎡ is half, not more than half
    _counted(_fund_meeting(estate, app), units, yes="AB", no="CDE")
    assert app.state == "vote_failed"


def test_a_plan_of_part_of_the_estate_is_voted_by_its_owners_not_the_meeting(ctx):
    estate, units = _estate()
    app = _fund_application(estate, {"A": units["A"], "B": units["B"]})
    meeting = _fund_meeting(estate, app)
    with pytest.raises(TransitionRefused, match="列支范围为 3 套房屋，不是本小区全部 6 套"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_a_plan_still_under_publicity_when_voting_starts_is_refused(ctx):
    estate, _units = _estate()
    Settings.current(db.session).fund_publicity_days = 20  # published until today + 19
    meeting = _fund_meeting(estate, _fund_application(estate))  # voting from today + 15
    with pytest.raises(TransitionRefused, match="方案公示期至 .*会议表决开始须在公示期满之后"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_a_plan_the_committee_has_not_approved_stays_off_the_agenda(ctx):
    estate, _units = _estate()
    app = FundApplication(estate_id=estate.id, title="外墙翻新", repair_part="外墙", budget=Decimal("60000.00"),
                          contractor="某某建筑工程有限公司", plan="60 天完工", exclusion_declared=True)
    db.session.add(app)
    db.session.flush()
    meeting = _fund_meeting(estate, app)
    with pytest.raises(TransitionRefused, match="须经业委会审核并处于方案公示阶段，现为「草稿」"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_a_plan_on_an_announced_agenda_is_not_voted_separately(ctx):
    estate, _units = _estate()
    app = _fund_application(estate)
    meeting = _fund_meeting(estate, app)
    MEETING_FLOW.fire(db.session, meeting, "announce")
    db.session.execute(update(FundApplication.__table__).where(FundApplication.__table__.c.id == app.id)
                       .values(publicity_until=TODAY - DAY))  # its publicity is over
    db.session.expire(app)
    with pytest.raises(TransitionRefused, match="已列入业主大会会议「维修资金使用表决会议」的议程"):
        FUND_FLOW.fire(db.session, app, "open_vote", None, "")
    assert app.state == "publicity"


def test_a_plan_is_put_to_the_meeting_by_a_matter_of_its_own_kind(app):
    def seed():
        estate = db.session.execute(select(Estate).order_by(Estate.id)).scalars().first()
        fund = FundApplication(estate_id=estate.id, title="屋面改建", matter="rebuild", repair_part="屋面",
                               budget=Decimal("90000.00"), contractor="某某公司", plan="30 天", exclusion_declared=True)
        meeting = _meeting(estate, "other")
        db.session.add(fund)
        db.session.commit()
        return meeting.id, fund.id

    meeting_id, fund_id = in_db(app, seed)
    response = client_of(app, "admin").post("/api/v1/meeting_matter/", json={
        "meeting": meeting_id, "position": 2, "matter": "use", "title": "屋面改建", "fund_application": fund_id})
    assert response.status_code == 400
    assert "该维修资金使用申请的表决事项为「改建、重建建筑物及其附属设施」" in response.get_json()["message"]
    assert in_db(app, lambda: db.session.scalar(select(MeetingMatter.id).where(
        MeetingMatter.fund_application_id == fund_id))) is None
