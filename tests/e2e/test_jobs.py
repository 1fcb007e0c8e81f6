"""Scenario: an official exports every bill of the 街道 (too many rows to wait for), keeps
working, is told in the inbox, and downloads the file from 「我的下载」; nobody else can."""

from __future__ import annotations

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from models.fees import Bill
from models.settings import Settings
from tests.e2e.browser import expect


def test_an_official_exports_the_street_in_the_background_and_downloads_it_from_my_downloads(app, users, tmp_path):
    with app.app_context():
        Settings.current(db.session).export_background_rows = 100
        db.session.commit()
        bills = db.session.scalar(select(func.count()).select_from(Bill))
    official = users("official_jd")
    official.visit("/bill/list/")
    official.submit(official.page.get_by_role("link", name="导出 Excel（按当前筛选）"))
    expect(official.page.locator(".alert")).to_contain_text("已转入后台导出")
    official.shot("export-job")

    official.visit("/unit/list/")  # keeps working; the top bar now counts one unread message
    expect(official.page.locator(".inbox-badge")).to_have_text("1")
    official.submit(official.page.locator(".inbox-link"))
    official.shot("inbox")
    official.submit(official.page.locator(".inbox a", has_text="账单列表导出"))
    official.submit(official.page.locator(".job-page").get_by_role("link", name="我的下载"))
    official.shot("my-downloads")
    with official.page.expect_download() as started:
        official.page.locator("table.downloads").get_by_role("link", name="下载").click()
    path = tmp_path / started.value.suggested_filename
    started.value.save_as(path)
    assert path.name.startswith("账单_") and load_workbook(path, read_only=True).active.max_row - 1 == bills
    file_url = official.page.locator("table.downloads").get_by_role("link", name="下载").get_attribute("href")

    manager = users("manager_a")
    manager.visit(file_url, status=404)
    manager.visit("/my/downloads/")
    expect(manager.page.locator("table.downloads")).to_contain_text("还没有后台导出")
