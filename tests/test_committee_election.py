"""业委会选举 as specifications: who may stand, the ballot approving up to the seats, who is
elected (ties and too few included), and the term that follows to its 备案.

The estate is the meeting tests' one: five owners, A holding two units; 100 ㎡ each unit,
600 ㎡ and five persons in all.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from models.committee import TERM_FLOW, CommitteeMember, CommitteeTerm
from models.dashboard import FIGURES, TODOS, Context
from models.election import (
    Candidate, CandidateResult, MeetingApproval, election_tallies, election_words, elect, unfilled_seats,
)
from models.errors import Refused
from models.estate import Estate
from models.fees import Bill, FeeItem, FeeStandard, FeeStandardLine
from models.fund_vote import Voter, count_up, legal_rule, tally
from models.owners_assembly import MEETING_FLOW, MeetingBallot, MeetingMatter, MeetingRoll, OwnersMeeting, cast_agenda
from models.people import Owner
from models.settings import Settings
from models.workflow import TransitionRefused
from tests.support import client_of, in_db, text_of
from tests.test_owners_meeting import DAY, TODAY, _code, _estate, _move

RULE = legal_rule("committee")


# -- the rule of who fills the seats (a pure function) --------------------------------------------

def _tally(yes_heads: int, yes_area: int, voted_heads: int = 4, voted_area: int = 500, heads: int = 5,
           area: int = 600):
    """A candidate's figures (area in ㎡): approving, returned ballots, the whole roll."""
    return count_up({"yes": yes_area * 100, "abstain": (voted_area - yes_area) * 100, None: (area - voted_area) * 100},
                    {"yes": yes_heads, "abstain": voted_heads - yes_heads, None: heads - voted_heads},
                    {}, RULE, silent_consent=False)


def _outcomes(tallies: dict, seats: int, alternates: int = 0) -> dict[int, tuple[int | None, str]]:
    return {s.candidate_id: (s.rank, s.outcome) for s in elect(tallies, seats, alternates)}


def test_the_seats_go_to_the_most_approved_candidates_who_reached_the_threshold():
    # 4 of 5 persons (500 of 600 ㎡) voted; more than half means at least 3 persons and over 250 ㎡
    tallies = {1: _tally(3, 300), 2: _tally(4, 400), 3: _tally(3, 260)}
    assert _outcomes(tallies, seats=2) == {2: (1, "elected"), 1: (2, "elected"), 3: (3, "not_elected")}


def test_equal_approving_persons_are_ranked_by_approving_area():
    tallies = {1: _tally(3, 260), 2: _tally(3, 300)}
    assert _outcomes(tallies, seats=1) == {2: (1, "elected"), 1: (2, "not_elected")}


def test_a_tie_at_the_last_seat_leaves_it_for_another_election():
    tallies = {1: _tally(4, 400), 2: _tally(3, 300), 3: _tally(3, 300)}
    standings = elect(tallies, seats=2)
    assert {s.candidate_id: s.outcome for s in standings} == {1: "elected", 2: "tied", 3: "tied"}
    outcomes = [s.outcome for s in standings]
    assert unfilled_seats(outcomes, 2) == 1
    assert election_words(outcomes, 2) == "应选 2 名，当选 1 名，尚缺 1 名：其中 2 名候选人得票相同，须另行选举（补选）"


def test_equals_who_all_fit_are_all_elected():
    tallies = {1: _tally(3, 300), 2: _tally(3, 300)}
    assert _outcomes(tallies, seats=2) == {1: (1, "elected"), 2: (1, "elected")}


def test_a_candidate_below_half_of_the_participants_is_not_elected_even_with_seats_free():
    # exactly half (2 of 4 persons) is not more than half
    tallies = {1: _tally(4, 400), 2: _tally(2, 300)}
    standings = elect(tallies, seats=3)
    assert {s.candidate_id: (s.rank, s.outcome) for s in standings} == {1: (1, "elected"), 2: (None, "not_elected")}
    assert election_words([s.outcome for s in standings], 3) == "应选 3 名，当选 1 名，尚缺 2 名：须另行选举（补选）"


def test_without_the_quorum_nobody_is_elected():
    # 3 of 5 persons took part: below 2/3 of the persons
    tallies = {1: _tally(3, 400, voted_heads=3, voted_area=400)}
    assert _outcomes(tallies, seats=1) == {1: (None, "not_elected")}


def test_the_next_candidates_who_reached_the_threshold_become_alternates():
    tallies = {1: _tally(4, 400), 2: _tally(3, 350), 3: _tally(3, 300)}
    assert _outcomes(tallies, seats=1, alternates=1) == {1: (1, "elected"), 2: (2, "alternate"),
                                                          3: (3, "not_elected")}


# -- the estate's election ----------------------------------------------------------------------

def _owner(estate: Estate, person: str) -> Owner:
    return db.session.execute(select(Owner).where(Owner.estate_id == estate.id,
                                                  Owner.name == f"业主{person}")).scalar_one()


def _election(estate: Estate, seats: int, standing: str, *, by_election: bool = True,
              alternates: int | None = None) -> OwnersMeeting:
    """A draft meeting whose one matter elects ``seats`` among the owners named in ``standing``."""
    matter = MeetingMatter(position=1, matter="committee", title="选举业主委员会委员", seats=seats,
                           alternates=alternates, by_election=by_election)
    meeting = OwnersMeeting(estate_id=estate.id, title="业委会选举会议", kind="regular", form="written",
                            vote_from=TODAY + 15 * DAY, vote_until=TODAY + 29 * DAY, matters=[matter])
    db.session.add(meeting)
    db.session.flush()
    for position, person in enumerate(standing, start=1):
        db.session.add(Candidate(matter=matter, position=position, owner=_owner(estate, person), nomination="self"))
    db.session.flush()
    db.session.refresh(matter)
    return meeting


def _open(meeting: OwnersMeeting) -> OwnersMeeting:
    MEETING_FLOW.fire(db.session, meeting, "announce")
    _move(meeting, vote_from=TODAY, vote_until=TODAY + 14 * DAY)
    MEETING_FLOW.fire(db.session, meeting, "open_vote")
    return meeting


def _close(meeting: OwnersMeeting) -> None:
    """The voting period is over: the count."""
    _move(meeting, vote_from=TODAY - 14 * DAY, vote_until=TODAY - DAY)
    MEETING_FLOW.fire(db.session, meeting, "close_vote")


def _candidates(meeting: OwnersMeeting) -> dict[str, int]:
    return {c.owner.name[-1]: c.id for c in meeting.matters[0].candidates}


def _approve(meeting: OwnersMeeting, unit_id: int, *people: str) -> MeetingBallot:
    ids = _candidates(meeting)
    return cast_agenda(db.session, meeting, unit_id, {}, channel="electronic", recorded_by="测试",
                       code=_code(meeting, unit_id), approvals={meeting.matters[0].id: [ids[p] for p in people]})


def test_the_database_refuses_an_approval_of_another_elections_candidate(ctx):
    """An approval is held by keys to a candidate of an election of its ballot's meeting."""
    estate, units = _estate()
    meeting = _open(_election(estate, 2, "BCD"))
    other = _election(estate, 1, "E")
    ballot = _approve(meeting, units["B"][0], "C")
    stranger = other.matters[0].candidates[0]
    attempts = ((meeting.id, meeting.matters[0].id),  # the candidate is not of this election
                (meeting.id, other.matters[0].id),  # the election is not of the ballot's meeting
                (other.id, other.matters[0].id))  # the ballot is not of that meeting
    for meeting_id, matter_id in attempts:
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.execute(insert(MeetingApproval.__table__).values(
                ballot_id=ballot.id, estate_id=estate.id, meeting_id=meeting_id, matter_id=matter_id,
                candidate_id=stranger.id))
    assert db.session.scalar(select(func.count()).select_from(MeetingApproval)
                             .where(MeetingApproval.ballot_id == ballot.id)) == 1


def test_an_approval_counts_for_every_unit_of_the_person(ctx):
    estate, units = _estate()
    meeting = _open(_election(estate, 2, "BCD"))
    _approve(meeting, units["A"][1], "B")
    tallies = election_tallies(db.session, meeting.matters[0])
    b = tallies[_candidates(meeting)["B"]]
    assert (b.yes_heads, b.yes_area, b.participating_heads, b.participating_area) == (1, 20000, 1, 20000)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ballots=st.lists(st.one_of(st.none(), st.sets(st.sampled_from("BCD"), max_size=2)), min_size=5, max_size=5))
def test_each_candidates_kept_count_equals_the_count_of_the_law(ctx, ballots):
    """election_tallies reads the figures the database keeps per candidate; for each candidate
    fund_vote.tally counts the same roll with 同意 for the persons who approved them and 弃权 for
    those who returned a ballot without: the two agree, number for number. Each of the five
    persons returns no ballot or one approving up to two of B, C, D (two seats)."""
    try:
        estate, units = _estate()
        meeting = _open(_election(estate, 2, "BCD"))
        for unit_ids, approved in zip(units.values(), ballots):
            if approved is not None:
                _approve(meeting, unit_ids[-1], *sorted(approved))
        voters = [Voter(entry.unit_id, int(entry.area * 100), entry.person) for entry in db.session.execute(
            select(MeetingRoll).where(MeetingRoll.meeting_id == meeting.id)).scalars()]
        person_of = {v.unit_id: v.person for v in voters}
        matter = meeting.matters[0]
        kept = election_tallies(db.session, matter)
        for name, candidate_id in _candidates(meeting).items():
            choices = {person_of[unit_ids[0]]: "yes" if name in approved else "abstain"
                       for unit_ids, approved in zip(units.values(), ballots) if approved is not None}
            assert kept[candidate_id] == tally(voters, choices, matter.rule(), silent_consent=False)
    finally:
        db.session.rollback()


def test_approving_more_candidates_than_seats_is_refused_and_writes_nothing(ctx):
    estate, units = _estate()
    meeting = _open(_election(estate, 2, "BCD"))
    with pytest.raises(Refused, match="应选 2 名，最多赞成 2 位候选人，您选了 3 位"):
        _approve(meeting, units["B"][0], "B", "C", "D")
    assert db.session.scalar(select(func.count()).select_from(MeetingApproval)
                             .where(MeetingApproval.meeting_id == meeting.id)) == 0


def test_a_candidate_of_another_election_cannot_be_approved(ctx):
    estate, units = _estate()
    meeting = _open(_election(estate, 1, "BC"))
    other = _election(estate, 1, "DE")
    stranger = other.matters[0].candidates[0].id
    with pytest.raises(Refused, match="不在本次选举的候选人名单中"):
        cast_agenda(db.session, meeting, units["C"][0], {}, channel="electronic", recorded_by="测试",
                    code=_code(meeting, units["C"][0]), approvals={meeting.matters[0].id: [stranger]})


def test_a_ballot_approving_nobody_still_takes_part(ctx):
    estate, units = _estate()
    meeting = _open(_election(estate, 1, "BC"))
    _approve(meeting, units["E"][0])
    tallies = election_tallies(db.session, meeting.matters[0])
    assert {(t.participating_heads, t.yes_heads) for t in tallies.values()} == {(1, 0)}


def _vote_two_seats(meeting: OwnersMeeting, units: dict) -> None:
    """A approves B and C, B approves B and C, C approves C, D approves B; E does not vote.
    Taking part: 4 of 5 persons, 500 of 600 ㎡. B: A, B, D = 3 persons, 400 ㎡; C: A, B, C = 3
    persons, 400 ㎡; D: nobody."""
    _approve(meeting, units["A"][0], "B", "C")
    _approve(meeting, units["B"][0], "B", "C")
    _approve(meeting, units["C"][0], "C")
    _approve(meeting, units["D"][0], "B")


def test_closing_the_vote_stores_each_candidates_count_and_outcome(ctx):
    estate, units = _estate()
    meeting = _open(_election(estate, 2, "BCD"))
    _vote_two_seats(meeting, units)
    _close(meeting)
    results = {r.candidate.owner.name: r for r in db.session.execute(
        select(CandidateResult).where(CandidateResult.meeting_id == meeting.id)).scalars()}
    assert {name: (r.rank, r.outcome) for name, r in results.items()} == {
        "业主B": (1, "elected"), "业主C": (1, "elected"), "业主D": (None, "not_elected")}
    b = results["业主B"]
    assert (b.yes_heads, b.yes_area, b.participating_heads, b.participating_area) == (3, Decimal("400.00"), 4,
                                                                                   Decimal("500.00"))


def test_the_elected_take_their_seats_in_a_term_due_for_filing_within_thirty_days(ctx):
    estate, units = _estate()
    meeting = _open(_election(estate, 2, "BCD"))
    _vote_two_seats(meeting, units)
    _close(meeting)
    term = db.session.execute(select(CommitteeTerm).where(CommitteeTerm.estate_id == estate.id)).scalar_one()
    assert (term.elected_on, term.term_ends, term.filing_due, term.state) == (
        TODAY, TODAY + relativedelta(years=5), TODAY + 30 * DAY, "elected")
    assert sorted((m.owner.name, m.role) for m in term.members) == [("业主B", "member"), ("业主C", "member")]
    assert db.session.get(Estate, estate.id).committee_founded_on == TODAY


def test_a_tie_at_the_last_seat_seats_only_the_candidate_above_it(ctx):
    # A: C, D; B: B, C; C: B, D; D: B, C; E: B, D — everyone takes part (5 persons, 600 ㎡).
    # B: B, C, D, E = 4 persons, 400 ㎡; C: A, B, D = 3 persons, 400 ㎡; D: A, C, E = 3 persons, 400 ㎡
    estate, units = _estate()
    meeting = _open(_election(estate, 2, "BCD"))
    for person, approved in (("A", "CD"), ("B", "BC"), ("C", "BD"), ("D", "BC"), ("E", "BD")):
        _approve(meeting, units[person][0], *approved)
    _close(meeting)
    outcomes = dict(db.session.execute(select(Owner.name, CandidateResult.outcome).join(
        Candidate, Candidate.id == CandidateResult.candidate_id).join(Owner, Owner.id == Candidate.owner_id)
        .where(CandidateResult.meeting_id == meeting.id)).all())
    assert outcomes == {"业主B": "elected", "业主C": "tied", "业主D": "tied"}
    term = db.session.execute(select(CommitteeTerm).where(CommitteeTerm.estate_id == estate.id)).scalar_one()
    assert [m.owner.name for m in term.members] == ["业主B"]


def test_a_by_election_seats_its_winner_in_the_current_term(ctx):
    estate, units = _estate()
    term = CommitteeTerm(estate_id=estate.id, elected_on=TODAY - 400 * DAY, seats=5)
    term.members = [CommitteeMember(owner_id=_owner(estate, "A").id, role="chair")]
    db.session.add(term)
    db.session.flush()
    meeting = _open(_election(estate, 1, "D"))
    for person in "ABCD":
        _approve(meeting, units[person][0], "D")
    _close(meeting)
    db.session.refresh(term)
    assert sorted(m.owner.name for m in term.members) == ["业主A", "业主D"]
    assert db.session.scalar(select(func.count()).select_from(CommitteeTerm)
                             .where(CommitteeTerm.estate_id == estate.id)) == 1


# -- announcing an election ----------------------------------------------------------------------

def test_a_full_election_fills_an_odd_number_of_seats_from_five_to_eleven(ctx):
    estate, _units = _estate()
    meeting = _election(estate, 4, "ABCDE", by_election=False)
    with pytest.raises(TransitionRefused, match="5 至 11 人之间的单数"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_an_election_needs_at_least_as_many_candidates_as_seats(ctx):
    estate, _units = _estate()
    meeting = _election(estate, 5, "ABCD", by_election=False)
    with pytest.raises(TransitionRefused, match="应选 5 名，候选人只有 4 名"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_an_election_of_five_among_five_candidates_is_announced(ctx):
    estate, _units = _estate()
    meeting = _election(estate, 5, "ABCDE", by_election=False)
    MEETING_FLOW.fire(db.session, meeting, "announce")
    assert meeting.state == "announced"


def test_no_candidate_is_added_once_the_election_is_announced(ctx):
    from models.workflow import Frozen

    estate, _units = _estate()
    meeting = _election(estate, 1, "B")
    MEETING_FLOW.fire(db.session, meeting, "announce")
    db.session.add(Candidate(matter=meeting.matters[0], position=2, owner=_owner(estate, "C")))
    with pytest.raises(Frozen):
        db.session.flush()


# -- who may stand ------------------------------------------------------------------------------

def test_an_owner_of_another_estate_cannot_stand(ctx):
    estate, _units = _estate()
    meeting = _election(estate, 1, "")
    stranger = db.session.execute(select(Owner).where(Owner.estate_id != estate.id)).scalars().first()
    db.session.add(Candidate(matter=meeting.matters[0], position=1, owner=stranger))
    with pytest.raises(Refused, match="不是本小区登记有产权房屋的业主"):
        db.session.flush()


def _overdue_bill(estate: Estate, unit_id: int) -> None:
    """One bill of three months ago, 120.00 unpaid."""
    period = (TODAY - relativedelta(months=3)).replace(day=1)
    standard = FeeStandard(estate=estate, title="测试标准", company_name="测试物业", service_content="保洁",
                           service_standard="二级", basis="合同", effective_from=period)
    item = db.session.execute(select(FeeItem).limit(1)).scalar_one()
    db.session.add_all([standard, FeeStandardLine(standard=standard, item=item, billing_basis="per_area",
                                                  unit_price=Decimal("1.20"))])
    db.session.flush()  # the bill names the standard's line
    db.session.add(Bill(estate_id=estate.id, unit_id=unit_id, item=item, standard=standard, period=period,
                        quantity=Decimal("100.00"), unit_price=Decimal("1.20"), amount=Decimal("120.00"),
                        paid=Decimal("0.00"), outstanding=Decimal("120.00")))
    db.session.flush()


def test_an_owner_with_overdue_fees_cannot_stand(ctx):
    estate, units = _estate()
    _overdue_bill(estate, units["B"][0])
    meeting = _election(estate, 1, "")
    db.session.add(Candidate(matter=meeting.matters[0], position=1, owner=_owner(estate, "B")))
    with pytest.raises(Refused, match="有 1 笔逾期未缴的物业费（合计 120.00 元）"):
        db.session.flush()


def test_overdue_fees_do_not_bar_a_candidate_where_the_settings_do_not_say_so(ctx):
    from sqlalchemy import delete

    from models.settings import LocalSetting

    estate, units = _estate()
    _overdue_bill(estate, units["B"][0])
    db.session.execute(delete(LocalSetting))  # no district's own rule: the installation's setting applies
    Settings.current(db.session).candidate_no_arrears = False
    meeting = _election(estate, 1, "B")
    assert [c.owner.name for c in meeting.matters[0].candidates] == ["业主B"]


def test_seats_belong_only_to_an_election_of_the_committee(app):
    def meeting_id():
        estate, _units = _estate()
        meeting = OwnersMeeting(estate_id=estate.id, title="会议", vote_from=TODAY + 15 * DAY,
                                vote_until=TODAY + 29 * DAY)
        db.session.add(meeting)
        db.session.commit()
        return meeting.id

    found = in_db(app, meeting_id)
    response = client_of(app, "admin").post("/api/v1/meeting_matter/", json={
        "meeting": found, "position": 1, "matter": "covenant", "title": "修订管理规约", "seats": 3})
    assert response.status_code == 400 and "只有「选举业主委员会」事项填写应选名额" in response.get_json()["message"]
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(MeetingMatter).where(
        MeetingMatter.meeting_id == found))) == 0


# -- the term and its 备案 (物业管理条例第十六条) ----------------------------------------------------

def _term(estate: Estate, elected_on: dt.date, *roles: str) -> CommitteeTerm:
    term = CommitteeTerm(estate_id=estate.id, elected_on=elected_on, seats=len(roles))
    term.members = [CommitteeMember(owner_id=_owner(estate, person).id, role=role)
                    for person, role in zip("ABCDE", roles)]
    db.session.add(term)
    db.session.flush()
    return term


def test_filing_waits_for_the_committee_to_name_its_chair(ctx):
    estate, _units = _estate()
    term = _term(estate, TODAY, "member", "member", "member")
    with pytest.raises(TransitionRefused, match="业委会主任"):
        TERM_FLOW.fire(db.session, term, "file")
    term.members[0].role = "chair"
    TERM_FLOW.fire(db.session, term, "file", values={"filing_no": "备2026-001"})
    assert (term.state, term.filed_on, term.filing_no) == ("filed", TODAY, "备2026-001")


def test_a_term_has_one_chair(ctx):
    estate, _units = _estate()
    term = _term(estate, TODAY, "chair", "member")
    term.members[1].role = "chair"
    with pytest.raises(Refused, match="每届业委会只有一名主任"):
        db.session.flush()


def test_the_oversight_figure_says_how_late_a_filing_is(ctx):
    estate, _units = _estate()
    _term(estate, TODAY - 35 * DAY, "chair")  # due 30 days after: 5 days ago
    [row] = FIGURES["self_governance"].query(db.session, Context(TODAY, Settings.current(db.session), estate.id))
    assert row["filing"] == "逾期 5 天未备案"
    assert row["committee"] == f"{TODAY - 35 * DAY} 选举产生"
    assert row["term_ends"] == TODAY - 35 * DAY + relativedelta(years=5)


def test_a_term_waiting_for_filing_is_on_the_officials_workbench(ctx):
    estate, _units = _estate()
    context = Context(TODAY, Settings.current(db.session), estate.id)
    before = TODOS["committees_to_file"].count(db.session, context)
    _term(estate, TODAY, "chair")
    assert (before, TODOS["committees_to_file"].count(db.session, context)) == (0, 1)


def test_the_committee_cannot_confirm_its_own_filing(app):
    def term_id():
        estate = db.session.execute(select(Estate).order_by(Estate.id)).scalars().first()  # committee_a's estate
        owner = db.session.execute(select(Owner).where(Owner.estate_id == estate.id)).scalars().first()
        term = CommitteeTerm(estate_id=estate.id, elected_on=TODAY, seats=1,
                             members=[CommitteeMember(owner_id=owner.id, role="chair")])
        db.session.add(term)
        db.session.commit()
        return term.id

    found = in_db(app, term_id)
    client_of(app, "committee_a").post(f"/committee_term/transition/file/{found}", data={"comment": ""})
    assert in_db(app, lambda: db.session.get(CommitteeTerm, found).state) == "elected"


# -- on the public board --------------------------------------------------------------------------

def test_an_owner_approves_candidates_on_the_public_board_and_the_result_is_published(app):
    from models.estate import Unit

    def seed():
        estate, units = _estate()
        meeting = _open(_election(estate, 1, "BC"))
        db.session.commit()
        unit = db.session.get(Unit, units["A"][0])
        return (meeting.id, meeting.matters[0].id, _candidates(meeting), unit.building_id, unit.room_no,
                _code(meeting, unit.id), units)

    meeting_id, matter_id, ids, building, room, code, units = in_db(app, seed)
    ballot = app.test_client().get(f"/public/meeting/{meeting_id}").get_data(as_text=True)
    assert f'name="approve_{matter_id}" value="{ids["C"]}"' in ballot and "最多赞成 1 位候选人" in ballot
    page = app.test_client().post(f"/public/meeting/{meeting_id}", data={
        "building": str(building), "room": room, "code": code, f"approve_{matter_id}": [str(ids["B"])]})
    assert page.status_code == 200 and "投票成功" in text_of(page)

    def close():
        meeting = db.session.get(OwnersMeeting, meeting_id)
        for person in "BCD":
            _approve(meeting, units[person][0], "B")
        _close(meeting)
        db.session.commit()

    in_db(app, close)
    notice = text_of(app.test_client().get(f"/public/meeting/{meeting_id}"))
    assert "应选 1 名，当选 1 名" in notice and "业主B" in notice and "当选" in notice
