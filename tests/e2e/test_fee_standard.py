"""Scenario 1: a new fee standard from draft to the public notice, in the browser."""

from __future__ import annotations


from dateutil.relativedelta import relativedelta
from tests.e2e.browser import expect
from models import clock

ESTATE = "望京花园"  # estate 1, the one manager_a and committee_a serve
TITLE = "2027 年度调整后物业收费标准"


def test_a_fee_standard_is_drafted_returned_fixed_approved_published_and_posted(users):
    today = clock.today()
    # replaces the standard in force: at least a month after today's 公示, on a day no
    # published standard of the estate starts
    effective = (today + relativedelta(months=2)).replace(day=15)

    manager = users("manager_a")
    manager.visit("/fee_standard/list/")
    manager.shot("fee-standard-list")
    manager.submit(manager.page.locator("a[href^='/fee_standard/add']").first)
    manager.choose("estate", ESTATE)
    manager.fill("title", TITLE)
    manager.fill("company_name", "北京康宁物业服务有限公司")
    manager.fill("service_content", "公共区域清洁、绿化养护、秩序维护、共用设施设备日常运行维护")
    manager.fill("service_standard", "《住宅物业服务等级标准》二级")
    manager.choose("billing_mode", "包干制")
    manager.fill("basis", "业主大会决议及《物业服务合同》")
    manager.date("effective_from", effective.isoformat())
    manager.save()

    manager.visit("/fee_standard/list/")
    row = manager.rows(TITLE)
    expect(row).to_contain_text("草稿")
    manager.submit(row.locator("a[href^='/fee_standard/show/']"))
    show_url = manager.page.url

    # one line: 物业服务费 by area, at a price the 业委会 will find wrong
    manager.unfold("收费明细列表")
    manager.submit(manager.page.locator("a[href^='/fee_standard_line/add']"))
    manager.choose("item", "物业服务费")
    manager.choose("billing_basis", "按建筑面积")
    manager.fill("unit_price", "3.20")
    manager.choose("price_form", "市场调节价")
    manager.save()
    manager.page.goto(show_url)
    expect(manager.page.locator("body")).to_contain_text("3.2")
    assert "冻结" in manager.fire("提交审核")  # irreversible steps ask first, in Chinese
    manager.shot("fee-standard-submitted", full_page=True)

    committee = users("committee_a")
    committee.visit(show_url)
    expect(committee.page.locator(".workflow-panel")).to_contain_text("待审核")
    assert committee.fire("退回修改", "物业服务费涨幅过大，请按业主大会决议调整为 2.95 元") is None
    expect(committee.page.locator(".workflow-panel")).to_contain_text("已退回")
    expect(committee.page.locator(".workflow-panel .timeline")).to_contain_text("请按业主大会决议调整为 2.95 元")

    # the manager reads the comment, corrects the line and submits again
    manager.visit(show_url)
    expect(manager.page.locator(".workflow-panel .timeline")).to_contain_text("涨幅过大")
    manager.unfold("收费明细列表")
    manager.submit(manager.page.locator("a[href^='/fee_standard_line/edit/']").first)
    manager.fill("unit_price", "2.95")
    manager.save()
    manager.visit(show_url)
    expect(manager.page.locator("body")).to_contain_text("2.95")
    manager.fire("提交审核")

    committee.visit(show_url)
    # the prices and what they change are read above the decision
    review = committee.page.locator(".price-review")
    expect(review).to_contain_text("2.95")
    assert review.bounding_box()["y"] < committee.page.locator(".workflow-actions").bounding_box()["y"]
    committee.fire("审核通过", "同意")
    expect(committee.page.locator(".workflow-panel")).to_contain_text("已批准")
    expect(committee.page.locator(".workflow-actions")).to_have_count(0)  # nothing left for the 业委会

    manager.visit(show_url)
    assert "向全体业主公开" in manager.fire("公示")
    expect(manager.page.locator(".workflow-panel")).to_contain_text("公示中")
    manager.shot("fee-standard-published", full_page=True)

    # anyone, without logging in, finds it on the notice board with its dates
    public = users()
    public.visit("/public/")
    expect(public.page.locator("tr", has_text=ESTATE)).to_contain_text(f"{TITLE}（将于 {effective.isoformat()} 生效）")
    public.submit(public.page.locator("tr", has_text=ESTATE).get_by_role("link", name="查看收费公示"))
    notice = public.page.locator("section.standard", has_text=TITLE)
    expect(notice).to_contain_text("即将执行")
    expect(notice.locator("tr", has_text="公示日期")).to_contain_text(today.isoformat())
    expect(notice.locator("tr", has_text="公示日期")).to_contain_text(effective.isoformat())
    expect(notice.locator("table.lines tr", has_text="物业服务费")).to_contain_text("2.95")
    public.shot("fee-notice", full_page=True, readme="fee-notice")
