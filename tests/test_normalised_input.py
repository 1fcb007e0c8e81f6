"""How a person types a number is not what it is: 全角 digits, spaces, hyphens, +86, 京A·12345
and a lower-case x are written canonically before any check, duplicate check or storage, on
every route (form, REST, Excel import)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from models.estate import Estate
from models.people import Owner
from tests.support import client_of, in_db, xlsx
from tests.test_excel import OWNER_IMPORT_HEADERS, error_table, id_number, upload

#: a 居民身份证 number whose check character is X (the first such sequence number)
TAIL_X = next(n for n in (id_number(date(1990, 3, 7), seq) for seq in range(1000)) if n.endswith("X"))


def _typed(number: str) -> str:
    """As someone types it: full-width digits, spaces, a lower-case x."""
    wide = number[:6].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return f"{wide} {number[6:14]} {number[14:17]}{number[17].lower()}"


def _estate() -> tuple[int, str]:
    row = db.session.execute(select(Estate.id, Estate.name).order_by(Estate.id).limit(1)).one()
    return row.id, row.name


def _owner_by_name(name: str) -> tuple[str, str | None] | None:
    row = db.session.execute(select(Owner.id_number, Owner.mobile).where(Owner.name == name)).first()
    return tuple(row) if row else None


def test_a_form_stores_a_mobile_typed_with_country_code_and_spaces_as_its_eleven_digits(app):
    estate, _ = in_db(app, _estate)
    manager = client_of(app, "manager_a")
    answer = manager.post("/owner/add", data={"estate": estate, "name": "规范化甲", "id_type": "resident_id",
                                              "id_number": _typed(TAIL_X),
                                              "mobile": "+86 138 0013 8000"})
    assert answer.status_code == 302
    assert in_db(app, lambda: _owner_by_name("规范化甲")) == (TAIL_X, "13800138000")


def test_rest_refuses_the_same_id_number_typed_with_a_lower_case_x_as_a_duplicate(app):
    estate, _ = in_db(app, _estate)
    manager = client_of(app, "manager_a")
    first = manager.post("/api/v1/owner/", json={"estate": estate, "name": "规范化乙", "id_type": "resident_id",
                                                 "id_number": TAIL_X})
    assert first.status_code == 201
    again = manager.post("/api/v1/owner/", json={"estate": estate, "name": "规范化丙", "id_type": "resident_id",
                                                 "id_number": TAIL_X.lower()})
    assert again.status_code in (400, 422)
    assert "本小区已有相同证件号码的业主" in again.get_json()["message"]
    assert in_db(app, lambda: _owner_by_name("规范化丙")) is None


def test_an_import_stores_numbers_canonically_and_finds_duplicates_written_differently(app):
    _, estate_name = in_db(app, _estate)
    admin = client_of(app, "admin")
    rows = [[estate_name, "规范化丁", "居民身份证", TAIL_X.lower(), "138-0013-8000", "否"],
            [estate_name, "规范化戊", "居民身份证", TAIL_X, None, "否"]]
    errors = error_table(upload(admin, "owner", xlsx(OWNER_IMPORT_HEADERS, rows), dry_run=False))
    assert any(row == 3 and column == "证件号码" and "重复" in reason for row, column, reason in errors), errors
    assert in_db(app, lambda: _owner_by_name("规范化丁")) is None  # nothing of a refused file
    assert upload(admin, "owner", xlsx(OWNER_IMPORT_HEADERS, rows[:1]), dry_run=False).status_code == 302
    assert in_db(app, lambda: _owner_by_name("规范化丁")) == (TAIL_X, "13800138000")


def test_a_taiwan_residents_residence_permit_is_an_id_type_of_its_own(app):
    from models.validators import id_card_check_char

    estate, _ = in_db(app, _estate)
    first17 = "830000" + "19900307" + "002"
    manager = client_of(app, "manager_a")
    answer = manager.post("/api/v1/owner/", json={"estate": estate, "name": "台胞业主", "id_type": "residence_permit",
                                                  "id_number": first17 + id_card_check_char(first17)})
    assert answer.status_code == 201
    wrong = manager.post("/api/v1/owner/", json={"estate": estate, "name": "错号业主", "id_type": "residence_permit",
                                                 "id_number": TAIL_X})
    assert wrong.status_code in (400, 422) and "810000、820000 或 830000" in wrong.get_json()["message"]
