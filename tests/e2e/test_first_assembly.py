"""The first assembly in the browser, from the 筹备组 to the 备案: the 街道 official enters the
group and its members, forms and announces it, publishes the owners' roll, drafts the
管理规约 and 议事规则 (out for comment: an owner comments from a phone, the official answers) and
the first meeting with the election; an owner votes on a phone; the
count puts both documents in force and elects the committee; the official names its 主任,
confirms the 备案 and dissolves the group.

The estate is new (five owners, 业主A holding two units); its locality lets a committee have
one member (系统设置 → 业委会委员最少人数), so that two candidates make a 差额 election."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from models import clock
from models.estate import Unit
from models.people import Owner, UnitOwnership
from tests.e2e.browser import expect
from tests.e2e.test_committee_election import (
    add_election, committees_of_one, name_chair_and_file, term_of, the_others_vote_on_paper,
)
from tests.e2e.test_owners_meeting import announce_and_open, draft_meeting, phone_ballot
from tests.test_owners_meeting import _estate

ESTATE = "议事测试小区"
TITLE = "议事测试小区首次业主大会会议"
ELECTION = "选举议事测试小区第一届业委会委员"
DRAFTS = (("管理规约", "制定和修改管理规约", "议事测试小区管理规约"),
          ("业主大会议事规则", "制定和修改业主大会议事规则", "议事测试小区业主大会议事规则"))


def an_estate_without_committee(app) -> int:
    with app.app_context():
        try:
            estate, _units = _estate()
            db.session.commit()
            return estate.id
        finally:
            db.session.remove()


def an_owners_unit_and_id_suffix(app, estate_id: int, name: str) -> tuple[str, str, str]:
    with app.app_context():
        try:
            unit = db.session.execute(select(Unit).join(UnitOwnership).join(Owner).where(
                Owner.estate_id == estate_id, Owner.name == name).order_by(Unit.id)).scalars().first()
            owner = db.session.execute(select(Owner).where(Owner.estate_id == estate_id, Owner.name == name)).scalar_one()
            return str(unit.building_id), unit.room_no, owner.id_number[-6:]
        finally:
            db.session.remove()


def comment_on_a_draft_and_answer(users, app, estate_id: int, official) -> None:
    """An owner comments on the 管理规约 draft from a phone; the official answers it; the board
    shows the comment and the answer, not the name."""
    owner = users(None)
    owner.page.set_viewport_size({"width": 390, "height": 844})
    owner.visit(f"/public/estate/{estate_id}/governance")
    building, room, suffix = an_owners_unit_and_id_suffix(app, estate_id, "业主C")
    draft = owner.page.locator(".draft", has_text=DRAFTS[0][2])
    draft.locator("select[name=building]").select_option(building)
    draft.locator("input[name=room]").fill(room)
    draft.locator("input[name=id_suffix]").fill(suffix)
    draft.locator("textarea[name=content]").fill("建议写明电动自行车的停放和充电地点")
    owner.submit(draft.get_by_role("button", name="提交意见"), confirm=True)
    expect(owner.page.locator(".alert-success")).to_contain_text("已收到您对")
    owner.shot("draft-commented-on-a-phone", full_page=True)

    official.visit("/draft_comment/list/")
    official.submit(official.rows("议事测试小区管理规约").locator("a[href^='/draft_comment/edit/']"))
    official.fill("reply", "已采纳：第十二条增加集中停放充电区")
    official.save()

    owner.visit(f"/public/estate/{estate_id}/governance")
    comments = owner.page.locator(".draft .comments")
    expect(comments).to_contain_text("建议写明电动自行车的停放和充电地点")
    expect(comments).to_contain_text("已采纳：第十二条增加集中停放充电区")
    expect(comments).not_to_contain_text("业主C")


def test_a_first_assembly_from_the_group_to_the_filing(users, app):
    before = committees_of_one(app, 1)
    try:
        prepare_hold_and_file(users, app, an_estate_without_committee(app))
    finally:
        committees_of_one(app, before)


def prepare_hold_and_file(users, app, estate_id: int) -> None:
    official = users("official_jd")
    official.visit("/preparatory_group/add")
    official.choose("estate", ESTATE)
    official.date("applied_on", f"{clock.today():%Y-%m-%d}")
    official.save()
    official.visit("/preparatory_group/list/")
    official.submit(official.rows(ESTATE).locator("a[href^='/preparatory_group/show/']"))
    group_url = official.page.url
    for side, name, owner, leader in (("街道办事处（乡镇人民政府）代表", "刘监督员", None, True),
                                      ("业主代表", "业主A", "业主A", False), ("业主代表", "业主B", "业主B", False)):
        official.visit("/preparatory_member/add")
        official.choose("group", ESTATE)
        official.choose("side", side)
        official.fill("name", name)
        if owner:
            official.choose("owner", owner)
        if leader:
            official.page.locator("#is_leader").check()
        official.save()

    official.visit(group_url)
    official.fire("成立筹备组")
    expect(official.page.locator(".workflow-panel")).to_contain_text("公告成员名单：")
    official.fire("公告成员名单")
    official.fire("公示业主名册")
    expect(official.page.locator("table").first).to_contain_text("600.00")  # 6 units, 5 persons, 600 ㎡

    public = users(None)
    public.visit(f"/public/estate/{estate_id}/governance")
    expect(public.page.locator(".roll")).to_contain_text("房屋 6 套，业主 5 人")
    expect(public.page.locator(".members")).to_contain_text("组长")

    for kind, _matter, title in DRAFTS:
        official.visit("/governing_document/add")
        official.choose("estate", ESTATE)
        official.choose("kind", kind)
        official.fill("title", title)
        official.date("comment_until", f"{clock.today() + dt.timedelta(days=10):%Y-%m-%d}")
        official.save()
    comment_on_a_draft_and_answer(users, app, estate_id, official)

    draft_meeting(official, TITLE, ESTATE, convener="首次业主大会会议筹备组")
    for position, (kind, matter, draft) in enumerate(DRAFTS, start=1):
        official.visit("/meeting_matter/add")
        official.choose("meeting", TITLE)
        official.fill("position", str(position))
        official.choose("matter", matter)
        official.fill("title", f"表决通过《{kind}》")
        official.choose("document", draft)
        official.save()
    add_election(official, TITLE, ELECTION, "3", ("业主B", "业主C"))

    meeting_url, pk = announce_and_open(official, app, TITLE)

    owner = phone_ballot(users, app, pk)
    page = owner.page
    expect(page.locator(".draft").first).to_contain_text("《议事测试小区管理规约》（第 1 版）")
    for matter in page.locator("fieldset.radio-group").all():
        matter.locator("label.radio-inline", has_text="同意").click()
    page.locator("fieldset.election label", has_text="业主B").click()
    owner.submit(page.get_by_role("button", name="提交表决"), confirm=True)
    expect(page.locator(".alert-success")).to_contain_text("投票成功")
    owner.shot("first-assembly-voted-on-a-phone", full_page=True)

    the_others_vote_on_paper(app, pk, "业主B")
    official.visit(meeting_url)
    official.fire("结束表决并计票")

    public.visit(f"/public/estate/{estate_id}/governance")
    expect(public.page.locator(".documents tr", has_text="现行有效")).to_have_count(2)  # both adopted

    name_chair_and_file(official, official, term_of(app, pk), "街道备2026-12")

    official.visit(group_url)
    official.fire("筹备组解散")
    expect(official.page.locator(".workflow-panel")).to_contain_text("已解散")
    official.shot("first-assembly-dissolved", full_page=True)
