"""Scenario 5: Excel out and back in through the browser (downloads and an upload)."""

from __future__ import annotations

import re
from pathlib import Path

from openpyxl import load_workbook
from tests.e2e.browser import expect


def download(person, link, folder: Path) -> Path:
    """Click a download link; the file as the browser saved it, under the name it offered."""
    with person.page.expect_download() as started:
        link.click()
    name = started.value.suggested_filename
    assert name.endswith(".xlsx"), name
    path = folder / name
    started.value.save_as(path)
    person.check()
    return path


def sheet(path: Path) -> list[tuple]:
    return list(load_workbook(path).worksheets[0].iter_rows(values_only=True))


def test_units_go_out_to_excel_and_new_ones_come_back_in_through_the_template(users, tmp_path):
    manager = users("manager_a")

    # the buildings as exported: what the unit template refers to (小区名称 + 楼栋编号)
    manager.visit("/building/list/")
    exported = sheet(download(manager, manager.page.get_by_role("link", name="导出 Excel（按当前筛选）"), tmp_path))
    header, *buildings = exported
    assert len(buildings) == manager.record_count()
    columns = {name: i for i, name in enumerate(header)}
    estate, code = buildings[0][columns["所属小区"]], buildings[0][columns["楼栋编号"]]

    manager.visit("/unit/list/")
    manager.shot("unit-list", readme="list")
    units_before = manager.record_count()
    header, *units = sheet(download(manager, manager.page.get_by_role("link", name="导出 Excel（按当前筛选）"), tmp_path))
    assert len(units) == units_before
    taken = {row[header.index("房号")] for row in units}
    rooms = [room for room in (f"1-30{n:02d}" for n in range(1, 99)) if room not in taken][:2]

    manager.submit(manager.page.get_by_role("link", name="从 Excel 导入"))
    manager.shot("import-page")
    template = load_workbook(download(manager, manager.page.get_by_role("link", name="下载房屋导入模板"), tmp_path))
    headers = [cell.value for cell in template.worksheets[0][1]]
    for room in rooms:
        values = {"小区名称": estate, "楼栋编号": code, "单元": 1, "楼层": 30, "房号": room,
                  "建筑面积(㎡)": 89.35, "套内面积(㎡)": 70.5, "房屋类型": "住宅", "用途": "居住",
                  "房屋状态": "自住", "交付日期": "2024-03-01"}
        template.worksheets[0].append([values.get(h) for h in headers])
    filled = tmp_path / "房屋导入.xlsx"
    template.save(filled)

    page = manager.page
    page.locator("#import-file").set_input_files(filled)
    manager.submit(page.get_by_role("button", name="校验（不写入）"))
    expect(page.locator(".alert-success")).to_contain_text("校验通过，共 2 行，可以导入")
    manager.shot("import-dry-run")
    manager.visit("/unit/list/")
    assert manager.record_count() == units_before  # the dry run wrote nothing

    manager.submit(page.get_by_role("link", name="从 Excel 导入"))
    page.locator("#import-file").set_input_files(filled)
    manager.submit(page.locator("button", has_text=re.compile(r"^\s*导入\s*$")))
    expect(page.locator(".alert-success")).to_contain_text("已导入 2 条房屋")
    assert manager.record_count() == units_before + 2

    manager.visit("/unit/list/?_flt_0_room_no=1-30")
    for room in rooms:
        expect(manager.rows(room)).to_contain_text("89.35")
    manager.shot("imported-units")
