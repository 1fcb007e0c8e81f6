"""业主大会会议 in the browser: the committee drafts a meeting with two matters and announces it;
on its first voting day the vote opens; an owner votes the whole agenda on a phone."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from app.extensions import db
from models import clock
from models.estate import Unit
from models.owners_assembly import MeetingRoll, OwnersMeeting
from tests.e2e.browser import expect

ESTATE = "望京花园"
TITLE = "浏览器测试业主大会会议"


def add_matter(committee, position: str, kind: str, title: str) -> None:
    committee.visit("/meeting_matter/add")
    committee.choose("meeting", TITLE)
    committee.fill("position", position)
    committee.choose("matter", kind)
    committee.fill("title", title)
    committee.save()


def first_voting_day_is_today(app, pk: int) -> None:
    """The notice period has run (the days pass outside the browser)."""
    with app.app_context():
        table = OwnersMeeting.__table__
        db.session.execute(update(table).where(table.c.id == pk).values(
            vote_from=clock.today(), vote_until=clock.today() + dt.timedelta(days=14)))
        db.session.commit()
        db.session.remove()


def a_voter(app, pk: int) -> tuple[str, str, str]:
    """(building id, room, code) of the first unit on the roll."""
    with app.app_context():
        try:
            return tuple(str(v) for v in db.session.execute(
                select(Unit.building_id, Unit.room_no, MeetingRoll.code).join(Unit, Unit.id == MeetingRoll.unit_id)
                .where(MeetingRoll.meeting_id == pk).order_by(MeetingRoll.unit_id).limit(1)).one())
        finally:
            db.session.remove()


def draft_meeting(committee, title: str, estate: str = ESTATE, convener: str | None = None) -> None:
    """The committee (or whoever ``convener`` names) drafts a written meeting of the estate,
    voting in 15 days."""
    committee.visit("/owners_meeting/add")
    committee.choose("estate", estate)
    committee.fill("title", title)
    if convener:
        committee.choose("convener", convener)
    committee.choose("form", "书面征求意见")
    committee.date("vote_from", f"{clock.today() + dt.timedelta(days=15):%Y-%m-%d}")
    committee.date("vote_until", f"{clock.today() + dt.timedelta(days=29):%Y-%m-%d}")
    committee.save()


def open_from_list(committee, title: str) -> tuple[str, int]:
    """The meeting's page, reached from the list as a person does: (its url, its id)."""
    committee.visit("/owners_meeting/list/")
    committee.submit(committee.rows(title).locator("a[href^='/owners_meeting/show/']"))
    return committee.page.url, int(re.search(r"/(\d+)$", committee.page.url).group(1))


def announce_and_open(person, app, title: str) -> tuple[str, int]:
    """The meeting is announced from its page, its first voting day comes, and voting opens:
    (its url, its id)."""
    show_url, pk = open_from_list(person, title)
    person.fire("发布会议公告")
    first_voting_day_is_today(app, pk)
    person.visit(show_url)
    person.fire("开始表决")
    return show_url, pk


def phone_ballot(users, app, pk: int):
    """An owner on a 390×844 phone at the meeting's notice, unit and code filled in."""
    owner = users(None)
    owner.page.set_viewport_size({"width": 390, "height": 844})
    building, room, code = a_voter(app, pk)
    owner.visit(f"/public/meeting/{pk}")
    page = owner.page
    page.locator("select[name=building]").select_option(building)
    page.locator("input[name=room]").fill(room)
    page.locator("input[name=code]").fill(code)
    return owner


def test_a_meeting_is_announced_opened_and_voted_on_a_phone(users, app):
    committee = users("committee_a")
    draft_meeting(committee, TITLE)
    add_matter(committee, "1", "选聘和解聘物业服务企业或者其他管理人", "续聘现物业服务企业")
    add_matter(committee, "2", "改变共有部分的用途或者利用共有部分从事经营活动", "地面增设充电车位")

    show_url, pk = open_from_list(committee, TITLE)
    # the step that would be refused says why before the click
    question = committee.fire("发布会议公告")
    assert question is not None and "议程不能再修改" in question
    expect(committee.page.locator(".workflow-panel")).to_contain_text("起可开始表决")
    expect(committee.page.locator(".workflow-panel")).to_contain_text("届时方可开始")

    first_voting_day_is_today(app, pk)
    committee.visit(show_url)
    committee.fire("开始表决")

    owner = phone_ballot(users, app, pk)
    page = owner.page
    expect(page.locator(".meeting-notice")).to_contain_text("同意的面积和人数均达到参与表决部分的 3/4 以上")
    for matter in page.locator("fieldset.radio-group").all():
        matter.locator("label.radio-inline", has_text="同意").click()
    question = owner.submit(page.get_by_role("button", name="提交表决"), confirm=True)
    assert "提交后不能更改" in question
    expect(page.locator(".alert-success")).to_contain_text("您对 2 个事项的表决意见已记录")
    owner.shot("meeting-voted-on-a-phone", full_page=True)

    committee.visit(f"/owners_meeting/tally/{pk}")
    expect(committee.page.locator(".panel-body").first).to_contain_text("已投票 1 人")
