"""业委会选举 in the browser: the committee puts an election with two candidates on a meeting's
agenda; an owner approves one on a phone; the count seats the winner in a new term; the
committee names its 主任 and the 街道 official confirms the 备案.

The locality of this test lets a committee have one member (系统设置 → 业委会委员最少人数), so
that two candidates make a 差额 election."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from app.extensions import db
from models import clock
from models.committee import CommitteeTerm
from models.estate import Estate
from models.fees import Bill, arrears_before
from models.owners_assembly import MeetingRoll, OwnersMeeting, cast_agenda
from models.people import Owner, UnitOwnership
from models.settings import Settings
from tests.e2e.browser import expect
from tests.e2e.test_owners_meeting import (
    ESTATE, announce_and_open, draft_meeting, phone_ballot,
)

TITLE = "浏览器测试选举会议"
MATTER = "选举业主委员会委员一名"


def committees_of_one(app, smallest: int) -> int:
    """Set the smallest committee; returns the previous setting."""
    with app.app_context():
        try:
            settings = Settings.current(db.session)
            before, settings.committee_seats_min = settings.committee_seats_min, smallest
            db.session.commit()
            return before
        finally:
            db.session.remove()


def two_who_may_stand(app) -> list[str]:
    """Two owners of the estate with a unit, not the developer, without overdue fees, whose
    names are unique in the estate (the picker is searched by name)."""
    with app.app_context():
        try:
            estate_id = db.session.scalar(select(Estate.id).where(Estate.name == ESTATE))
            cutoff = arrears_before(clock.today(), Settings.current(db.session).arrears_notice_days)
            overdue = select(UnitOwnership.owner_id).join(Bill, Bill.unit_id == UnitOwnership.unit_id).where(
                Bill.outstanding > 0, Bill.period < cutoff)
            names = db.session.execute(
                select(Owner.name).join(UnitOwnership, UnitOwnership.owner_id == Owner.id)
                .where(Owner.estate_id == estate_id, Owner.is_developer.is_(False), Owner.id.not_in(overdue))
                .group_by(Owner.name).having(db.func.count(db.func.distinct(Owner.id)) == 1)
                .order_by(Owner.name)).scalars().all()
            return names[:2]
        finally:
            db.session.remove()


def add_election(person, meeting: str, title: str, position: str, names: tuple[str, ...]) -> None:
    """An election of one seat on the meeting's agenda, and its candidates, through the forms."""
    person.visit("/meeting_matter/add")
    person.choose("meeting", meeting)
    person.fill("position", position)
    person.choose("matter", "选举业主委员会或者更换业主委员会成员")
    person.fill("title", title)
    person.fill("seats", "1")
    person.save()
    for number, name in enumerate(names, start=1):
        person.visit("/candidate/add")
        person.choose("matter", title)
        person.fill("position", str(number))
        person.choose("owner", name)
        person.save()


def the_others_vote_on_paper(app, pk: int, name: str) -> None:
    """Nine in ten of the other persons on the roll return a slip agreeing to every other matter
    and approving ``name`` in the election (entered outside the browser), and the voting period
    ends."""
    with app.app_context():
        try:
            meeting = db.session.get(OwnersMeeting, pk)
            election = next(m for m in meeting.matters if m.is_election)
            chosen = next(c.id for c in election.candidates if c.owner.name == name)
            agreed = {m.id: "yes" for m in meeting.matters if not m.is_election}
            first_units = {}
            for unit_id, person in db.session.execute(select(MeetingRoll.unit_id, MeetingRoll.person)
                                                      .where(MeetingRoll.meeting_id == pk).order_by(MeetingRoll.unit_id)):
                first_units.setdefault(person, unit_id)
            for index, unit_id in enumerate(list(first_units.values())[1:]):
                if index % 10:
                    cast_agenda(db.session, meeting, unit_id, agreed, channel="paper", recorded_by="测试",
                                scan="ballot.pdf", approvals={election.id: [chosen]})
            table = OwnersMeeting.__table__
            db.session.execute(update(table).where(table.c.id == pk).values(
                vote_from=clock.today() - dt.timedelta(days=14), vote_until=clock.today() - dt.timedelta(days=1)))
            db.session.commit()
        finally:
            db.session.remove()


def term_of(app, pk: int) -> int:
    with app.app_context():
        try:
            return db.session.scalar(select(CommitteeTerm.id).where(CommitteeTerm.meeting_id == pk))
        finally:
            db.session.remove()


def test_an_election_from_candidates_to_filing(users, app):
    before = committees_of_one(app, 1)
    try:
        elect_and_file(users, app)
    finally:
        committees_of_one(app, before)


def elect_and_file(users, app) -> None:
    first, second = two_who_may_stand(app)
    committee = users("committee_a")
    draft_meeting(committee, TITLE)
    add_election(committee, TITLE, MATTER, "1", (first, second))

    show_url, pk = announce_and_open(committee, app, TITLE)

    owner = phone_ballot(users, app, pk)
    page = owner.page
    expect(page.locator("fieldset.election")).to_contain_text("最多赞成 1 位候选人")
    page.locator("fieldset.election label", has_text=first).click()
    owner.submit(page.get_by_role("button", name="提交表决"), confirm=True)
    expect(page.locator(".alert-success")).to_contain_text("投票成功")
    owner.shot("election-voted-on-a-phone", full_page=True)

    the_others_vote_on_paper(app, pk, first)
    committee.visit(show_url)
    committee.fire("结束表决并计票")
    committee.visit(f"/owners_meeting/tally/{pk}")
    expect(committee.page.locator(".election-table")).to_contain_text("当选")
    expect(committee.page.locator(".matter-tally").first).to_contain_text("应选 1 名，当选 1 名")

    term = term_of(app, pk)
    official = users("official_jd")
    official.visit(f"/committee_term/show/{term}")
    expect(official.page.locator(".workflow-panel")).to_contain_text("暂不能确认备案：备案材料须载明业委会主任")

    name_chair_and_file(committee, official, term, "街道备2026-09")


def name_chair_and_file(chooser, official, term: int, filing_no: str) -> None:
    """The term's first member is made 主任 (by the committee, or the 组长 of a first assembly);
    the official then confirms the 备案 with its receipt number."""
    chooser.visit(f"/committee_term/show/{term}")
    chooser.unfold("业委会委员")
    chooser.submit(chooser.page.locator("a[href^='/committee_member/edit/']").first)
    chooser.choose("role", "主任")
    chooser.save()
    official.visit(f"/committee_term/show/{term}")
    official.page.get_by_label("备案回执编号（确认备案时填写）").fill(filing_no)
    official.fire("确认备案")
    expect(official.page.locator("table").first).to_contain_text(filing_no)
