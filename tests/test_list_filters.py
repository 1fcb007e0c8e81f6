"""The list pages' filters, keyword box and order, as people use them every day."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import prison
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from models.base import natural_key
from models.estate import Building, Estate, Unit
from models.fees import Bill
from models.filter_ops import filter_arg
from models.people import Owner
from models.saved_filters import SavedFilter
from tests.support import client_of, in_db, record_count, shown_ids, text_of

MANAGER = "manager_a"


def _manager_estate_id() -> int:
    return db.session.execute(select(Estate.id).order_by(Estate.id).limit(1)).scalar_one()


def _building(code: str, name: str, estate_id: int | None = None) -> Building:
    building = Building(estate_id=estate_id or _manager_estate_id(), code=code, name=name, floors=30, entrances=2)
    db.session.add(building)
    db.session.flush()
    return building


def _unit(building: Building, room_no: str, *, entrance: int = 1, floor: int = 1, status: str = "owner_occupied",
          area: str = "90.00") -> Unit:
    unit = Unit(building=building, room_no=room_no, entrance=entrance, floor=floor,
                floor_area=Decimal(area), status=status)
    db.session.add(unit)
    db.session.flush()
    return unit


@pytest.fixture()
def manager(app):
    return client_of(app, MANAGER)


# -- natural order ---------------------------------------------------------------------------

@pytest.mark.parametrize("smaller, larger", [("1-101", "1-1001"), ("2号楼", "10号楼"), ("1-9", "1-10"), ("A2", "A10")])
def test_numbers_inside_room_and_building_numbers_sort_as_people_read_them(smaller, larger):
    assert smaller > larger  # plain text order, which this replaces, gets each pair wrong
    assert natural_key(smaller) < natural_key(larger)


def test_the_unit_list_reads_building_by_building_then_entrance_floor_and_room(app, manager):
    def arrange():
        ten, two = _building("Z10", "Z10号楼"), _building("Z2", "Z2号楼")
        ids = {
            "10-1-1001": _unit(ten, "1-1001", floor=10).id, "2-2-101": _unit(two, "2-101", entrance=2, floor=1).id,
            "2-1-1001": _unit(two, "1-1001", floor=10).id, "2-1-101": _unit(two, "1-101", floor=1).id,
        }
        db.session.commit()
        return ids, two.id, ten.id

    ids, two, ten = in_db(app, arrange)
    page = text_of(manager.get(f"/unit/list/?_flt_0_building={two}&psize_UnitView=100"))
    shown = [int(pk) for pk in re.findall(r'href="/unit/show/(\d+)"', page)]
    assert [pk for pk in shown if pk in ids.values()] == [ids["2-1-101"], ids["2-1-1001"], ids["2-2-101"]]
    # across buildings: Z2 before Z10 (text order would put Z10 first)
    page = text_of(manager.get("/unit/list/?q=Z&psize_UnitView=100"))
    shown = [int(pk) for pk in re.findall(r'href="/unit/show/(\d+)"', page)]
    assert shown.index(ids["2-2-101"]) < shown.index(ids["10-1-1001"])


def test_a_renamed_room_number_moves_to_its_new_place_in_the_order(app):
    def rename():
        unit = _unit(_building("R1", "R1号楼"), "1-1001")
        unit.room_no = "1-99"
        db.session.commit()
        return db.session.get(Unit, unit.id).room_key

    assert in_db(app, rename) == natural_key("1-99")


def _shown_order(client, query: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'href="/unit/show/(\d+)"', text_of(client.get(f"/unit/list/?{query}")))]


def test_a_renumbered_building_takes_its_units_to_its_new_place_in_the_order(app, manager):
    def arrange():
        three, twenty = _building("Y3", "Y3号楼"), _building("Y20", "Y20号楼")
        units = _unit(three, "1-101").id, _unit(twenty, "1-101").id
        db.session.commit()
        return units, twenty.id

    (in_three, in_twenty), twenty = in_db(app, arrange)
    assert _shown_order(manager, "q=Y&psize_UnitView=100") == [in_three, in_twenty]

    def renumber():
        db.session.get(Building, twenty).code = "Y1"  # 20号楼 becomes 1号楼
        db.session.commit()
        return db.session.scalar(select(Unit.building_key).where(Unit.id == in_twenty))

    assert in_db(app, renumber) == natural_key("Y1")  # the database carried the new key to the unit
    assert _shown_order(manager, "q=Y&psize_UnitView=100") == [in_twenty, in_three]


def test_a_unit_moved_to_another_building_takes_that_buildings_place_in_the_order(app):
    def move():
        unit = _unit(_building("X9", "X9号楼"), "1-101")
        unit.building = _building("X10", "X10号楼")
        db.session.commit()
        return db.session.scalar(select(Unit.building_key).where(Unit.id == unit.id))

    assert in_db(app, move) == natural_key("X10")


def test_a_unit_inserted_by_building_id_alone_reads_its_buildings_key(app):
    def insert_bare():
        building = _building("W12", "W12号楼")
        db.session.execute(insert(Unit.__table__), [{
            "estate_id": building.estate_id, "building_id": building.id, "entrance": 1, "floor": 1,
            "room_no": "1-101", "floor_area": Decimal("90.00"),
        }])
        return db.session.scalar(select(Unit.building_key).where(Unit.building_id == building.id))

    assert in_db(app, insert_bare) == natural_key("W12")


def test_the_database_refuses_a_unit_filed_under_another_buildings_place_in_the_order(app):
    def insert_misfiled():
        building = _building("V5", "V5号楼")
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(insert(Unit.__table__), [{
                "estate_id": building.estate_id, "building_id": building.id, "building_key": natural_key("V50"),
                "entrance": 1, "floor": 1, "room_no": "1-101", "floor_area": Decimal("90.00"),
            }])
            db.session.flush()
        db.session.rollback()
        return db.session.scalar(select(func.count(Unit.id)).where(Unit.building_id == building.id))

    assert in_db(app, insert_misfiled) == 0


def test_sorting_bills_by_unit_keeps_the_bills_of_parking_spaces(app, manager):
    # a bill is of a unit or of a parking space: sorting by 房屋 must not drop the others
    def space_bills() -> int:
        estate = _manager_estate_id()
        return db.session.scalar(select(func.count(Bill.id)).where(Bill.estate_id == estate, Bill.unit_id.is_(None)))

    assert in_db(app, space_bills) > 0
    unsorted = record_count(text_of(manager.get("/bill/list/")))
    assert record_count(text_of(manager.get("/bill/list/?_oc_BillView=unit&_od_BillView=asc"))) == unsorted


def test_sorting_by_the_building_column_is_offered_on_the_unit_list(manager):
    page = text_of(manager.get("/unit/list/"))
    assert "_oc_UnitView=building" in page


# -- filters in Chinese ----------------------------------------------------------------------

def test_a_closed_list_is_filtered_by_its_chinese_labels_never_by_stored_codes(manager):
    page = text_of(manager.get("/unit/list/"))
    select_html = re.search(r'<select[^>]*name="_flt_2_status"[^>]*>(.*?)</select>', page, re.S).group(1)
    shown_text = re.sub(r"<[^>]+>", " ", select_html)
    assert "未售" in shown_text and "出租" in shown_text
    assert "unsold" not in shown_text and "owner_occupied" not in shown_text


def test_typing_the_chinese_label_filters_like_the_code(app, manager):
    by_label = text_of(manager.get("/unit/list/?_flt_0_status=未售&psize_UnitView=100"))
    by_code = text_of(manager.get("/unit/list/?_flt_0_status=unsold&psize_UnitView=100"))
    assert record_count(by_label) == record_count(by_code) > 0
    assert "房屋状态 等于 未售" in by_label


def test_several_choices_at_once_match_any_of_them(app, manager):
    def counts():
        estate = _manager_estate_id()
        rows = db.session.execute(select(Unit.status).where(Unit.estate_id == estate)).scalars().all()
        return rows.count("rented"), rows.count("vacant")

    rented, vacant = in_db(app, counts)
    page = text_of(manager.get("/unit/list/?_flt_2_status=rented&_flt_2_status=vacant"))
    assert record_count(page) == rented + vacant
    assert "房屋状态 属于 出租、空置" in page


def test_an_unknown_choice_is_refused_in_chinese_and_not_applied(manager):
    everything = record_count(text_of(manager.get("/unit/list/")))
    page = text_of(manager.get("/unit/list/?_flt_0_status=found"))
    assert "已忽略一个筛选条件" in page and "「房屋状态」没有「found」这一项" in page
    assert record_count(page) == everything


def test_units_are_filtered_by_building_and_entrance_together(app, manager):
    def arrange():
        building = _building("F8", "F8号楼")
        wanted = [_unit(building, "2-301", entrance=2, floor=3).id, _unit(building, "2-302", entrance=2, floor=3).id]
        _unit(building, "1-301", entrance=1, floor=3)
        db.session.commit()
        return building.id, set(wanted)

    building, wanted = in_db(app, arrange)
    page = text_of(manager.get(f"/unit/list/?_flt_0_building={building}&_flt_0_entrance=2"))
    assert shown_ids(page, "unit") == wanted
    assert "楼栋 等于" in page and "F8号楼" in page and "单元 等于 2" in page


def test_the_export_holds_exactly_the_filtered_rows(app, manager):
    def arrange():
        building = _building("E8", "E8号楼")
        for room in ("2-101", "2-102", "2-103"):
            _unit(building, room, entrance=2, status="rented")
        _unit(building, "2-104", entrance=2, status="vacant")
        db.session.commit()
        return building.id

    building = in_db(app, arrange)
    query = f"_flt_0_building={building}&_flt_0_entrance=2&_flt_2_status=rented"
    response = manager.get(f"/unit/export/?{query}")
    assert response.status_code == 200
    from openpyxl import load_workbook
    import io

    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert len(rows) - 1 == 3


def test_a_filter_on_another_estates_building_finds_nothing_and_names_nothing(app, manager):
    def arrange():
        other = db.session.execute(select(Estate.id).order_by(Estate.id.desc()).limit(1)).scalar_one()
        building = _building("X9", "外小区楼", estate_id=other)
        _unit(building, "9-901")
        db.session.commit()
        return building.id

    foreign = in_db(app, arrange)
    page = text_of(manager.get(f"/unit/list/?_flt_0_building={foreign}"))
    assert record_count(page) == 0 and "外小区楼" not in page


def test_date_and_amount_ranges_include_both_ends(app, manager):
    def arrange():
        building = _building("D1", "D1号楼")
        areas = {"D-1": "59.99", "D-2": "60.00", "D-3": "80.00", "D-4": "80.01"}
        ids = {room: _unit(building, room, area=area).id for room, area in areas.items()}
        db.session.commit()
        return building.id, ids

    building, ids = in_db(app, arrange)
    low, high = filter_arg(Unit, "floor_area", "ge"), filter_arg(Unit, "floor_area", "le")
    page = text_of(manager.get(f"/unit/list/?_flt_0_building={building}&{low}=60&{high}=80"))
    assert shown_ids(page, "unit") == {ids["D-2"], ids["D-3"]}


def test_a_malformed_number_or_date_is_refused_with_the_field_named(manager):
    low = filter_arg(Unit, "floor_area", "ge")
    page = text_of(manager.get(f"/unit/list/?{low}=abc&{filter_arg(Unit, 'delivered_on', 'ge')}=2026-13-45"))
    assert "「建筑面积(㎡)」请填写数字" in page and "「交付日期」请填写日期" in page


# -- keyword box, chips and empty results -------------------------------------------------------

def test_the_keyword_box_searches_building_names_and_room_numbers(app, manager):
    def arrange():
        building = _building("K8", "K8号楼")
        return _unit(building, "2-1503").id, _unit(_building("K9", "K9号楼"), "K8-1").id

    def commit_ids():
        ids = arrange()
        db.session.commit()
        return ids

    in_building, by_room = in_db(app, commit_ids)
    page = text_of(manager.get("/unit/list/?q=K8"))
    assert {in_building, by_room} <= shown_ids(page, "unit")
    assert "关键字：K8" in page


def test_an_empty_result_says_which_conditions_produced_it_and_how_to_clear_them(manager):
    page = text_of(manager.get("/unit/list/?q=不存在的房号&_flt_0_status=未售"))
    assert record_count(page) == 0
    assert "没有符合条件的记录" in page and "关键字：不存在的房号" in page and "房屋状态 等于 未售" in page
    assert "清除全部条件" in page


def test_each_chip_removes_only_its_own_condition(manager):
    page = text_of(manager.get("/unit/list/?q=1-&_flt_0_status=未售"))
    links = re.findall(r'<a class="chip" href="([^"]+)"', page)
    assert len(links) == 2
    without_keyword = next(link for link in links if "q=" not in link)
    assert "_flt_0_status" in without_keyword


def test_the_filter_panel_offers_only_chinese_operators_and_labels(manager):
    page = text_of(manager.get("/unit/list/"))
    panel = re.search(r'<form class="filter-panel".*?</form>', page, re.S).group(0)
    visible = re.sub(r"<[^>]+>", " ", panel)
    latin = set(re.findall(r"[A-Za-z]{2,}", visible))
    assert latin == set()


# -- REST uses the same operators --------------------------------------------------------------------

def test_rest_filters_accept_a_label_for_a_closed_list(manager):
    q = prison.dumps({"filters": [{"col": "status", "opr": "eq", "value": "未售"}], "page_size": 100})
    by_label = manager.get(f"/api/v1/unit/?q={q}").get_json()
    q = prison.dumps({"filters": [{"col": "status", "opr": "eq", "value": "unsold"}], "page_size": 100})
    by_code = manager.get(f"/api/v1/unit/?q={q}").get_json()
    assert by_label["count"] == by_code["count"] > 0


@pytest.mark.parametrize("condition, message", [
    ({"col": "status", "opr": "sw", "value": "un"}, "不支持运算符「sw」"),
    ({"col": "status", "opr": "eq", "value": "found"}, "没有「found」这一项"),
    ({"col": "floor", "opr": "gt", "value": "abc"}, "请填写数字"),
    ({"col": "floor", "opr": "gt", "value": "99999999999"}, "请填写整数"),
])
def test_a_rest_filter_that_cannot_be_meant_is_a_400_in_chinese(manager, condition, message):
    q = prison.dumps({"filters": [condition]})
    response = manager.get(f"/api/v1/unit/?q={q}")
    assert response.status_code == 400
    assert message in json.dumps(response.get_json(), ensure_ascii=False)


# -- pickers -------------------------------------------------------------------------------------

def test_the_unit_picker_finds_a_building_by_its_name_and_narrows_by_further_words(app, manager):
    def arrange():
        building = _building("P8", "P8号楼")
        wanted = _unit(building, "1-301").id
        _unit(_building("P9", "P9号楼"), "1-301")
        db.session.commit()
        return wanted

    wanted = in_db(app, arrange)
    found = manager.get("/unit/lookup/?q=P8号楼").get_json()["results"]
    assert wanted in {r["id"] for r in found}
    found = manager.get("/unit/lookup/?q=P8号楼 1-301").get_json()["results"]
    assert [r["id"] for r in found] == [wanted]


def test_two_owners_of_one_name_read_apart_in_the_owner_picker(app, manager):
    def arrange():
        estate = _manager_estate_id()
        for number in ("110101199003071234", "110101198512125678"):
            db.session.add(Owner(estate_id=estate, name="同名测试", id_type="resident_id", id_number=number))
        db.session.commit()

    in_db(app, arrange)
    texts = [r["text"] for r in manager.get("/owner/lookup/?q=同名测试").get_json()["results"]]
    assert len(texts) == 2 and len(set(texts)) == 2
    assert any("1234" in t for t in texts) and any("5678" in t for t in texts)


# -- saved filters ------------------------------------------------------------------------------

def test_a_saved_filter_reappears_as_a_quick_link_that_reapplies_it(app, manager):
    answer = manager.post("/unit/filters/save", data={"name": "出租房", "query": "_flt_2_status=rented&q=1-&page_UnitView=3"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/unit/list/?_flt_2_status=rented&q=1-")
    page = text_of(manager.get("/unit/list/"))
    link = re.search(r'<a href="(/unit/list/\?[^"]+)">出租房</a>', page).group(1)
    assert "page_UnitView" not in link
    assert "房屋状态 属于 出租" in text_of(manager.get(link.replace("&amp;", "&")))


def test_saved_filters_are_each_persons_own(app, manager):
    manager.post("/unit/filters/save", data={"name": "我的条件", "query": "_flt_2_status=rented"})
    other = client_of(app, "staff_a")
    assert "我的条件" not in text_of(other.get("/unit/list/"))
    pk = in_db(app, lambda: db.session.execute(select(SavedFilter.id)).scalar_one())
    assert other.post(f"/unit/filters/delete/{pk}").status_code == 404
    assert in_db(app, lambda: db.session.get(SavedFilter, pk)) is not None
    assert manager.post(f"/unit/filters/delete/{pk}").status_code == 302
    assert in_db(app, lambda: db.session.get(SavedFilter, pk)) is None


@pytest.mark.parametrize("name, query, message", [
    ("", "_flt_2_status=rented", "请为这组筛选条件起个名字"),
    ("无条件", "page_UnitView=2", "当前没有任何筛选条件"),
    ("长" * 41, "_flt_2_status=rented", "名称最多 40 个字"),
])
def test_an_unusable_saved_filter_is_refused_in_chinese_and_nothing_is_saved(app, manager, name, query, message):
    page = text_of(manager.post("/unit/filters/save", data={"name": name, "query": query}, follow_redirects=True))
    assert message in page
    assert in_db(app, lambda: db.session.query(SavedFilter).count()) == 0


def test_a_saved_filter_runs_under_the_users_scope(app):
    official = client_of(app, "official_jd")
    manager = client_of(app, "manager_a")
    official.post("/unit/filters/save", data={"name": "全部未售", "query": "_flt_2_status=unsold&psize_UnitView=100"})
    saved = in_db(app, lambda: db.session.execute(select(SavedFilter.query)).scalar_one())
    # the same query in the manager's hands lists only the manager's estate
    mine = record_count(text_of(manager.get(f"/unit/list/?{saved}")))
    all_of_them = record_count(text_of(official.get(f"/unit/list/?{saved}")))
    assert 0 < mine < all_of_them


def test_bills_are_filtered_by_the_building_of_their_unit(app, manager):
    def expected():
        building = db.session.execute(select(Building).where(Building.estate_id == _manager_estate_id())
                                      .order_by(Building.id).limit(1)).scalar_one()
        count = db.session.query(Bill).join(Unit, Unit.id == Bill.unit_id).filter(Unit.building_id == building.id).count()
        return building.id, building.name, count

    building, name, count = in_db(app, expected)
    page = text_of(manager.get(f"/bill/list/?{filter_arg(Bill, 'unit.building')}={building}"))
    assert record_count(page) == count > 0
    assert "楼栋 等于 " in page and name in page
    info = manager.get("/api/v1/bill/_info").get_json()["filters"]["unit.building"]
    assert [f["name"] for f in info] == ["等于", "不等于"]


def test_owners_are_filtered_by_a_unit_they_hold_title_to(app, manager):
    def arrange():
        from models.people import UnitOwnership

        unit = _unit(_building("O1", "O1号楼"), "1-101")
        holder = Owner(estate_id=_manager_estate_id(), name="产权测试人", id_type="resident_id",
                       id_number="110101199003079999")
        db.session.add_all([holder, UnitOwnership(unit=unit, owner=holder)])
        db.session.commit()
        return unit.id, holder.id

    unit, holder = in_db(app, arrange)
    page = text_of(manager.get(f"/owner/list/?{filter_arg(Owner, 'ownerships.unit')}={unit}"))
    assert shown_ids(page, "owner") == {holder}
    assert "房屋 等于" in page and "O1号楼 1-101" in page


def test_a_saved_edit_returns_to_the_filtered_list_it_came_from(app, manager):
    listing = "/unit/list/?_flt_2_status=rented"
    page = text_of(manager.get(listing))
    pk = re.search(r'href="/unit/show/(\d+)"', page).group(1)
    form = text_of(manager.get(f"/unit/edit/{pk}"))
    data = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    for name in ("building", "unit_type", "usage", "status"):
        options = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', form, re.S).group(1)
        chosen = next(tag for tag in re.findall(r"<option[^>]*>", options) if "selected" in tag)
        data[name] = re.search(r'value="([^"]*)"', chosen).group(1)
    answer = manager.post(f"/unit/edit/{pk}", data=data)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(listing)


# -- counts on huge lists: "10,000+" -----------------------------------------------------------

def _units_of_large_estate() -> int:
    return db.session.scalar(select(func.count(Unit.id)).join(Unit.building).where(
        Building.estate_id == _manager_estate_id()))


def _shown_count(page: str) -> str:
    match = re.search(r"<strong>记录数:</strong>\s*([\d,+]+)", page)
    assert match, "the list page shows its record count"
    return match.group(1)


def test_a_list_stops_counting_at_the_cap_and_says_there_are_more(app, manager, monkeypatch):
    units = in_db(app, _units_of_large_estate)
    assert units == 120  # the test data's large estate (tests/conftest.py TEST_UNITS)
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 50)

    page = text_of(manager.get("/unit/list/"))

    assert _shown_count(page) == "50+"
    assert "符合条件的记录超过 50 条" in page
    assert len(shown_ids(page, "unit")) == 25  # the page itself is whole


def test_a_count_that_reaches_the_cap_exactly_is_shown_exact(app, manager, monkeypatch):
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 120)  # the large estate's 120 units

    page = text_of(manager.get("/unit/list/"))

    assert _shown_count(page) == "120"
    assert "符合条件的记录超过" not in page


def test_a_capped_count_counts_only_the_users_estates(app, manager, monkeypatch):
    everywhere = in_db(app, lambda: db.session.scalar(select(func.count(Unit.id))))
    assert everywhere > 121  # other estates' units would push a leaking count over the cap
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 121)

    assert _shown_count(text_of(manager.get("/unit/list/"))) == "120"


def test_the_capped_list_pages_through_the_counted_rows(app, manager, monkeypatch):
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 50)

    page = text_of(manager.get("/unit/list/"))

    # 50 counted rows at 25 a page: pages 1 and 2 are offered, page 3 is not
    assert re.search(r'href="[^"]*page_UnitView=1[^"]*"', page)
    assert not re.search(r'href="[^"]*page_UnitView=2[^"]*"', page)


def _page_size_links(page: str) -> dict[int, str]:
    menu = re.search(r'<div class="btn-group page-size">.*?</ul>', page, re.S)
    assert menu, "the list offers page sizes"
    return {int(size): html.unescape(link)
            for link, size in re.findall(r'<a href="([^"]*)">每页 (\d+) 条</a>', menu.group(0))}


def test_every_page_size_is_offered_and_opens_the_page_holding_this_pages_first_row(app, manager):
    # page 3 of 25 (page_UnitView=2) begins at row 51 of the large estate's 120
    page = text_of(manager.get("/unit/list/?page_UnitView=2"))
    first = int(re.search(r'href="/unit/show/(\d+)"', page).group(1))

    links = _page_size_links(page)

    assert sorted(links) == [25, 50, 75, 100]  # 100 too, though 3 pages of 100 would not exist
    # row 51 is on page 3 of 25, page 2 of 50, page 1 of 75 and of 100
    assert [re.search(r"page_UnitView=(\d+)", links[size]).group(1) for size in (25, 50, 75, 100)] == \
        ["2", "1", "0", "0"]
    assert first in shown_ids(text_of(manager.get(links[50])), "unit")


def _pager(page: str) -> list[tuple[str, str | None]]:
    """(words, the page it opens; None: not a link) of each pager item."""
    pager = re.search(r'<ul class="pagination[^"]*"[^>]*>(.*?)</ul>', page, re.S)
    assert pager, "the list has a pager"
    items = re.findall(r'<li[^>]*>(?:<a href="[^"]*page_UnitView=(\d+)[^"]*">|<span[^>]*>)([^<]+)<', pager.group(1))
    return [(words, number or None) for number, words in items]


def test_the_pager_says_first_previous_next_and_last_in_words(manager):
    # page 3 of the large estate's 120 units at 25 a page: 5 pages
    assert _pager(text_of(manager.get("/unit/list/?page_UnitView=2"))) == [
        ("首页", "0"), ("上一页", "1"), ("1", "0"), ("2", "1"), ("3", None), ("4", "3"), ("5", "4"),
        ("下一页", "3"), ("末页", "4")]


def test_the_first_page_offers_no_way_back_and_the_last_none_forward(manager):
    first = dict(_pager(text_of(manager.get("/unit/list/"))))
    last = dict(_pager(text_of(manager.get("/unit/list/?page_UnitView=4"))))

    assert first["首页"] is None and first["上一页"] is None and first["末页"] == "4"
    assert last["下一页"] is None and last["末页"] is None and last["上一页"] == "3"


def test_a_new_sort_order_starts_on_the_first_page(manager):
    page = text_of(manager.get("/unit/list/?page_UnitView=2"))

    heads = [html.unescape(link) for link in re.findall(r'<a href="([^"]*_oc_UnitView=[^"]*)"', page)]

    assert heads and not any("page_UnitView" in link for link in heads)
    assert "page_UnitView=3" in page  # the pager itself still pages


def test_a_page_past_the_last_says_so_and_links_to_the_first_and_the_last(manager):
    page = text_of(manager.get("/unit/list/?page_UnitView=9"))

    assert "没有第 10 页：符合条件的记录共 5 页" in page  # 120 units at 25 a page
    last = html.unescape(re.search(r'<a href="([^"]*)">到最后一页（第 5 页）</a>', page).group(1))
    assert len(shown_ids(text_of(manager.get(last)), "unit")) == 20


def test_a_page_past_a_capped_count_names_no_total(app, manager, monkeypatch):
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 50)

    page = text_of(manager.get("/unit/list/?page_UnitView=9"))

    assert "没有第 10 页。" in page and "共" not in re.search(r"没有第 10 页[^<]*", page).group(0)
    assert re.search(r'<a href="[^"]*page_UnitView=1">到第 2 页</a>', page)


def test_paging_sorting_and_page_size_links_keep_every_value_of_a_multi_choice_filter(app, manager):
    def arrange():
        building = _building("M1", "多选楼")
        for room, status in [("1", "rented"), ("2", "rented"), ("3", "rented"), ("4", "vacant"), ("5", "vacant"),
                             ("6", "owner_occupied")]:
            _unit(building, room, status=status)
        db.session.commit()
        return building.id

    building_id = in_db(app, arrange)
    status = filter_arg(Unit, "status", "in")
    page = text_of(manager.get(f"/unit/list/?{filter_arg(Unit, 'building')}={building_id}"
                               f"&{status}=rented&{status}=vacant&psize_UnitView=2"))

    # the pager's, the column heads' and the page-size menu's links (a chip's link drops its condition)
    links = [html.unescape(link) for link in re.findall(r'<a href="([^"]*(?:page_|_oc_|psize_)UnitView=[^"]*)"', page)]
    assert any("page_UnitView=" in link for link in links) and any("_oc_UnitView=" in link for link in links)
    assert all(f"{status}=rented" in link and f"{status}=vacant" in link for link in links)
    # 3 出租 and 2 空置 at 2 a page: page 3 (page_UnitView=2) holds the fifth, of the same 5
    last = next(link for link in links if "page_UnitView=2" in link)
    assert record_count(text_of(manager.get(last))) == 5


def test_the_rest_api_counts_exactly_whatever_the_list_cap(app, manager, monkeypatch):
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 50)

    assert manager.get("/api/v1/unit/?page_size=1").get_json()["count"] == 120
