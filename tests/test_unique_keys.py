"""Keys over the rows that have them: a uniqueness with an empty column (a scope names one of
小区/社区/街道; a 总部 department has no 小区; a bill is a house's or a 车位's) holds for the
rows it is about, in the form, the REST API and the database itself, and for no others."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from models.access import UserScope
from models.company import Department, PropertyCompany
from models.estate import Estate
from models.fees import Bill
from models.repair_fund import FundEntry
from tests.support import form_errors
from views.errors import integrity_message

SCOPE_TAKEN = "该用户已有此管辖范围"
HEAD_OFFICE_NAME_TAKEN = "该企业已有同名的总部部门"


def _user_id(app, username: str) -> int:
    return app.appbuilder.sm.find_user(username).id


def _estate_ids() -> list[int]:
    return list(db.session.scalars(select(Estate.id).order_by(Estate.id)))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _grant(app, username: str) -> tuple[int, int]:
    """(user id, estate id) of a scope created here: staff_a is given the second estate."""
    with app.app_context():
        user_id, estate_id = _user_id(app, username), _estate_ids()[1]
        db.session.add(UserScope(user_id=user_id, estate_id=estate_id))
        db.session.commit()
        return user_id, estate_id


def _head_office(app, name: str) -> int:
    """A company's 总部 department created here (no estate); returns the company id."""
    with app.app_context():
        company_id = db.session.scalar(select(PropertyCompany.id).order_by(PropertyCompany.id))
        db.session.add(Department(company_id=company_id, estate_id=None, name=name))
        db.session.commit()
        return company_id


def _scopes(app) -> int:
    with app.app_context():
        return _count(UserScope)


def _departments(app) -> int:
    with app.app_context():
        return _count(Department)


# -- 用户管辖范围 -----------------------------------------------------------------------------

def test_the_form_refuses_a_scope_the_user_already_has(app, admin_client):
    user_id, estate_id = _grant(app, "staff_a")
    before = _scopes(app)
    response = admin_client.post("/user_scope/add", data={"user": user_id, "estate": estate_id})
    assert response.status_code == 200
    assert SCOPE_TAKEN in response.get_data(as_text=True)
    assert _scopes(app) == before


def test_the_rest_api_refuses_a_scope_the_user_already_has(app, admin_client):
    user_id, estate_id = _grant(app, "staff_a")
    before = _scopes(app)
    response = admin_client.post("/api/v1/user_scope/", json={"user": user_id, "estate": estate_id})
    assert response.status_code in (400, 422)
    assert SCOPE_TAKEN in json.dumps(response.get_json(), ensure_ascii=False)
    assert _scopes(app) == before


def test_the_database_refuses_a_repeated_scope_that_no_form_checked(app, ctx):
    """Two administrators saving the same grant at the same moment both pass the form's check;
    the database key is what stops the second."""
    user_id, estate_id = _grant(app, "staff_a")
    db.session.add(UserScope(user_id=user_id, estate_id=estate_id))
    with pytest.raises(IntegrityError) as refused:
        db.session.flush()
    db.session.rollback()
    assert integrity_message(refused.value, UserScope) == SCOPE_TAKEN


def test_the_same_estate_may_be_granted_to_two_users(app, admin_client):
    _user, estate_id = _grant(app, "staff_a")
    before = _scopes(app)
    with app.app_context():
        other = _user_id(app, "manager_a")
    response = admin_client.post("/user_scope/add", data={"user": other, "estate": estate_id})
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    assert _scopes(app) == before + 1


# -- 部门 -----------------------------------------------------------------------------------

def test_the_form_refuses_a_second_head_office_department_of_the_same_name(app, admin_client):
    company_id = _head_office(app, "财务部")
    before = _departments(app)
    response = admin_client.post("/department/add", data={"company": company_id, "name": "财务部"})
    assert response.status_code == 200
    assert HEAD_OFFICE_NAME_TAKEN in response.get_data(as_text=True)
    assert _departments(app) == before


def test_the_database_refuses_a_second_head_office_department_of_the_same_name(app, ctx):
    company_id = _head_office(app, "财务部")
    db.session.add(Department(company_id=company_id, estate_id=None, name="财务部"))
    with pytest.raises(IntegrityError) as refused:
        db.session.flush()
    db.session.rollback()
    assert integrity_message(refused.value, Department) == HEAD_OFFICE_NAME_TAKEN


def test_a_project_department_may_share_its_name_with_a_head_office_one(app, admin_client):
    company_id = _head_office(app, "品质督导部")
    with app.app_context():
        estate_id = _estate_ids()[0]
    before = _departments(app)
    response = admin_client.post("/department/add", data={"company": company_id, "estate": estate_id, "name": "品质督导部"})
    assert response.status_code == 302, form_errors(response.get_data(as_text=True))
    assert _departments(app) == before + 1


# -- 账单、维修资金流水：the keys still hold ------------------------------------------------------

def _copy(row, **changes):
    columns = {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key != "id"}
    return type(row)(**(columns | changes))


@pytest.mark.parametrize("payer", ["unit_id", "space_id"])
def test_a_second_bill_for_the_same_payer_item_and_month_is_refused(app, ctx, payer):
    bill = db.session.scalars(select(Bill).where(getattr(Bill, payer).is_not(None)).order_by(Bill.id).limit(1)).one()
    db.session.add(_copy(bill, paid=bill.amount * 0, outstanding=bill.amount))
    with pytest.raises(IntegrityError) as refused:
        db.session.flush()
    db.session.rollback()
    house_or_space = "房屋" if payer == "unit_id" else "车位"
    assert integrity_message(refused.value, Bill) == f"该{house_or_space}此项目此账期的账单已生成，不能重复生成"


def test_a_fund_entry_is_corrected_at_most_once_by_the_database(app, ctx):
    """Two corrections of one deposit written past the app's own check, as a race would: the
    second is refused by the key, which holds only corrections."""
    entry = db.session.scalars(select(FundEntry).where(FundEntry.kind == "deposit").order_by(FundEntry.id)
                               .limit(1)).one()
    correction = {"estate_id": entry.estate_id, "unit_id": entry.unit_id, "kind": "deposit", "amount": -entry.amount,
                  "occurred_on": entry.occurred_on, "reverses_id": entry.id, "note": "冲正：录入错误"}
    db.session.execute(insert(FundEntry).values(correction))
    with pytest.raises(IntegrityError) as refused:
        db.session.execute(insert(FundEntry).values(correction))
    db.session.rollback()
    assert integrity_message(refused.value, FundEntry) == "该流水已经冲正过"


# -- the built indexes ---------------------------------------------------------------------------

def test_the_migrations_build_each_partial_key_over_its_own_rows(app, ctx):
    """Comparing the schema with the models sees names and columns, not a partial index's
    condition: each key's declared condition is read back from the database here."""
    from flask_appbuilder import Model

    dialect = db.engine.dialect.name
    declared = {index.name: str(index.dialect_options[dialect]["where"])
                for table in Model.metadata.tables.values() for index in table.indexes
                if index.unique and "message" in index.info and index.dialect_options[dialect]["where"] is not None}
    sql = ("SELECT name, sql FROM sqlite_master WHERE type = 'index'" if dialect == "sqlite"
           else "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
    built = dict(db.session.connection().exec_driver_sql(sql).all())
    assert {"uq_user_scope_estate", "uq_department_head_office_name", "uq_bill_space_item_period"} <= set(declared)
    for name, condition in declared.items():
        words = built[name].replace("(", "").replace(")", "")
        assert condition.replace("(", "").replace(")", "") in words, (name, built[name])
