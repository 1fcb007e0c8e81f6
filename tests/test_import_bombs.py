"""Crafted .xlsx files, from the attacker's side: what a file unpacks to and how many rows
it makes the reader walk are capped before the work is done, and the rows imported are the
rows in the sheet, whatever range the file records for itself."""

from __future__ import annotations

import io
import re
import zipfile

from models.estate import Unit
from tests.support import xlsx
from tests.test_excel import UNIT_IMPORT_HEADERS, a_building, count, unit_row, upload

SHEET = "xl/worksheets/sheet1.xml"


def rewritten(content: bytes, part: str, change) -> bytes:
    """The same .xlsx with one part's text changed."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == part:
                data = change(data.decode()).encode()
            target.writestr(info.filename, data)
    return out.getvalue()


def empty_rows_after_the_header(sheet_xml: str, rows: int) -> str:
    """Rows with nothing in them and no recorded range (no <dimension>)."""
    sheet_xml = re.sub(r"<dimension [^>]*/>", "", sheet_xml)
    empty = "".join(f'<row r="{n}"/>' for n in range(3, rows + 3))
    return sheet_xml.replace("</row></sheetData>", "</row>" + empty + "</sheetData>")


def test_a_sheet_of_a_million_empty_rows_is_refused_and_imports_nothing(app, admin_client):
    estate, code, *_ = a_building(app)
    content = rewritten(xlsx(UNIT_IMPORT_HEADERS, [unit_row(estate, code, "B-0001")]), SHEET,
                        lambda text: empty_rows_after_the_header(text, 1_000_000))
    assert len(content) < 20 * 1024 * 1024, "within the upload limit: only the rows read can stop it"
    before = count(app, Unit)
    page = upload(admin_client, "unit", content, dry_run=False).get_data(as_text=True)
    assert "文件中的行数（含空行）超过 40000 行" in page
    assert count(app, Unit) == before


def test_a_part_unpacking_beyond_the_cap_is_refused_before_it_is_parsed(app, admin_client):
    estate, code, *_ = a_building(app)
    one_huge_cell = "x" * (33 * 1024 * 1024)  # 33 MiB of text packs into ~33 KiB
    content = rewritten(xlsx(UNIT_IMPORT_HEADERS, [unit_row(estate, code, "B-0002")]), SHEET,
                        lambda text: text.replace("B-0002", one_huge_cell))
    assert len(content) < 1024 * 1024
    before = count(app, Unit)
    page = upload(admin_client, "unit", content, dry_run=False).get_data(as_text=True)
    assert "文件解压后过大" in page
    assert count(app, Unit) == before


def test_every_row_of_the_sheet_is_imported_whatever_range_the_file_records(app, admin_client):
    estate, code, *_ = a_building(app)
    rows = [unit_row(estate, code, f"B-01{i:02d}") for i in range(5)]
    content = rewritten(xlsx(UNIT_IMPORT_HEADERS, rows), SHEET,
                        lambda text: re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:L2"/>', text))
    assert '<dimension ref="A1:L2"/>' in zipfile.ZipFile(io.BytesIO(content)).read(SHEET).decode()
    before = count(app, Unit)
    answer = upload(admin_client, "unit", content, dry_run=False)
    assert answer.status_code == 302
    assert count(app, Unit) == before + 5
    assert "已导入 5 条房屋" in admin_client.get(answer.headers["Location"]).get_data(as_text=True)
