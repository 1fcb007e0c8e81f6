"""Scenario 4: who sees which estate, in the browser."""

from __future__ import annotations

import re

from tests.e2e.browser import expect

ESTATES = ("望京花园", "保利西园", "宝星华庭")  # estate 1 (staff_a's), 2, 3: one 街道


def test_an_official_sees_every_estate_of_the_street(users):
    official = users("official_jd")
    official.visit("/estate/list/")
    rows = official.rows()
    expect(rows).to_have_count(len(ESTATES))
    for name in ESTATES:
        expect(rows.filter(has_text=name)).to_have_count(1)
    official.shot("estate-list")
    for name in ESTATES[1:]:
        official.submit(rows.filter(has_text=name).locator("a[href^='/estate/show/']"))
        expect(official.page.locator("table")).to_contain_text(name)
        official.page.go_back()


def test_staff_of_one_estate_get_the_chinese_not_found_page_for_another_estates_pages(users):
    # the pages of 保利西园 as someone who may see them finds them
    official = users("official_jd")
    official.visit("/building/list/")
    building_link = official.rows("保利西园").locator("a[href^='/building/show/']")
    building = building_link.first.get_attribute("href")
    official.visit("/estate/list/")
    estate = official.rows("保利西园").locator("a[href^='/estate/show/']").get_attribute("href")
    pk = re.search(r"/(\d+)$", building).group(1)

    staff = users("staff_a")
    staff.visit("/estate/list/")
    expect(staff.rows()).to_have_count(1)
    expect(staff.rows()).to_contain_text("望京花园")
    for path in (estate, building, f"/building/edit/{pk}", f"/building/history/{pk}"):
        staff.visit(path, status=404)
        expect(staff.page.locator("body")).to_contain_text("页面不存在")
        expect(staff.page.locator("body")).to_contain_text("不在您的管理范围内")
        expect(staff.page.locator("body")).not_to_contain_text("保利西园")
    staff.shot("not-found")
    # and what the role may not do at all is refused, in Chinese too
    staff.visit("/fee_standard/add", status=403)
    expect(staff.page.locator("body")).to_contain_text("没有权限")
