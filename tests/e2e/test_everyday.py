"""Daily tasks in a real browser, each counted in clicks and typed fields."""

from __future__ import annotations

from tests.e2e.browser import expect
from tests.e2e.test_excel import download, sheet


def test_a_manager_lists_the_rented_units_of_one_entrance_and_exports_them(users, tmp_path):
    manager = users("manager_a")
    manager.visit("/unit/list/")
    page = manager.page
    # 楼栋: the picker opens with the buildings of the manager's estate
    page.locator("#select2-filter-building-container").click()
    page.locator(".select2-container--open .select2-results__option", has_text="1号楼").first.click()
    page.locator("#filter-status").locator("xpath=following-sibling::span[1]").click()
    page.locator(".select2-container--open .select2-results__option", has_text="出租").click()
    page.locator("#filter-entrance").fill("1")
    manager.submit(page.get_by_role("button", name="筛选"))
    expect(page.locator(".filter-chips")).to_contain_text("单元 等于 1")
    expect(page.locator(".filter-chips")).to_contain_text("房屋状态 属于 出租")
    shown = manager.record_count()
    assert shown > 0
    rows = sheet(download(manager, page.get_by_role("link", name="导出 Excel（按当前筛选）"), tmp_path))
    header, *units = rows
    assert len(units) == shown
    assert {row[header.index("单元")] for row in units} == {1}
    assert {row[header.index("房屋状态")] for row in units} == {"出租"}
    interactions = 2 + 2 + 1 + 1 + 1  # building, 出租, 单元, 筛选, export
    assert interactions <= 7
    manager.shot("filtered-units", readme="filters")


def test_the_keyword_box_finds_a_buildings_rented_units_in_two_interactions(users):
    manager = users("manager_a")
    manager.visit("/unit/list/")
    box = manager.page.locator("#keyword")
    box.fill("1号楼 出租")
    with manager.page.expect_navigation():
        box.press("Enter")
    manager.check()
    statuses = manager.rows().locator("td:last-child").all_inner_texts()
    assert statuses and set(s.strip() for s in statuses) == {"出租"}
    expect(manager.page.locator(".filter-chips")).to_contain_text("关键字：1号楼 出租")


def test_a_larger_page_size_keeps_the_first_row_on_screen(users):
    manager = users("manager_a")
    manager.visit("/unit/list/?page_UnitView=2")  # page 3 of 25: rows 51-75
    page = manager.page
    first = manager.rows().first.locator("a[href*='/unit/show/']").first.get_attribute("href")
    page.locator(".page-size button").click()
    manager.submit(page.get_by_role("link", name="每页 50 条"))
    # rows 51-100: page 2 of 50
    assert "page_UnitView=1" in page.url and "psize_UnitView=50" in page.url
    expect(page.locator(".page-size button")).to_contain_text("每页 50 条")
    assert manager.rows().locator(f"a[href='{first}']").count() == 1


def test_the_worst_collection_rate_of_the_street_is_on_the_officials_first_screen(users):
    official = users("official_jd")
    official.visit("/dashboard/jurisdiction/")
    headline = official.page.locator("#figure-collection_by_estate .figure-headline")
    expect(headline).to_contain_text("最差")
    box = headline.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 860, box  # no scrolling needed
    table = official.page.locator("#table-collection_by_estate")
    first = table.locator("tbody tr").first
    expect(first.locator("td").first).to_have_text("1")
    expect(headline).to_contain_text(first.locator("td").nth(1).inner_text())
    rates = [float(t) for t in table.locator("tbody tr td:last-child").all_inner_texts()]
    assert rates == sorted(rates)
    official.shot("ranking", readme="ranking")


def test_a_refused_step_is_shown_disabled_with_its_reason_and_a_frozen_step_asks_first(users):
    manager = users("manager_a")
    manager.visit("/fee_standard/add")
    manager.choose("estate", "望京花园")
    manager.fill("title", "无价格的标准")
    manager.fill("company_name", "测试物业")
    manager.page.locator("#service_content").fill("清洁")
    manager.fill("service_standard", "二级")
    manager.fill("basis", "业主大会决议")
    manager.date("effective_from", "2030-01-01")
    manager.save()
    manager.visit("/fee_standard/list/?q=无价格的标准")
    manager.submit(manager.rows().first.locator("a[href*='/fee_standard/show/']"))
    refused = manager.page.locator(".refused-action")
    expect(refused.locator("button")).to_be_disabled()
    expect(refused).to_contain_text("暂不能提交审核：收费标准还没有任何收费项目")
    manager.shot("refused-step")


def test_signing_out_from_the_user_menu_takes_two_clicks_and_ends_the_session(users):
    manager = users("manager_a")
    manager.visit("/unit/list/")
    page = manager.page
    page.locator(".dropdown-toggle:has(.fa-user)").click()
    manager.shot("user-menu")
    with page.expect_navigation():
        page.locator(".navbar-logout button").click()
    manager.check()
    manager.visit("/unit/list/", status=200)  # the login page, not the list
    assert "/login/" in page.url


def test_a_delete_that_would_be_refused_is_greyed_and_says_why_on_a_click(users):
    manager = users("manager_a")
    manager.visit("/building/list/")  # every building of the demo estate has its units
    page = manager.page
    row = manager.rows().first
    assert row.locator("a[data-delete]").count() == 0
    row.locator(".btn.refused").click(force=True)  # force: the browser reports it disabled, as it is
    dialog = page.locator("#modal-alert")
    expect(dialog.locator(".modal-text")).to_contain_text("还有房屋")
    expect(dialog.locator(".modal-text")).to_contain_text("不能删除")


def test_a_rows_delete_button_asks_first_and_then_deletes_only_that_row(users):
    manager = users("manager_a")
    manager.visit("/visitor/list/")
    page = manager.page
    before = manager.record_count()
    row = manager.rows().first
    shown = row.locator("a[href*='/visitor/show/']").get_attribute("href")
    row.locator("a[data-delete]").click()
    dialog = page.locator("#modal-confirm")
    expect(dialog.locator(".modal-text")).to_have_text("确定要删除此记录吗？")
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    assert manager.record_count() == before  # 取消 deletes nothing
    row.locator("a[data-delete]").click()
    manager.submit(dialog.get_by_role("button", name="确定"))
    assert manager.record_count() == before - 1
    assert page.locator(f"a[href='{shown}']").count() == 0


def test_a_record_deleted_from_its_own_page_asks_first_and_leads_back_to_the_list(users):
    manager = users("manager_a")
    manager.visit("/visitor/list/")
    page = manager.page
    before = manager.record_count()
    shown = manager.rows().first.locator("a[href*='/visitor/show/']").get_attribute("href")
    manager.visit(shown)
    page.locator(".record-tools a[data-delete]").click()
    dialog = page.locator("#modal-confirm")
    expect(dialog.locator(".modal-text")).to_have_text("确定要删除此记录吗？")
    manager.submit(dialog.get_by_role("button", name="确定"))
    assert "/visitor/list/" in page.url and manager.record_count() == before - 1
    assert page.locator(f"a[href='{shown}']").count() == 0


def test_an_action_on_a_record_page_asks_first_and_then_acts(users):
    """解锁账号 on an account's page: the question, 取消 does nothing, 确定 unlocks."""
    admin = users("admin")
    admin.visit("/users/list/")
    page = admin.page
    admin.visit(admin.rows(has_text="staff_a").first.locator("a[href*='/users/show/']").get_attribute("href"))
    unlock = page.locator("a[data-action]", has_text="解锁账号")
    unlock.click()
    dialog = page.locator("#modal-confirm")
    expect(dialog.locator(".modal-text")).to_contain_text("确定解锁所选账号吗？")
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    assert "/users/show/" in page.url and not admin.flashed()
    unlock.click()
    admin.submit(dialog.get_by_role("button", name="确定"))
    assert "已解锁 1 个账号：staff_a" in " ".join(admin.flashed())
