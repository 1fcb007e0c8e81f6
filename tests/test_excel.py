"""Excel export and import, through the real routes, as the admin."""

from __future__ import annotations

import html
import re
import zipfile
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import event, func, select

from app.extensions import db
from tests.support import xlsx
from models.estate import UNIT_TYPES, Building, Estate, Unit
from models.people import Owner
from models.validators import id_card_check_char
from tests.pages import english_words

UNIT_LIST_HEADERS = ["楼栋", "单元", "楼层", "房号", "建筑面积(㎡)", "房屋类型", "房屋状态"]
UNIT_IMPORT_HEADERS = [
    "小区名称", "楼栋编号", "单元", "楼层", "房号", "建筑面积(㎡)", "套内面积(㎡)",
    "房屋类型", "用途", "房屋状态", "交付日期", "产权证号",
]
OWNER_IMPORT_HEADERS = ["小区名称", "姓名/名称", "证件类型", "证件号码", "手机号", "开发建设单位"]


# -- helpers ------------------------------------------------------------------------

def upload(client, table: str, content: bytes, *, dry_run: bool, name: str = "x.xlsx"):
    return client.post(
        f"/{table}/import/",
        data={"file": (BytesIO(content), name), "dry_run": "1" if dry_run else "0"},
        content_type="multipart/form-data",
    )


def error_table(response) -> list[tuple[int, str, str]]:
    """(row, column, reason) as listed on the import page."""
    page = response.get_data(as_text=True)
    found = re.findall(r"<tr><td>第 (\d+) 行</td><td>(.*?)</td><td>(.*?)</td></tr>", page)
    return [(int(row), html.unescape(column), html.unescape(reason)) for row, column, reason in found]


def sheet_rows(response) -> list[tuple]:
    workbook = load_workbook(BytesIO(response.data))
    return list(workbook.worksheets[0].iter_rows(values_only=True))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def a_building(app) -> tuple[str, str, int, int]:
    """(estate name, building code, building id, estate id) of an existing building."""
    with app.app_context():
        building = db.session.scalars(select(Building).order_by(Building.id)).first()
        return building.estate.name, building.code, building.id, building.estate_id


def an_existing_unit(app) -> tuple[str, str, str]:
    with app.app_context():
        unit = db.session.scalars(select(Unit).order_by(Unit.id)).first()
        return unit.building.estate.name, unit.building.code, unit.room_no


def id_number(birth: date, seq: int, valid: bool = True) -> str:
    first17 = f"110105{birth:%Y%m%d}{seq % 1000:03d}"
    check = id_card_check_char(first17)
    if not valid:
        check = "0" if check != "0" else "1"
    return first17 + check


def unit_row(estate: str, code: str, room: str, area=89.35, **over) -> list:
    row = dict(zip(UNIT_IMPORT_HEADERS, [
        estate, code, 1, 30, room, area, 70.5, "住宅", "居住", "出租", "2024-03-01", None,
    ]))
    row.update(over)
    return [row[h] for h in UNIT_IMPORT_HEADERS]


# -- export -------------------------------------------------------------------------

def test_export_of_a_filtered_list_has_chinese_headers_and_exactly_the_filtered_rows(app, admin_client):
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Unit))
        rooms = db.session.scalars(select(Unit.room_no).order_by(Unit.id)).all()
    # a prefix (FAB filter 0 on a string column = 开头是) that selects some units, not all
    prefix = next(
        room[:n] for room in rooms for n in range(1, len(room) + 1)
        if 0 < sum(r.startswith(room[:n]) for r in rooms) < total
    )
    expected = sum(r.startswith(prefix) for r in rooms)

    response = admin_client.get(f"/unit/export/?_flt_0_room_no={prefix}")

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    assert re.search(r"filename\*=UTF-8''%E6%88%BF%E5%B1%8B_\d{8}-\d{4}\.xlsx", response.headers["Content-Disposition"])
    rows = sheet_rows(response)
    assert list(rows[0]) == UNIT_LIST_HEADERS
    assert len(rows) - 1 == expected
    assert all(str(row[3]).startswith(prefix) for row in rows[1:])


def test_export_has_every_unit_not_just_the_first_page(app, admin_client):
    rows = sheet_rows(admin_client.get("/unit/export/"))
    assert len(rows) - 1 == count(app, Unit) > 100


def test_export_follows_the_list_order(admin_client):
    rows = sheet_rows(admin_client.get("/unit/export/?_oc_UnitView=floor&_od_UnitView=desc"))
    floors = [row[2] for row in rows[1:]]
    assert floors == sorted(floors, reverse=True)


def test_export_shows_choice_labels_relations_as_text_and_areas_as_two_decimal_numbers(app, admin_client):
    response = admin_client.get("/unit/export/")
    workbook = load_workbook(BytesIO(response.data))
    sheet = workbook.worksheets[0]
    data = list(sheet.iter_rows(min_row=2))
    types = {row[5].value for row in data}
    assert types <= set(UNIT_TYPES.labels.values()) and types
    assert not types & set(UNIT_TYPES.codes)
    with app.app_context():
        expected_areas = Counter(db.session.scalars(select(Unit.floor_area)).all())
        buildings = {str(b) for b in db.session.scalars(select(Building)).all()}
    assert Counter(Decimal(str(row[4].value)).quantize(Decimal("0.01")) for row in data) == expected_areas
    assert all(isinstance(row[4].value, (int, float)) and row[4].number_format == "0.00" for row in data)
    assert {row[0].value for row in data} <= buildings
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b


def test_export_writes_an_exact_decimal_with_its_own_digits(app, admin_client):
    """989.57 as a binary float would be written 989.5700000000001: the file holds the decimal."""
    with app.app_context():
        unit = db.session.scalars(select(Unit).order_by(Unit.id)).first()
        unit.floor_area = Decimal("989.57")  # larger than any 套内面积
        db.session.commit()
        room = unit.room_no
    response = admin_client.get(f"/unit/export/?_flt_0_room_no={room}")
    with zipfile.ZipFile(BytesIO(response.data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>989.57</v>" in sheet and "989.57000" not in sheet


def test_export_never_turns_a_text_into_a_formula(app, admin_client):
    """Formula injection: a name typed as "=HYPERLINK(...)" stays text in the sheet."""
    text = '=HYPERLINK("http://example.invalid","点我")'
    with app.app_context():
        estate = db.session.scalars(select(Estate).order_by(Estate.id)).first()
        estate.name = text
        db.session.commit()
    sheet = load_workbook(BytesIO(admin_client.get("/estate/export/").data)).worksheets[0]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value == text]
    assert cells and all(cell.data_type == "s" for cell in cells)


def test_export_of_estates_writes_dates_as_dates(admin_client, app):
    rows = sheet_rows(admin_client.get("/estate/export/"))
    assert len(rows) - 1 == count(app, Estate)
    delivered = [row[-1] for row in rows[1:] if row[-1] is not None]
    assert all(hasattr(value, "year") for value in delivered)


# -- template -----------------------------------------------------------------------

def test_template_has_the_import_columns_and_a_sheet_explaining_them(admin_client):
    response = admin_client.get("/unit/import/template.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(BytesIO(response.data))
    assert list(next(workbook.worksheets[0].iter_rows(values_only=True))) == UNIT_IMPORT_HEADERS
    notes = [row for row in workbook["填写说明"].iter_rows(values_only=True)]
    described = {row[0]: row for row in notes[1:] if row[0] in UNIT_IMPORT_HEADERS}
    assert set(described) == set(UNIT_IMPORT_HEADERS)
    assert described["房号"][1] == "必填"
    assert described["套内面积(㎡)"][1] == "选填"
    assert "住宅" in described["房屋类型"][2] and "车位" in described["房屋类型"][2]
    assert "YYYY-MM-DD" in described["交付日期"][2]
    assert "2 位小数" in described["建筑面积(㎡)"][2]


def test_owner_template_names_the_estate_by_its_name(admin_client):
    response = admin_client.get("/owner/import/template.xlsx")
    headers = next(load_workbook(BytesIO(response.data)).worksheets[0].iter_rows(values_only=True))
    assert list(headers) == OWNER_IMPORT_HEADERS


def test_a_filled_in_template_imports(app, admin_client):
    estate, code, *_ = a_building(app)
    workbook = load_workbook(BytesIO(admin_client.get("/unit/import/template.xlsx").data))
    workbook.worksheets[0].append(unit_row(estate, code, "T-0101"))
    buffer = BytesIO()
    workbook.save(buffer)
    before = count(app, Unit)
    response = upload(admin_client, "unit", buffer.getvalue(), dry_run=False)
    assert response.status_code == 302
    assert count(app, Unit) == before + 1


def test_import_page_explains_the_steps_in_chinese(admin_client):
    response = admin_client.get("/unit/import/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "导入房屋" in page and "校验（不写入）" in page and 'name="csrf_token"' in page
    assert "/unit/import/template.xlsx" in page
    assert english_words(page) == set()


def test_entities_not_declared_importable_have_no_import(admin_client):
    assert admin_client.get("/unit_ownership/import/").status_code == 404


# -- import -------------------------------------------------------------------------

def test_dry_run_of_a_valid_file_writes_nothing_and_reports_success(app, admin_client):
    estate, code, *_ = a_building(app)
    content = xlsx(UNIT_IMPORT_HEADERS, [unit_row(estate, code, f"T-01{i:02d}") for i in range(5)])
    before = count(app, Unit)

    response = upload(admin_client, "unit", content, dry_run=True)

    assert response.status_code == 200
    assert "校验通过，共 5 行，可以导入" in response.get_data(as_text=True)
    assert count(app, Unit) == before


def test_bad_rows_are_each_listed_with_row_column_and_reason_and_nothing_is_written(app, admin_client):
    estate, code, *_ = a_building(app)
    taken_estate, taken_code, taken_room = an_existing_unit(app)
    rows = [
        unit_row(estate, code, "T-0101"),                          # row 2: fine
        unit_row(estate, code, "T-0102", area=-5),                 # row 3: negative area
        unit_row(estate, "不存在的楼", "T-0103"),                   # row 4: unknown building
        unit_row(estate, code, "T-0101"),                          # row 5: 房号 twice in the file
        unit_row(taken_estate, taken_code, taken_room),            # row 6: unit already exists
        unit_row(estate, code, "T-0106", area="89.355"),           # row 7: 3 decimals
        unit_row(estate, code, "T-0107", **{"房屋类型": "宫殿", "交付日期": "2024-02-30"}),  # row 8
        [None] * len(UNIT_IMPORT_HEADERS),                         # row 9: empty, skipped
        unit_row(estate, code, None, **{"楼层": "三"}),              # row 10: missing 房号, bad int
    ]
    before = count(app, Unit)

    response = upload(admin_client, "unit", xlsx(UNIT_IMPORT_HEADERS, rows), dry_run=False)

    assert response.status_code == 200
    assert count(app, Unit) == before
    errors = error_table(response)
    by_row: dict[int, list[tuple[str, str]]] = {}
    for row, column, reason in errors:
        by_row.setdefault(row, []).append((column, reason))
    assert set(by_row) == {3, 4, 5, 6, 7, 8, 10}
    assert ("建筑面积(㎡)", "必须大于 0") in by_row[3]
    assert any(c == "小区名称+楼栋编号" and "找不到" in r and "不存在的楼" in r for c, r in by_row[4])
    assert any(c == "房号" and "与第 2 行重复" in r for c, r in by_row[5])
    assert ("房号", "同一楼栋内房号不能重复") in by_row[6]
    assert ("建筑面积(㎡)", "最多 2 位小数") in by_row[7]
    assert any(c == "房屋类型" and "宫殿" in r for c, r in by_row[8])
    assert any(c == "交付日期" and "不是有效的日期" in r for c, r in by_row[8])
    assert ("房号", "必填，不能为空") in by_row[10] and ("楼层", "应为整数") in by_row[10]
    assert "未写入任何数据" in response.get_data(as_text=True)


def test_an_invalid_id_number_is_listed_and_no_owner_is_written(app, admin_client):
    with app.app_context():
        estate = db.session.scalars(select(Estate.name).order_by(Estate.id)).first()
    rows = [
        [estate, "张三", "居民身份证", id_number(date(1980, 5, 1), 11), "13800138000", "否"],
        [estate, "李四", "居民身份证", id_number(date(1980, 5, 2), 12, valid=False), None, None],
        [estate, "王五", None, id_number(date(1980, 5, 3), 13, valid=False), "12345", "也许"],
    ]
    before = count(app, Owner)

    response = upload(admin_client, "owner", xlsx(OWNER_IMPORT_HEADERS, rows), dry_run=False)

    errors = error_table(response)
    assert (3, "证件号码", "身份证号校验位错误") in errors
    # an empty 证件类型 is 居民身份证 (the default), so the number is still checked
    assert (4, "证件号码", "身份证号校验位错误") in errors
    assert any(row == 4 and column == "手机号" for row, column, _ in errors)
    assert any(row == 4 and column == "开发建设单位" for row, column, _ in errors)
    assert not any(row == 2 for row, _, _ in errors)
    assert count(app, Owner) == before


def test_a_valid_file_is_imported_in_one_transaction(app, admin_client):
    estate, code, building_id, estate_id = a_building(app)
    rows = [unit_row(estate, code, f"T-02{i:02d}", area=f"{80 + i}.05") for i in range(30)]
    rows[0] = unit_row(estate, code, "T-0200", area=89.35, **{"房屋类型": "shop", "交付日期": date(2023, 12, 31)})
    before = count(app, Unit)
    with app.app_context():
        engine = db.engine
    commits = []

    def record(connection):
        commits.append(connection)

    event.listen(engine, "commit", record)
    try:
        response = upload(admin_client, "unit", xlsx(UNIT_IMPORT_HEADERS, rows), dry_run=False)
    finally:
        event.remove(engine, "commit", record)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/unit/list/")
    assert len(commits) == 1
    assert count(app, Unit) == before + 30
    with app.app_context():
        unit = db.session.scalars(select(Unit).where(Unit.room_no == "T-0200")).one()
        assert unit.building_id == building_id and unit.estate_id == estate_id
        assert unit.floor_area == Decimal("89.35") and unit.inner_area == Decimal("70.50")
        assert unit.unit_type == "shop" and unit.status == "rented"
        assert unit.delivered_on == date(2023, 12, 31)
        areas = db.session.scalars(select(Unit.floor_area).where(Unit.room_no.like("T-02%"))).all()
        assert sorted(areas) == sorted([Decimal("89.35")] + [Decimal(f"{80 + i}.05") for i in range(1, 30)])
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已导入 30 条房屋" in page


def test_a_file_that_is_not_xlsx_is_refused_in_chinese(app, admin_client):
    before = count(app, Unit)
    response = upload(admin_client, "unit", "小区名称,楼栋编号\n".encode(), dry_run=False, name="units.csv")
    assert "只支持 .xlsx 格式" in response.get_data(as_text=True)
    response = upload(admin_client, "unit", b"not a workbook", dry_run=False, name="units.xlsx")
    assert "无法读取该文件" in response.get_data(as_text=True)
    assert count(app, Unit) == before


def test_a_header_that_does_not_match_the_template_is_refused(app, admin_client):
    headers = [h for h in UNIT_IMPORT_HEADERS if h != "房号"] + ["备注"]
    response = upload(admin_client, "unit", xlsx(headers, [["x"] * len(headers)]), dry_run=True)
    page = response.get_data(as_text=True)
    assert "表头与房屋导入模板不一致" in page and "缺少列：房号" in page and "备注" in page


def test_an_empty_file_is_refused(admin_client):
    response = upload(admin_client, "unit", xlsx(UNIT_IMPORT_HEADERS, []), dry_run=True)
    assert "文件中没有数据行" in response.get_data(as_text=True)


def test_more_than_the_row_limit_is_refused(app, admin_client, monkeypatch):
    from views import excel

    monkeypatch.setattr(excel, "MAX_ROWS", 3)
    estate, code, *_ = a_building(app)
    rows = [unit_row(estate, code, f"T-03{i:02d}") for i in range(4)]
    response = upload(admin_client, "unit", xlsx(UNIT_IMPORT_HEADERS, rows), dry_run=True)
    assert "最多导入 3 行" in response.get_data(as_text=True)


def test_ten_thousand_owners_import_in_one_transaction(app, admin_client):
    # how long it takes is measured by the benchmark (bench/), not here
    with app.app_context():
        estate = db.session.scalars(select(Estate.name).order_by(Estate.id)).first()
    start_day = date(1950, 1, 1)
    rows = [
        [estate, f"业主{i}", "居民身份证", id_number(start_day + timedelta(days=i), 7), None, "否"]
        for i in range(10_000)
    ]
    content = xlsx(OWNER_IMPORT_HEADERS, rows)
    before = count(app, Owner)

    response = upload(admin_client, "owner", content, dry_run=False)

    assert response.status_code == 302, error_table(response)[:5]
    assert count(app, Owner) == before + 10_000


def test_buildings_import_by_estate_name_with_choice_labels_and_yes_no(app, admin_client):
    estate, *_ = a_building(app)
    headers = ["小区名称", "楼栋编号", "楼栋名称", "层数", "单元数", "建筑面积(㎡)", "结构类型", "有电梯", "竣工日期"]
    rows = [
        [estate, "T1", "T1号楼", 18, 2, "12000.5", "剪力墙结构", "是", "2015-06-30"],
        [estate, "T2", "T2号楼", 6, None, None, "brick", "否", None],
        ["没有这个小区", "T3", "T3号楼", 6, 1, None, None, "有", None],
    ]
    response = upload(admin_client, "building", xlsx(headers, rows), dry_run=True)
    errors = error_table(response)
    assert [(row, column) for row, column, _ in errors] == [(4, "小区名称"), (4, "有电梯")]

    before = count(app, Building)
    response = upload(admin_client, "building", xlsx(headers, rows[:2]), dry_run=False)
    assert response.status_code == 302
    assert count(app, Building) == before + 2
    with app.app_context():
        t1, t2 = db.session.scalars(
            select(Building).where(Building.code.in_(["T1", "T2"])).order_by(Building.code)
        ).all()
        assert t1.estate.name == estate and t1.structure == "shear_wall" and t1.has_elevator is True
        assert t1.floor_area == Decimal("12000.50") and t1.completed_on == date(2015, 6, 30)
        assert t2.structure == "brick" and t2.has_elevator is False and t2.entrances == 1


def test_estates_import_by_community_name_and_an_optional_company_name(app, admin_client):
    from models.company import PropertyCompany
    from models.region import Community

    with app.app_context():
        community = db.session.scalars(select(Community.name).order_by(Community.id)).first()
        company = db.session.scalars(select(PropertyCompany.name).order_by(PropertyCompany.id)).first()
    headers = list(next(load_workbook(BytesIO(admin_client.get("/estate/import/template.xlsx").data))
                        .worksheets[0].iter_rows(values_only=True)))
    assert headers[:3] == ["社区名称", "物业服务企业名称", "小区名称"]
    row = dict.fromkeys(headers)
    row.update({"社区名称": community, "小区名称": "导入测试小区", "小区编码": "IMP-001", "地址": "测试路 1 号",
                "绿化率(%)": 35.5, "交付日期": "2020/10/01"})
    second = dict(row, **{"物业服务企业名称": company, "小区名称": "导入测试二区", "小区编码": "IMP-002"})
    before = count(app, Estate)
    response = upload(admin_client, "estate", xlsx(headers, [list(row.values()), list(second.values())]),
                      dry_run=False)
    assert response.status_code == 302, error_table(response)
    assert count(app, Estate) == before + 2
    with app.app_context():
        first = db.session.scalars(select(Estate).where(Estate.code == "IMP-001")).one()
        other = db.session.scalars(select(Estate).where(Estate.code == "IMP-002")).one()
        assert first.company is None and first.community.name == community
        assert first.green_ratio == Decimal("35.50") and first.delivered_on == date(2020, 10, 1)
        assert other.company.name == company
