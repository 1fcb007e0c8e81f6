"""Bad input gets a Chinese message on the field and changes nothing — via form and REST."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.company import PropertyCompany, ServiceContract
from models.estate import Building, Estate, Unit
from models.parking import Vehicle
from models.people import Owner, Resident


def _first(model, *where):
    return db.session.execute(select(model).where(*where).order_by(model.id).limit(1)).scalar_one()


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@dataclass
class Case:
    model: type
    table: str
    valid: Callable[[], dict[str, Any]]  # form/REST payload that would be accepted
    field: str
    bad: Any
    message: str


def _unit():
    b = _first(Building)
    return {"building": b.id, "entrance": 1, "floor": 3, "room_no": "9-0399", "floor_area": "89.50",
            "unit_type": "residence", "usage": "living", "status": "vacant"}


def _owner():
    return {"estate": _first(Estate).id, "name": "测试业主", "id_type": "resident_id",
            "id_number": "11010519491231002X", "mobile": "13812345678"}


def _vehicle():
    return {"estate": _first(Estate).id, "plate": "京N12345", "vehicle_type": "car"}


def _company():
    return {"name": "北京测试物业服务有限公司", "uscc": "91350100M000100Y43"}


def _contract():
    return {"estate": _first(Estate).id, "company": _first(PropertyCompany).id, "contract_no": "HT-TEST-1",
            "starts_on": "2025-01-01", "ends_on": "2027-12-31", "billing_mode": "lump_sum"}


def _resident():
    return {"unit": _first(Unit).id, "name": "测试住户", "relation": "tenant", "mobile": "13912345678"}


def _estate():
    existing = _first(Estate)
    return {"community": existing.community_id, "name": "测试新小区", "code": "TEST-NEW", "address": "测试路 1 号"}


CASES = {
    "id_card_check_digit": Case(Owner, "owner", _owner, "id_number", "110105194912310021", "校验"),
    "id_card_birth_date": Case(Owner, "owner", _owner, "id_number", "110105199902300012", "出生日期"),
    "mobile": Case(Resident, "resident", _resident, "mobile", "12345678901", "手机号"),
    "plate": Case(Vehicle, "vehicle", _vehicle, "plate", "京I12345", "车牌"),
    "uscc_check_character": Case(PropertyCompany, "property_company", _company, "uscc", "91350100M000100Y44", "校验"),
    "positive_area": Case(Unit, "unit", _unit, "floor_area", "-5", "大于 0"),
    "zero_area": Case(Unit, "unit", _unit, "floor_area", "0", "大于 0"),
    "end_after_start": Case(ServiceContract, "service_contract", _contract, "ends_on", "2024-12-31", "不能早于"),
    "duplicate_room_in_building": Case(Unit, "unit", _unit, "room_no", None, "房号不能重复"),
    "unique_estate_code": Case(Estate, "estate", _estate, "code", None, "已存在"),
}


def _payload(app, case: Case) -> dict[str, Any]:
    with app.app_context():
        data = case.valid()
        bad = case.bad
        if bad is None:  # a value that already exists: the first row's own value
            row = _first(case.model, *([Unit.building_id == data["building"]] if case.model is Unit else []))
            bad = getattr(row, case.field)
        data[case.field] = bad
        return data


def _counts(app, model) -> int:
    with app.app_context():
        return _count(model)


@pytest.mark.parametrize("name", CASES)
def test_bad_input_through_the_form_shows_a_chinese_message_and_saves_nothing(app, admin_client, name):
    case = CASES[name]
    before = _counts(app, case.model)
    response = admin_client.post(f"/{case.table}/add", data=_payload(app, case))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, "the form is shown again with its errors"
    assert case.message in html
    assert _counts(app, case.model) == before


@pytest.mark.parametrize("name", CASES)
def test_bad_input_through_the_rest_api_is_refused_in_chinese_and_saves_nothing(app, admin_client, name):
    case = CASES[name]
    before = _counts(app, case.model)
    response = admin_client.post(f"/api/v1/{case.table}/", json=_payload(app, case))
    assert response.status_code in (400, 422)
    assert case.message in json.dumps(response.get_json(), ensure_ascii=False)
    assert _counts(app, case.model) == before


@pytest.mark.parametrize("name", ["unit", "owner", "vehicle", "company", "contract", "resident"])
def test_valid_input_is_saved_through_the_form(app, admin_client, name):
    maker = {"unit": _unit, "owner": _owner, "vehicle": _vehicle, "company": _company,
             "contract": _contract, "resident": _resident}[name]
    case = next(c for c in CASES.values() if c.valid is maker)
    before = _counts(app, case.model)
    with app.app_context():
        data = maker()
    response = admin_client.post(f"/{case.table}/add", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert _counts(app, case.model) == before + 1


def test_new_energy_plate_is_accepted(app, admin_client):
    with app.app_context():
        data = _vehicle() | {"plate": "京AD12345"}
    response = admin_client.post("/api/v1/vehicle/", json=data)
    assert response.status_code == 201, response.get_json()


def test_valid_input_is_saved_through_the_rest_api(app, admin_client):
    before = _counts(app, Unit)
    with app.app_context():
        data = _unit()
    response = admin_client.post("/api/v1/unit/", json=data)
    assert response.status_code == 201, response.get_json()
    assert _counts(app, Unit) == before + 1


def test_a_new_unit_takes_the_estate_of_its_building(app, admin_client):
    with app.app_context():
        data = _unit()
    new_id = admin_client.post("/api/v1/unit/", json=data).get_json()["id"]
    with app.app_context():
        unit = db.session.get(Unit, new_id)
        assert unit.estate_id == unit.building.estate_id


def test_an_edit_may_keep_its_own_unique_values(app, admin_client):
    with app.app_context():
        unit = _first(Unit)
        data = {"building": unit.building_id, "entrance": unit.entrance, "floor": unit.floor,
                "room_no": unit.room_no, "floor_area": "100.25", "unit_type": unit.unit_type,
                "usage": unit.usage, "status": unit.status}
        pk = unit.id
    response = admin_client.post(f"/unit/edit/{pk}", data=data)
    assert response.status_code == 302
    with app.app_context():
        assert str(db.session.get(Unit, pk).floor_area) == "100.25"


def test_inner_area_larger_than_floor_area_is_refused(app, admin_client):
    with app.app_context():
        data = _unit() | {"inner_area": "95.00"}
    response = admin_client.post("/unit/add", data=data)
    assert "套内面积不能大于建筑面积" in response.get_data(as_text=True)
