"""The first assembly in the browser, from the 筹备组 to the 备案: the 街道 official enters the
group and its members, forms and announces it, publishes the owners' roll, drafts the
管理规约 and 议事规则 and the first meeting with the election; an owner votes on a phone; the
count puts both documents in force and elects the committee; the official names its 主任,
confirms the 备案 and dissolves the group.

The estate is new (five owners, 业主A holding two units); its locality lets a committee have
one member (系统设置 → 业委会委员最少人数), so that two candidates make a 差额 election."""

from __future__ import annotations

from app.extensions import db
from models import clock
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
        official.save()

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
