"""The first assembly led by the 街道 (业主大会和业主委员会指导规则第八至十六条) and the estate's
管理规约 / 议事规则 as versions adopted by the owners, as specifications.

The estate is the meeting tests' one: five owners, A holding two units; 100 ㎡ each unit,
600 ㎡ and five persons in all.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from flask_appbuilder.security.sqla.models import User

from app.extensions import db
from models import clock
from models.access import UserScope
from models.committee import TERM_FLOW, CommitteeMember, CommitteeTerm
from models.election import Candidate
from models.errors import Refused
from models.estate import Unit
from models.first_assembly import GROUP_FLOW, PreparatoryGroup, PreparatoryMember
from models.governing_documents import GoverningDocument
from models.owners_assembly import MEETING_FLOW, MatterResult, MeetingMatter, OwnersMeeting
from models.people import Owner
from models.settings import LocalSetting
from models.workflow import Frozen, TransitionRefused
from tests.support import client_of, in_db, text_of
from tests.test_owners_meeting import DAY, TODAY, YES, _cast, _estate, _move, _voting

LARGE_ESTATE = 1


def _owner(estate_id: int, person: str) -> Owner:
    return db.session.execute(select(Owner).where(Owner.estate_id == estate_id,
                                                  Owner.name == f"业主{person}")).scalar_one()


def _group(estate_id: int, owners: str = "ABC", others: tuple[str, ...] = ("residents",), *,
           leader: str = "street", applied_on=TODAY) -> PreparatoryGroup:
    """A group of the owners named in ``owners``, a leader of the side ``leader`` and ``others``."""
    members = [PreparatoryMember(side=leader, name="组长", is_leader=True)]
    members += [PreparatoryMember(side=side, name=f"代表{i}") for i, side in enumerate(others)]
    members += [PreparatoryMember(side="owner", name=f"业主{p}", owner_id=_owner(estate_id, p).id) for p in owners]
    group = PreparatoryGroup(estate_id=estate_id, applied_on=applied_on, members=members)
    db.session.add(group)
    db.session.flush()
    return group


def _unsold(unit_ids: list[int]) -> None:
    db.session.execute(update(Unit).where(Unit.id.in_(unit_ids)).values(status="unsold"))


def _ready_group(estate_id: int) -> PreparatoryGroup:
    group = _group(estate_id)
    for step in ("form", "announce", "publish_roll"):
        GROUP_FLOW.fire(db.session, group, step)
    return group


def _draft(estate_id: int, kind: str, title: str = "草案") -> GoverningDocument:
    document = GoverningDocument(estate_id=estate_id, kind=kind, title=title)
    db.session.add(document)
    db.session.flush()
    return document


def _first_meeting(estate_id: int, *, drafts: tuple[str, ...] = ("covenant", "rules_of_procedure"),
                   election: bool = True) -> OwnersMeeting:
    matters = [MeetingMatter(position=i, matter=kind, title=f"表决{kind}", document_id=_draft(estate_id, kind).id)
               for i, kind in enumerate(drafts, start=1)]
    if election:
        matters.append(MeetingMatter(position=len(matters) + 1, matter="committee", title="选举业委会", seats=5,
                                     candidates=[Candidate(position=i, owner_id=_owner(estate_id, p).id)
                                                 for i, p in enumerate("ABCDE", start=1)]))
    meeting = OwnersMeeting(estate_id=estate_id, title="首次业主大会会议", convener="preparatory_group",
                            vote_from=TODAY + 15 * DAY, vote_until=TODAY + 29 * DAY, matters=matters)
    db.session.add(meeting)
    db.session.flush()
    return meeting


# -- forming the group (第八、十条) ----------------------------------------------------------------

def test_the_group_is_formed_only_when_more_than_half_of_the_area_is_delivered(ctx):
    estate, units = _estate()
    _unsold(units["D"] + units["E"] + units["C"])  # 300 of 600 ㎡ delivered: exactly half
    group = _group(estate.id, owners="AB", others=())
    with pytest.raises(TransitionRefused, match=r"超过总面积的 50%.*现为 50\.00%"):
        GROUP_FLOW.fire(db.session, group, "form")


def test_the_group_is_formed_when_two_thirds_of_the_area_is_delivered(ctx):
    estate, units = _estate()
    _unsold(units["D"] + units["E"])  # 400 of 600 ㎡
    group = _group(estate.id, owners="AB", others=())
    GROUP_FLOW.fire(db.session, group, "form")
    assert (group.state, group.formed_on) == ("formed", TODAY)


def test_a_locality_may_allow_a_first_assembly_at_a_lower_delivered_share(ctx):
    estate, units = _estate()
    _unsold(units["C"] + units["D"] + units["E"])  # 300 of 600 ㎡
    district_id = estate.community.street.district_id
    db.session.add(LocalSetting(district_id=district_id, setting="first_assembly_delivered_percent", value="40",
                                basis="本市规定"))
    group = _group(estate.id, owners="AB", others=())
    GROUP_FLOW.fire(db.session, group, "form")
    assert group.state == "formed"


def _local(estate, setting: str, value: str) -> None:
    db.session.add(LocalSetting(district_id=estate.community.street.district_id, setting=setting, value=value,
                                basis="本市物业管理条例"))
    db.session.flush()


def _delivered_on(unit_ids: list[int], day) -> None:
    db.session.execute(update(Unit).where(Unit.id.in_(unit_ids)).values(delivered_on=day))


def test_a_local_rule_lets_half_of_the_units_delivered_found_the_assembly(ctx):
    estate, units = _estate()
    _unsold(units["C"] + units["D"] + units["E"])  # 3 of 6 units and 300 of 600 ㎡: the area is not over half
    _local(estate, "first_assembly_units_percent", "50")  # 达到 50% 以上: 3 of 6 is enough
    group = _group(estate.id, owners="AB", others=())
    GROUP_FLOW.fire(db.session, group, "form")
    assert group.state == "formed"


def test_the_refusal_names_every_condition_with_todays_figure(ctx):
    estate, units = _estate()
    _unsold(units["C"] + units["D"] + units["E"])
    _local(estate, "first_assembly_units_percent", "60")
    _local(estate, "first_assembly_years", "2")
    _delivered_on(units["A"] + units["B"], TODAY - 400 * DAY)
    group = _group(estate.id, owners="AB", others=())
    with pytest.raises(TransitionRefused) as refused:
        GROUP_FLOW.fire(db.session, group, "form")
    message = str(refused.value)
    assert "满足以下任一条件方可筹备" in message
    assert "超过总面积的 50%" in message and "现为 50.00%" in message
    assert "达到总套数的 60%" in message and "现为 3 / 6 套（50.00%）" in message
    assert "满 2 年" in message and f"首套房屋于 {TODAY - 400 * DAY:%Y年%m月%d日} 交付" in message
    assert group.state == "applied"


def _on(monkeypatch, day: dt.date) -> None:
    monkeypatch.setattr(clock, "today", lambda: day)


def test_a_local_rule_lets_an_estate_found_the_assembly_two_years_after_the_first_delivery(ctx, monkeypatch):
    _on(monkeypatch, dt.date(2027, 3, 15))
    estate, units = _estate()
    _unsold(units["C"] + units["D"] + units["E"])
    _local(estate, "first_assembly_years", "2")
    _delivered_on(units["A"], dt.date(2025, 3, 15))  # the first delivery, two years ago today
    _delivered_on(units["B"], dt.date(2027, 3, 1))
    group = _group(estate.id, owners="AB", others=())
    GROUP_FLOW.fire(db.session, group, "form")
    assert group.state == "formed"


def test_a_day_short_of_the_local_years_is_refused(ctx, monkeypatch):
    _on(monkeypatch, dt.date(2027, 3, 15))
    estate, units = _estate()
    _unsold(units["C"] + units["D"] + units["E"])
    _local(estate, "first_assembly_years", "2")
    _delivered_on(units["A"] + units["B"], dt.date(2025, 3, 16))
    group = _group(estate.id, owners="AB", others=())
    with pytest.raises(TransitionRefused, match="自首套房屋交付之日起满 2 年"):
        GROUP_FLOW.fire(db.session, group, "form")


@pytest.mark.parametrize(("today", "formed"), [(dt.date(2025, 2, 28), False), (dt.date(2025, 3, 1), True)])
def test_a_first_delivery_on_29_february_completes_its_year_on_1_march(ctx, monkeypatch, today, formed):
    _on(monkeypatch, today)
    estate, units = _estate()
    _unsold(units["C"] + units["D"] + units["E"])
    _local(estate, "first_assembly_years", "1")
    _delivered_on(units["A"] + units["B"], dt.date(2024, 2, 29))
    group = _group(estate.id, owners="AB", others=(), applied_on=today)
    if formed:
        GROUP_FLOW.fire(db.session, group, "form")
    else:
        with pytest.raises(TransitionRefused, match="满 1 年"):
            GROUP_FLOW.fire(db.session, group, "form")
    assert (group.state == "formed") is formed


def test_an_unsold_units_delivery_date_does_not_start_the_years(ctx):
    estate, units = _estate()
    _unsold(units["C"] + units["D"] + units["E"])
    _local(estate, "first_assembly_years", "2")
    _delivered_on(units["C"], TODAY.replace(year=TODAY.year - 5))  # unsold: handed to no buyer
    _delivered_on(units["A"] + units["B"], TODAY - DAY)
    group = _group(estate.id, owners="AB", others=())
    with pytest.raises(TransitionRefused, match="首套房屋于"):
        GROUP_FLOW.fire(db.session, group, "form")


def test_an_even_number_of_members_is_refused(ctx):
    estate, _units = _estate()
    group = _group(estate.id, owners="ABC", others=())  # 4 members
    with pytest.raises(TransitionRefused, match="单数.*现为 4 人"):
        GROUP_FLOW.fire(db.session, group, "form")


def test_owners_are_at_least_half_of_the_group(ctx):
    estate, _units = _estate()
    group = _group(estate.id, owners="AB", others=("residents", "developer"))  # 2 of 5
    with pytest.raises(TransitionRefused, match="5 人中 2 人"):
        GROUP_FLOW.fire(db.session, group, "form")


def test_three_owners_of_five_members_form_the_group(ctx):
    estate, _units = _estate()
    group = _group(estate.id, owners="ABC", others=("developer",))
    GROUP_FLOW.fire(db.session, group, "form")
    assert group.state == "formed"


def test_the_leader_is_the_streets_representative(ctx):
    estate, _units = _estate()
    with pytest.raises(Refused, match="组长由街道办事处"):
        _group(estate.id, leader="residents")


def test_an_owners_representative_is_an_owner_of_the_estate(ctx):
    estate, _units = _estate()
    group = _group(estate.id)
    stranger = db.session.execute(select(Owner).where(Owner.estate_id == LARGE_ESTATE)).scalars().first()
    db.session.add(PreparatoryMember(group=group, side="owner", name=stranger.name, owner_id=stranger.id))
    with pytest.raises(Refused, match="所选的业主不属于同一小区"):
        db.session.flush()


def test_the_members_are_frozen_once_announced(ctx):
    estate, _units = _estate()
    group = _group(estate.id)
    GROUP_FLOW.fire(db.session, group, "form")
    GROUP_FLOW.fire(db.session, group, "announce")
    group.members[1].name = "另一位代表"
    with pytest.raises(Frozen):
        db.session.flush()


# -- the roll and the deadlines (第九、十二、十三、十五条) ---------------------------------------------

def test_publishing_the_roll_counts_one_person_per_owner_and_the_whole_area(ctx):
    estate, _units = _estate()
    group = _ready_group(estate.id)
    # A holds two units: 6 units, 5 persons, 600 ㎡
    assert (group.roll_units, group.roll_persons, group.roll_area, group.roll_published_on) == (6, 5, 600, TODAY)


def test_a_group_not_formed_sixty_days_after_the_request_is_overdue(ctx):
    estate, _units = _estate()
    group = _group(estate.id, applied_on=TODAY - 61 * DAY)
    assert group.overdue(db.session) == [f"成立筹备组逾期 1 天（应于 {TODAY - DAY} 前）"]


def test_the_members_are_announced_within_seven_days_of_forming(ctx):
    estate, _units = _estate()
    group = _group(estate.id)
    GROUP_FLOW.fire(db.session, group, "form")
    group.formed_on = TODAY - 8 * DAY
    assert group.overdue(db.session) == [f"公告成员名单逾期 1 天（应于 {TODAY - DAY} 前）"]


def test_a_first_meeting_not_held_ninety_days_after_forming_is_overdue(ctx):
    estate, _units = _estate()
    group = _ready_group(estate.id)
    db.session.execute(update(PreparatoryGroup).where(PreparatoryGroup.id == group.id).values(
        formed_on=TODAY - 95 * DAY, announced_on=TODAY - 90 * DAY))
    db.session.expire(group)
    assert group.overdue(db.session) == [f"召开首次业主大会会议逾期 5 天（应于 {TODAY - 5 * DAY} 前）"]


def test_a_deadline_longer_than_the_law_is_refused_and_nothing_changes(app):
    admin = client_of(app, "admin")
    response = admin.put("/api/v1/settings/1", json={"preparation_days": 91})
    assert response.status_code == 400 and "第十五条" in response.get_json()["message"]
    assert admin.get("/api/v1/settings/1").get_json()["result"]["preparation_days"] == 90


# -- the first meeting (第十三、十六条) ------------------------------------------------------------

def test_a_meeting_convened_by_a_group_needs_the_estates_group(ctx):
    estate, _units = _estate()
    with pytest.raises(Refused, match="没有已成立的首次业主大会会议筹备组"):
        _first_meeting(estate.id)


def test_the_first_meeting_is_announced_only_after_the_roll_is_published(ctx):
    estate, _units = _estate()
    group = _group(estate.id)
    GROUP_FLOW.fire(db.session, group, "form")
    meeting = _first_meeting(estate.id)
    with pytest.raises(TransitionRefused, match="业主名册公示后"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_the_first_meeting_puts_both_drafts_to_the_owners(ctx):
    estate, _units = _estate()
    _ready_group(estate.id)
    meeting = _first_meeting(estate.id, drafts=("covenant",))
    with pytest.raises(TransitionRefused, match="业主大会议事规则草案"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_the_first_meeting_elects_the_committee(ctx):
    estate, _units = _estate()
    _ready_group(estate.id)
    meeting = _first_meeting(estate.id, election=False)
    with pytest.raises(TransitionRefused, match="须选举业主委员会"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_the_first_meeting_with_roll_drafts_and_election_is_announced(ctx):
    estate, _units = _estate()
    _ready_group(estate.id)
    meeting = _first_meeting(estate.id)
    MEETING_FLOW.fire(db.session, meeting, "announce")
    assert meeting.state == "announced"


def test_the_group_is_dissolved_only_after_its_committee_is_filed(ctx):
    estate, _units = _estate()
    group = _ready_group(estate.id)
    meeting = _first_meeting(estate.id)
    with pytest.raises(TransitionRefused, match="备案后，筹备组方可解散"):
        GROUP_FLOW.fire(db.session, group, "dissolve")
    term = CommitteeTerm(estate_id=estate.id, meeting_id=meeting.id, elected_on=TODAY, seats=1,
                         members=[CommitteeMember(owner_id=_owner(estate.id, "A").id, role="chair")])
    db.session.add(term)
    db.session.flush()
    TERM_FLOW.fire(db.session, term, "file", values={"filing_no": "备案-1"})
    GROUP_FLOW.fire(db.session, group, "dissolve")
    assert (group.state, group.dissolved_on) == ("dissolved", TODAY)


# -- who runs which meeting ------------------------------------------------------------------------

def _committee_meeting(estate_id: int) -> int:
    meeting = OwnersMeeting(estate_id=estate_id, title="业委会召集的会议", vote_from=TODAY + 20 * DAY,
                            vote_until=TODAY + 30 * DAY)
    db.session.add(meeting)
    db.session.commit()
    return meeting.id


def test_an_official_cannot_change_a_meeting_the_committee_convenes(app):
    found = in_db(app, lambda: _committee_meeting(LARGE_ESTATE))
    response = client_of(app, "official_jd").put(f"/api/v1/owners_meeting/{found}", json={"title": "街道改的标题"})
    assert response.status_code in (400, 403) and "业委会委员办理" in response.get_json()["message"]
    assert in_db(app, lambda: db.session.get(OwnersMeeting, found).title) == "业委会召集的会议"


def test_an_official_cannot_take_a_committee_meeting_over_by_changing_its_convener(app):
    found = in_db(app, lambda: _committee_meeting(LARGE_ESTATE))
    response = client_of(app, "official_jd").put(f"/api/v1/owners_meeting/{found}",
                                                 json={"convener": "preparatory_group"})
    assert response.status_code in (400, 403)
    assert in_db(app, lambda: db.session.get(OwnersMeeting, found).convener) == "committee"


def test_the_committee_cannot_run_a_meeting_the_group_convenes(app):
    def seed():
        # an estate preparing its first assembly that the committee member may see too
        estate, _units = _estate()
        _ready_group(estate.id)
        user_id = db.session.scalar(select(User.id).where(User.username == "committee_a"))
        db.session.add(UserScope(user_id=user_id, estate_id=estate.id))
        meeting = OwnersMeeting(estate_id=estate.id, title="筹备组召集的会议", convener="preparatory_group",
                                vote_from=TODAY + 20 * DAY, vote_until=TODAY + 30 * DAY,
                                matters=[MeetingMatter(position=1, matter="other", title="事项")])
        db.session.add(meeting)
        db.session.commit()
        return meeting.id

    found = in_db(app, seed)
    committee = client_of(app, "committee_a")
    page = committee.get(f"/owners_meeting/show/{found}").get_data(as_text=True)
    assert "发布会议公告" not in page  # no button the committee could not press
    committee.post(f"/owners_meeting/transition/announce/{found}", data={"comment": ""})
    assert in_db(app, lambda: db.session.get(OwnersMeeting, found).state) == "draft"
    # the official runs it, and is told before the click what the first meeting still lacks
    official = client_of(app, "official_jd").get(f"/owners_meeting/show/{found}").get_data(as_text=True)
    assert "暂不能发布会议公告：首次业主大会会议须表决管理规约草案" in official


def test_the_committee_is_offered_only_its_own_convener(app):
    page = client_of(app, "committee_a").get("/owners_meeting/add").get_data(as_text=True)
    assert 'value="committee"' in page and 'value="preparatory_group"' not in page


# -- 管理规约 and 议事规则: versions adopted by a decision ---------------------------------------------

def _announced_revision(estate_id: int, draft: GoverningDocument) -> OwnersMeeting:
    """A meeting whose one matter puts ``draft`` of the 管理规约 to the owners, announced today."""
    meeting = OwnersMeeting(estate_id=estate_id, title="修订管理规约", vote_from=TODAY + 15 * DAY,
                            vote_until=TODAY + 29 * DAY,
                            matters=[MeetingMatter(position=1, matter="covenant", title="修订", document_id=draft.id)])
    db.session.add(meeting)
    db.session.flush()
    MEETING_FLOW.fire(db.session, meeting, "announce")
    return meeting


def _voted_on_draft(estate, units, *, yes: bool) -> tuple[GoverningDocument, GoverningDocument, OwnersMeeting]:
    old = GoverningDocument(estate_id=estate.id, kind="covenant", title="管理规约", state="in_force",
                            adopted_on=TODAY - 400 * DAY)
    db.session.add(old)
    db.session.flush()
    draft = _draft(estate.id, "covenant", "管理规约修订草案")
    meeting = _announced_revision(estate.id, draft)
    _move(meeting, vote_from=TODAY, vote_until=TODAY + 14 * DAY)
    MEETING_FLOW.fire(db.session, meeting, "open_vote")
    for person in "ABCDE":
        _cast(meeting, units[person][0], YES if yes else "no")
    MEETING_FLOW.fire(db.session, meeting, "close_vote")
    return old, draft, meeting


def test_a_new_version_is_numbered_after_the_last(ctx):
    estate, _units = _estate()
    first, second = _draft(estate.id, "covenant"), _draft(estate.id, "covenant")
    other = _draft(estate.id, "rules_of_procedure")
    assert (first.version, second.version, other.version) == (1, 2, 1)


def test_a_passed_draft_comes_into_force_and_the_version_before_it_ends(ctx):
    estate, units = _estate()
    old, draft, meeting = _voted_on_draft(estate, units, yes=True)
    assert (draft.state, draft.adopted_on, draft.adopted_by_id) == ("in_force", TODAY, meeting.matters[0].id)
    assert (old.state, old.superseded_on) == ("superseded", TODAY)


def test_a_rejected_draft_stays_a_draft_and_the_version_in_force_stays(ctx):
    estate, units = _estate()
    old, draft, _meeting = _voted_on_draft(estate, units, yes=False)
    assert (draft.state, old.state) == ("draft", "in_force")


def test_a_version_in_force_no_longer_changes(ctx):
    estate, units = _estate()
    _old, draft, _meeting = _voted_on_draft(estate, units, yes=True)
    draft.summary = "事后改动"
    with pytest.raises(Frozen):
        db.session.flush()


def test_a_draft_on_an_announced_agenda_no_longer_changes(ctx):
    estate, _units = _estate()
    draft = _draft(estate.id, "covenant")
    _announced_revision(estate.id, draft)
    draft.summary = "公告后改动"
    with pytest.raises(Refused, match="已随业主大会会议公告"):
        db.session.flush()


def test_only_a_draft_is_put_to_the_owners(ctx):
    estate, units = _estate()
    _old, adopted, _meeting = _voted_on_draft(estate, units, yes=True)
    db.session.add(OwnersMeeting(estate_id=estate.id, title="再表决", vote_from=TODAY + 15 * DAY,
                                 vote_until=TODAY + 29 * DAY, matters=[
                                     MeetingMatter(position=1, matter="covenant", title="再表决", document_id=adopted.id)]))
    with pytest.raises(Refused, match="只有草案可以提交表决"):
        db.session.flush()


def _covenant_matter_with(app, username: str, draft_of) -> tuple:
    """POST a 管理规约 matter for a new meeting of the large estate naming the draft ``draft_of``
    makes: (the response, whether any matter was written)."""
    def seed():
        meeting = OwnersMeeting(estate_id=LARGE_ESTATE, title="测试", vote_from=TODAY + 20 * DAY,
                                vote_until=TODAY + 30 * DAY)
        db.session.add(meeting)
        draft = draft_of()
        db.session.commit()
        return meeting.id, draft.id

    meeting_id, draft_id = in_db(app, seed)
    response = client_of(app, username).post("/api/v1/meeting_matter/", json={
        "meeting": meeting_id, "position": 1, "matter": "covenant", "title": "修订管理规约", "document": draft_id})
    written = in_db(app, lambda: db.session.scalar(select(MeetingMatter.id).where(
        MeetingMatter.meeting_id == meeting_id))) is not None
    return response, written


def test_a_draft_is_decided_by_a_matter_of_its_kind_and_nothing_is_written(app):
    response, written = _covenant_matter_with(app, "committee_a", lambda: _draft(LARGE_ESTATE, "rules_of_procedure"))
    assert response.status_code == 400 and "须由「制定和修改业主大会议事规则」事项表决" in response.get_json()["message"]
    assert not written


def test_the_officials_workbench_lists_only_the_meetings_the_group_convenes(app):
    # the demo: the committee's meeting now voting, and the third estate's first meeting in draft
    official = text_of(client_of(app, "official_jd").get("/"))
    committee = text_of(client_of(app, "committee_a").get("/"))
    assert "业主大会会议「表决中」" in committee and "业主大会会议「表决中」" not in official
    assert "业主大会会议「草拟」，待发布会议公告/取消会议" in official


# -- silent consent, only where the estate's rules in force say so ---------------------------------

def _counted_with_two_voting(estate, units) -> MatterResult:
    """B (100 ㎡) votes 同意 and C (100 ㎡) 反对; A (200 ㎡), D and E (100 ㎡ each) return nothing."""
    meeting = _voting(estate, "other")
    _cast(meeting, units["B"][0], YES)
    _cast(meeting, units["C"][0], "no")
    _move(meeting, vote_from=TODAY - 14 * DAY, vote_until=TODAY - DAY)
    MEETING_FLOW.fire(db.session, meeting, "close_vote")
    return db.session.execute(select(MatterResult).where(MatterResult.meeting_id == meeting.id)).scalar_one()


def test_silence_is_not_consent_where_the_rules_do_not_say_so(ctx):
    estate, units = _estate()
    result = _counted_with_two_voting(estate, units)
    # 2 of 5 persons and 200 of 600 ㎡ took part: below the 2/3 quorum
    assert (result.participating_heads, result.participating_area, result.passed) == (2, 200, False)


def test_where_the_rules_in_force_say_so_owners_who_do_not_vote_consent(ctx):
    estate, units = _estate()
    db.session.add(GoverningDocument(estate_id=estate.id, kind="rules_of_procedure", title="议事规则",
                                     state="in_force", adopted_on=TODAY - 400 * DAY, silent_consent=True))
    db.session.flush()
    result = _counted_with_two_voting(estate, units)
    # A, D and E consent: 4 of 5 persons and 500 of 600 ㎡ 同意 among all 5 persons taking part
    assert (result.participating_heads, result.yes_heads, result.yes_area, result.silent_heads) == (5, 4, 500, 3)
    assert result.passed


def test_a_draft_saying_silence_is_consent_does_not_count_until_adopted(ctx):
    estate, units = _estate()
    _draft(estate.id, "rules_of_procedure").silent_consent = True
    db.session.flush()
    assert _counted_with_two_voting(estate, units).participating_heads == 2


def test_an_estate_prepares_one_first_assembly_at_a_time(ctx):
    estate, _units = _estate()
    _group(estate.id)
    with pytest.raises(Refused, match="已有筹备组在工作"):
        _group(estate.id)


def test_an_estate_whose_assembly_exists_gets_no_preparatory_group(ctx):
    # the large estate's committee was founded: its next meetings are the committee's
    with pytest.raises(Refused, match="业主大会已经成立"):
        db.session.add(PreparatoryGroup(estate_id=LARGE_ESTATE, applied_on=TODAY))
        db.session.flush()


def test_the_meeting_list_offers_edit_only_on_the_meetings_one_runs(app):
    def ids():
        rows = db.session.execute(select(OwnersMeeting.id, OwnersMeeting.convener)).all()
        return ({i for i, c in rows if c == "committee"}, {i for i, c in rows if c == "preparatory_group"})

    committees, groups = in_db(app, ids)
    page = client_of(app, "official_jd").get("/owners_meeting/list/?psize_OwnersMeetingView=100").get_data(as_text=True)
    edits = {int(pk) for pk in re.findall(r'/owners_meeting/edit/(\d+)', page)}
    assert groups and edits == groups and not edits & committees


def test_another_estates_draft_cannot_be_put_to_the_owners(app):
    response, written = _covenant_matter_with(app, "admin", lambda: _draft(_estate()[0].id, "covenant"))
    assert response.status_code == 400 and "不属于同一小区" in response.get_json()["message"]
    assert not written


def test_the_public_page_shows_the_announced_group_and_the_versions_but_no_draft(app):
    def seed():
        estate, _units = _estate()
        _ready_group(estate.id)
        _draft(estate.id, "covenant", "未公布的草案")
        db.session.add(GoverningDocument(estate_id=estate.id, kind="rules_of_procedure", title="现行议事规则",
                                         state="in_force", adopted_on=TODAY - 10 * DAY))
        db.session.commit()
        return estate.id

    estate_id = in_db(app, seed)
    page = text_of(app.test_client().get(f"/public/estate/{estate_id}/governance"))
    assert "房屋 6 套，业主 5 人" in page and "组长" in page
    assert "现行议事规则" in page and "未公布的草案" not in page
    assert app.test_client().get("/public/estate/999999/governance").status_code == 404
