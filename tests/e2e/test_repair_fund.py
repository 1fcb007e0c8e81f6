"""Scenarios 2 and 3: repair fund (维修资金) use applications, normal and emergency, in the browser."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from models.estate import Unit
from models.fund_vote import VoteRoll
from tests.e2e.browser import expect

ESTATE = "望京花园"
BUILDING = "望京花园 2号楼"  # the smallest building of estate 1: its owners vote
#: a one-pixel PNG: the scanned paper ballot
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def first_deposits(manager) -> None:
    """首期交存 of the estate, so that every 分户账 can pay its share."""
    manager.visit("/fund_entry/deposit/")
    option = manager.page.locator("#estate option", has_text=ESTATE)
    expect(option).to_have_text(re.compile(re.escape(ESTATE) + r"（\d+\.\d{2} 元/㎡）"))  # the rate applying there
    manager.page.locator("#estate").select_option(value=option.get_attribute("value"))
    manager.submit(manager.page.get_by_role("button", name=re.compile("记入首期交存")))
    expect(manager.page.locator(".alert-success")).to_contain_text(re.compile(r"首期交存"))


def publicity_days(admin, days: int) -> None:
    """系统设置: the 公示 period (0: the vote may open the day the plan is approved)."""
    admin.visit("/settings/edit/1")
    admin.fill("fund_publicity_days", str(days))
    admin.save()


def draft(manager, title: str, category: str, budget: str, emergency_kind: str = "") -> str:
    """A new application with the building as its 列支范围; its page's address."""
    manager.visit("/fund_application/list/")
    manager.submit(manager.page.locator("a[href^='/fund_application/add']").first)
    manager.choose("estate", ESTATE)
    manager.fill("title", title)
    manager.choose("category", category)
    if emergency_kind:
        manager.fill("emergency_kind", emergency_kind)
    manager.fill("repair_part", "2号楼屋面及电梯")
    manager.fill("budget", budget)
    manager.fill("contractor", "北京安居建筑修缮有限公司")
    manager.fill("plan", "工期 20 天；拆除旧防水层，铺设 SBS 改性沥青防水卷材两层；闭水试验合格后验收")
    manager.page.locator("#exclusion_declared").check()
    manager.save()
    manager.visit("/fund_application/list/")
    manager.submit(manager.rows(title).locator("a[href^='/fund_application/show/']"))
    show_url = manager.page.url
    manager.submit(manager.page.get_by_role("link", name=re.compile("添加楼栋或房屋")))
    manager.choose("building", BUILDING)
    manager.save()
    return show_url


def settle(manager, show_url: str, cost: str) -> None:
    """决算: the actual cost typed on the edit page, then 提交决算."""
    pk = re.search(r"/(\d+)$", show_url).group(1)
    manager.visit(f"/fund_application/edit/{pk}")
    manager.fill("actual_cost", cost)
    manager.fill("acceptance_note", "经业委会现场验收合格")
    manager.save()
    manager.visit(show_url)
    manager.fire("提交决算")


def state_of(person) -> str:
    return person.page.locator(".workflow-panel .panel-title strong").inner_text()


def use_entries(person, title: str) -> list[Decimal]:
    """The 使用分摊 lines of one application in the 资金流水 (its apportionment)."""
    person.visit("/fund_entry/list/?psize_FundEntryView=100&_flt_0_kind=use")
    amounts = []
    for row in person.rows(title).all():
        cells = row.locator("td").all_inner_texts()
        amounts += [Decimal(c.strip()) for c in cells if re.fullmatch(r"\s*-\d+\.\d{2}\s*", c)]
    return amounts


def printed_codes(app, show_url: str, count: int) -> list[tuple[str, str, str]]:
    """(building id, room, 电子投票码) of one unit of each of the first persons of the roll: what
    the committee's printed 表决票 hands each owner (the code is on no page, so it is read from
    the database)."""
    pk = int(re.search(r"/(\d+)$", show_url).group(1))
    with app.app_context():
        try:
            rows = db.session.execute(
                select(VoteRoll.person, Unit.building_id, Unit.room_no, VoteRoll.code)
                .join(Unit, Unit.id == VoteRoll.unit_id).where(VoteRoll.application_id == pk).order_by(VoteRoll.unit_id)
            ).all()
        finally:
            db.session.remove()
    first: dict[str, tuple[str, str, str]] = {}
    for person, building, room, code in rows:
        first.setdefault(person, (str(building), room, code))
    return list(first.values())[:count]


def vote_online(owner, show_url: str, building: str, room: str, code: str) -> None:
    """业主电子投票 on the public page, without signing in: unit, code, 同意."""
    pk = re.search(r"/(\d+)$", show_url).group(1)
    owner.visit(f"/public/vote/{pk}")
    page = owner.page
    page.locator("select[name=building]").select_option(building)
    page.locator("input[name=room]").fill(room)
    page.locator("input[name=code]").fill(code)
    page.locator("label.radio-inline", has_text="同意").click()
    owner.submit(page.get_by_role("button", name="提交表决"))
    expect(page.locator(".alert-success")).to_contain_text("投票成功：表决意见「同意」已记录")
    expect(page.locator(".alert-success")).to_contain_text("计为一人")


def yuan(amount: Decimal) -> str:
    """An amount as the disclosure pages print it: 26,500.55."""
    return f"{amount:,.2f}"


def test_a_repair_is_planned_approved_voted_done_filed_paid_and_apportioned(users, app, tmp_path):
    title, cost = "2号楼屋面防水大修", Decimal("26500.55")
    admin = users("admin")
    publicity_days(admin, 0)
    manager = users("manager_a")
    first_deposits(manager)
    show_url = draft(manager, title, "大中修", "28000.00")
    manager.fire("提交业委会审核")
    manager.shot("fund-application-submitted", full_page=True)

    committee = users("committee_a")
    committee.visit(show_url)
    committee.fire("审核通过并公示", "方案可行，同意公示")
    assert state_of(committee) == "方案公示"
    committee.fire("开始业主表决")
    assert state_of(committee) == "业主表决"

    # a few owners vote online with the code printed on their 表决票 ...
    online = printed_codes(app, show_url, 2)
    owner = users()
    for building, room, code in online:
        vote_online(owner, show_url, building, room, code)
    committee.submit(committee.page.locator("a[href^='/fund_application/tally/']").first)
    tally_url = committee.page.url
    page = committee.page
    roll = int(re.search(r"名册 (\d+) 人", page.locator(".panel-body p").first.inner_text()).group(1))
    expect(page.locator(".panel-body p").first).to_contain_text(f"已投票 {len(online)} 人（")
    expect(page.locator(".panel-body p").first).to_contain_text(f"未投票 {roll - len(online)} 人")

    # ... the others on paper, one ballot per person with its scan, until every owner of the building has voted
    scan = tmp_path / "表决票.png"
    scan.write_bytes(PNG)
    for cast in range(roll - len(online)):
        page.locator("#select2-unit-container").click()  # the units still to vote, asked of the server
        page.locator(".select2-container--open li.select2-results__option"
                     ":not(.loading-results):not(.select2-results__message)").first.click()
        page.locator("label.radio-inline", has_text="反对" if cast == 1 else "同意").click()
        page.locator("#scan").set_input_files(scan)
        committee.submit(page.get_by_role("button", name=re.compile("录入表决票")))
        expect(page.locator(".alert-success")).to_contain_text("已录入表决票")
    assert roll > 2
    expect(page.locator(".panel-body p").first).to_contain_text(f"已投票 {roll} 人")
    expect(page.locator(".panel-body p").first).to_contain_text("未投票 0 人")
    expect(committee.page.locator(".tally-table")).to_be_visible()
    expect(committee.page.locator("body")).to_contain_text("可以通过")

    committee.visit(show_url)
    committee.fire("结束表决并计票")
    assert state_of(committee) == "表决通过"
    committee.visit(tally_url)
    expect(committee.page.locator(".alert-success")).to_contain_text("计票结果：表决通过")
    committee.shot("vote-tally", full_page=True, readme="vote-tally")

    manager.visit(show_url)
    manager.fire("开始施工")
    assert state_of(manager) == "实施中"
    committee.visit(show_url)
    committee.fire("竣工验收", "防水层闭水试验合格")
    settle(manager, show_url, f"{cost:f}")
    manager.fire("申请划转")
    assert state_of(manager) == "已申请划转"

    official = users("official_jd")
    official.visit(show_url)
    official.fire("备案", "资料齐全，予以备案")
    official.fire("确认划转")
    assert state_of(official) == "已划转"
    official.shot("fund-application-paid", full_page=True)

    # the cost is apportioned over the building's 分户账, to the cent
    shares = use_entries(manager, title)
    assert len(shares) == roll and sum(shares) == -cost

    # one affected unit's 分户账 shows its share of this repair
    share = manager.rows(title).filter(has_text="2号楼 1-101").locator("td", has_text=re.compile(r"^-\d+\.\d{2}$"))
    share = share.inner_text().strip()
    manager.visit("/unit/list/?_flt_0_room_no=1-101")
    manager.submit(manager.rows("2号楼").locator("a[href^='/unit/show/']"))
    manager.submit(manager.page.get_by_role("link", name=re.compile("维修资金分户账")))
    expect(manager.page.locator("tr", has_text=title)).to_contain_text(share)
    manager.shot("unit-ledger", full_page=True)

    committee.visit(show_url)
    committee.fire("决算公示")
    assert state_of(committee) == "已决算公示"

    # the use, its cost and the unit's share in the disclosure (第30条), signed in and on the public page
    unit_share = [re.compile(r"(^|\s)2号楼 1-101$"), re.compile(r"^\d+\.\d+$"), yuan(-Decimal(share))]  # 房屋, 面积, 分摊
    committee.visit("/fund_account/disclosure/")
    committee.page.locator("select[name=estate]").select_option(label=ESTATE)
    committee.submit(committee.page.locator("form.fund-filter button").first)
    use = committee.page.locator(".fund-use", has_text=title)
    expect(use).to_have_count(1)
    expect(use).to_contain_text(yuan(cost))
    expect(use.locator(".fund-shares tr", has_text="2号楼 1-101").locator("td")).to_have_text(unit_share)
    public_page = committee.page.locator("a", has_text="公示栏页面").get_attribute("href")

    anyone = users()
    anyone.visit(public_page)
    expect(anyone.page.locator("h1")).to_contain_text(ESTATE)
    settled = anyone.page.locator(".fund-use", has_text=f"{title}（决算公示日期")
    expect(settled).to_have_count(1)
    expect(settled).to_contain_text(yuan(cost))
    expect(settled.locator(".fund-shares tr", has_text="2号楼 1-101").locator("td")).to_have_text(unit_share)
    used = anyone.page.locator(".fund-use", has_text=f"{title}（大中修）")  # 二、本期使用情况
    expect(used).to_contain_text(yuan(cost))
    anyone.shot("public-fund", full_page=True)


def test_an_emergency_repair_goes_from_creation_to_payment_without_a_vote(users):
    title, cost = "2号楼电梯曳引机抢修", Decimal("18230.40")
    manager = users("manager_a")
    first_deposits(manager)
    show_url = draft(manager, title, "应急维修", "19000.00", emergency_kind="电梯故障")
    manager.fire("提交应急维修")
    assert state_of(manager) == "待业委会确认"

    committee = users("committee_a")
    committee.visit(show_url)
    committee.fire("业委会确认", "电梯困人，情况紧急")
    official = users("official_jd")
    official.visit(show_url)
    official.fire("街道/社区确认", "同意应急维修")
    assert state_of(official) == "实施中"

    committee.visit(show_url)
    committee.fire("竣工验收", "电梯经特种设备检验合格")
    settle(manager, show_url, f"{cost:f}")
    official.visit(show_url)
    official.fire("确认划转")
    assert state_of(official) == "已划转"
    # no vote at any point: the timeline has no 表决 step and the tally never started
    timeline = official.page.locator(".workflow-panel .timeline").inner_text()
    assert "表决" not in timeline
    official.shot("emergency-paid", full_page=True)

    shares = use_entries(manager, title)
    assert shares and sum(shares) == -cost
