"""操作日志: every write leaves an append-only record; each record has its 变更历史."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DatabaseError

from app import audit
from app.extensions import db
from models.access import UserScope
from models.audit import AuditLog
from models.estate import Building, Estate, Unit
from tests.pages import english_words
from tests.support import in_db, login


# -- helpers ------------------------------------------------------------------------

def _first(model, *where):
    return db.session.execute(select(model).where(*where).order_by(model.id).limit(1)).scalar_one()


def _logs(app, table: str | None = None, record_id=None, action: str | None = None) -> list[AuditLog]:
    with app.app_context():
        query = select(AuditLog).order_by(AuditLog.id)
        if table:
            query = query.where(AuditLog.table_name == table)
        if record_id is not None:
            query = query.where(AuditLog.record_id == str(record_id))
        if action:
            query = query.where(AuditLog.action == action)
        rows = db.session.execute(query).scalars().all()
        db.session.expunge_all()
        return rows


def _log_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditLog))


def _unit_payload(app, room: str = "9-0399", building_id: int | None = None) -> dict:
    with app.app_context():
        building = db.session.get(Building, building_id) if building_id else _first(Building)
        return {"building": building.id, "entrance": 1, "floor": 3, "room_no": room, "floor_area": "89.50",
                "unit_type": "residence", "usage": "living", "status": "vacant", "delivered_on": "2024-03-01"}


def _new_unit(app, client, room: str = "9-0399", building_id: int | None = None) -> int:
    response = client.post("/api/v1/unit/", json=_unit_payload(app, room, building_id))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _admin_id(app) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_user(username="admin").id


# -- every write route leaves a record ---------------------------------------------------

def test_creating_a_unit_through_the_form_writes_one_create_record(app, admin_client):
    data = _unit_payload(app)
    response = admin_client.post("/unit/add", data=data)
    assert response.status_code == 302
    with app.app_context():
        unit = db.session.execute(select(Unit).where(Unit.room_no == "9-0399")).scalar_one()
        pk, estate_id, building_id = unit.id, unit.estate_id, unit.building_id

    (log,) = _logs(app, "unit", pk)
    assert (log.action, log.username, log.user_id, log.ip) == ("create", "admin", _admin_id(app), "127.0.0.1")
    assert (log.table_label, log.estate_id, log.old_values) == ("房屋", estate_id, None)
    new = json.loads(log.new_values)
    assert new["id"] == pk and new["room_no"] == "9-0399" and new["status"] == "vacant"
    assert new["building_id"] == building_id and new["estate_id"] == estate_id


def test_an_edit_through_rest_records_only_the_changed_columns_with_old_and_new(app, admin_client):
    pk = _new_unit(app, admin_client)
    response = admin_client.put(f"/api/v1/unit/{pk}", json={"status": "rented", "floor_area": "90.25"})
    assert response.status_code == 200, response.get_json()

    (log,) = _logs(app, "unit", pk, "update")
    assert json.loads(log.old_values) == {"floor_area": "89.50", "status": "vacant"}
    assert json.loads(log.new_values) == {"floor_area": "90.25", "status": "rented"}
    assert log.username == "admin"


def test_an_edit_that_changes_nothing_records_nothing(app, admin_client):
    pk = _new_unit(app, admin_client)
    before = _log_count(app)
    response = admin_client.put(f"/api/v1/unit/{pk}", json={"status": "vacant", "floor_area": "89.5"})
    assert response.status_code == 200
    assert _log_count(app) == before


def test_a_delete_records_the_old_values(app, admin_client):
    pk = _new_unit(app, admin_client)
    assert admin_client.delete(f"/api/v1/unit/{pk}").status_code == 200

    (log,) = _logs(app, "unit", pk, "delete")
    old = json.loads(log.old_values)
    assert old["room_no"] == "9-0399" and old["floor_area"] == "89.50" and old["id"] == pk
    assert log.new_values is None and log.estate_id is not None


@pytest.mark.parametrize("route", ["form", "rest"])
def test_a_refused_write_records_nothing(app, admin_client, route):
    before = _log_count(app)
    data = _unit_payload(app) | {"floor_area": "-5"}
    if route == "form":
        admin_client.post("/unit/add", data=data)
    else:
        assert admin_client.post("/api/v1/unit/", json=data).status_code in (400, 422)
    assert _log_count(app) == before


def test_a_write_the_database_refuses_records_nothing(app, admin_client, monkeypatch):
    # as when a reference is added between the product's check and the delete
    monkeypatch.setattr("views.interface.delete_refusals", lambda *_args: {})
    with app.app_context():
        estate_id = _first(Estate).id  # still has buildings: RESTRICT
    before = _log_count(app)
    response = admin_client.post(f"/estate/delete/{estate_id}", follow_redirects=True)
    assert "该记录仍被其他数据引用" in response.get_data(as_text=True)
    assert _log_count(app) == before


def test_a_rolled_back_change_takes_its_record_with_it(app, ctx):
    before = _log_count(app)
    unit = _first(Unit)
    unit.status = "vacant" if unit.status != "vacant" else "rented"
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == before + 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == before


def test_the_excel_import_records_each_created_row(app, admin_client):
    from tests.test_excel import UNIT_IMPORT_HEADERS, a_building, unit_row, upload, xlsx

    estate_name, code, *_ = a_building(app)
    rows = [unit_row(estate_name, code, room) for room in ("T-0101", "T-0102", "T-0103")]
    response = upload(admin_client, "unit", xlsx(UNIT_IMPORT_HEADERS, rows), dry_run=False)
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    logs = [log for log in _logs(app, "unit", action="create") if json.loads(log.new_values)["room_no"].startswith("T-01")]
    assert sorted(json.loads(log.new_values)["room_no"] for log in logs) == ["T-0101", "T-0102", "T-0103"]
    assert {log.username for log in logs} == {"admin"}


def test_writes_outside_a_request_are_recorded_as_the_command_line(app):
    with app.app_context():
        unit = _first(Unit)
        pk, unit.certificate_no = unit.id, "京(2026)朝阳区不动产权第0000001号"
        db.session.commit()
    (log,) = _logs(app, "unit", pk, "update")
    assert (log.username, log.user_id, log.ip) == ("命令行", None, "")
    assert json.loads(log.new_values) == {"certificate_no": "京(2026)朝阳区不动产权第0000001号"}


def test_the_demo_bulk_load_is_recorded_once_per_table(app, ctx):
    units = db.session.scalar(select(func.count()).select_from(Unit))
    (log,) = db.session.execute(
        select(AuditLog).where(AuditLog.table_name == "unit", AuditLog.action == "bulk")
    ).scalars()
    assert json.loads(log.new_values) == {"count": units}
    assert log.username == "命令行" and log.summary == f"演示数据 {units} 条"


def test_orm_bulk_statements_leave_a_summary_record(app, ctx):
    pk = _first(Unit).id
    db.session.execute(update(Unit).where(Unit.id == pk).values(status="vacant"))
    db.session.commit()
    log = db.session.execute(
        select(AuditLog).where(AuditLog.table_name == "unit", AuditLog.action == "update").order_by(AuditLog.id.desc())
    ).scalars().first()
    assert log.summary == "批量修改 1 条" and log.record_id is None


def test_a_workflow_transition_is_recorded_with_its_comment(app, ctx):
    unit = _first(Unit)
    audit.record_transition(db.session, unit, "draft", "approved", "材料齐全")
    db.session.commit()
    # the demo's repair-fund applications have transitions of their own
    log = db.session.execute(select(AuditLog).where(AuditLog.action == "transition",
                                                    AuditLog.table_name == "unit")).scalar_one()
    assert (log.table_name, log.record_id, log.estate_id) == ("unit", str(unit.id), unit.estate_id)
    assert json.loads(log.new_values) == {"from": "draft", "to": "approved", "comment": "材料齐全"}


def test_a_transition_reads_with_the_state_labels_on_the_history_page(app, admin_client):
    with app.app_context():
        unit = _first(Unit)
        pk = unit.id
        audit.record_transition(db.session, unit, "vacant", "rented", "已出租")
        db.session.commit()
    page = admin_client.get(f"/unit/history/{pk}").get_data(as_text=True)
    assert "状态变更" in page and "房屋状态" in page and "空置" in page and "出租" in page and "已出租" in page
    assert english_words(page) == set()


# -- the values ------------------------------------------------------------------------

def test_values_are_json_with_exact_decimals_iso_dates_and_real_booleans(app, admin_client):
    pk = _new_unit(app, admin_client)
    (log,) = _logs(app, "unit", pk, "create")
    assert '"floor_area": "89.50"' in log.new_values
    new = json.loads(log.new_values)
    assert new["floor_area"] == "89.50" and new["delivered_on"] == "2024-03-01"

    with app.app_context():
        building = _first(Building)
        building_id, elevator = building.id, building.has_elevator
        building.has_elevator = not elevator
        db.session.commit()
    (log,) = _logs(app, "building", building_id, "update")
    assert json.loads(log.old_values) == {"has_elevator": elevator}
    assert json.loads(log.new_values) == {"has_elevator": not elevator}


def test_chinese_text_is_stored_readably_not_escaped(app, admin_client):
    pk = _new_unit(app, admin_client)
    admin_client.put(f"/api/v1/unit/{pk}", json={"certificate_no": "京房权证字第1号"})
    (log,) = _logs(app, "unit", pk, "update")
    assert "京房权证字第1号" in log.new_values


def test_personal_data_is_kept_masked_in_the_log(app, admin_client):
    with app.app_context():
        estate_id = _first(Estate).id
    response = admin_client.post("/api/v1/owner/", json={
        "estate": estate_id, "name": "测试业主", "id_type": "resident_id",
        "id_number": "11010519491231002X", "mobile": "13812345678",
    })
    assert response.status_code == 201, response.get_json()
    (log,) = _logs(app, "owner", response.get_json()["id"])
    new = json.loads(log.new_values)
    assert new["id_number"] == "110105********002X" and new["mobile"] == "138****5678"
    assert new["name"] == "测试业主"


def test_records_carry_the_estate_found_along_the_scope_path(app, admin_client):
    with app.app_context():
        unit = _first(Unit)
        unit_id, estate_id = unit.id, unit.estate_id
    response = admin_client.post("/api/v1/resident/", json={"unit": unit_id, "name": "测试住户", "relation": "tenant"})
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    assert admin_client.delete(f"/api/v1/resident/{pk}").status_code == 200
    logs = _logs(app, "resident", pk)
    assert [(log.action, log.estate_id) for log in logs] == [("create", estate_id), ("delete", estate_id)]


def test_the_log_outlives_users_and_rows_no_foreign_keys():
    assert AuditLog.__table__.foreign_keys == set()


# -- append-only -------------------------------------------------------------------------

@pytest.mark.parametrize("method, url", [
    ("get", "/audit_log/add"),
    ("post", "/audit_log/add"),
    ("get", "/audit_log/edit/{pk}"),
    ("post", "/audit_log/edit/{pk}"),
    ("get", "/audit_log/delete/{pk}"),
    ("post", "/audit_log/delete/{pk}"),
    ("post", "/api/v1/audit_log/"),
    ("put", "/api/v1/audit_log/{pk}"),
    ("delete", "/api/v1/audit_log/{pk}"),
])
def test_the_log_has_no_write_routes_even_for_the_admin(app, admin_client, method, url):
    (log, *_) = _logs(app)
    response = getattr(admin_client, method)(url.format(pk=log.id), json={"username": "x"})
    assert response.status_code in (404, 405)
    (again, *_) = _logs(app)
    assert again.username == log.username


def test_the_admin_reads_the_log(app, admin_client):
    (log, *_) = _logs(app)
    assert admin_client.get("/audit_log/list/").status_code == 200
    assert admin_client.get(f"/audit_log/show/{log.id}").status_code == 200
    assert admin_client.get(f"/api/v1/audit_log/{log.id}").status_code == 200


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET username = 'x' WHERE id = :pk",
    "DELETE FROM audit_log WHERE id = :pk",
])
def test_raw_sql_cannot_change_or_delete_a_record(app, ctx, statement):
    log = db.session.execute(select(AuditLog).order_by(AuditLog.id)).scalars().first()
    pk, username = log.id, log.username
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement), {"pk": pk})
    db.session.rollback()
    with db.engine.connect() as connection, pytest.raises(DatabaseError, match="append-only"):
        connection.execute(text(statement), {"pk": pk})
    assert db.session.get(AuditLog, pk).username == username


def test_the_orm_refuses_to_change_a_record(app, ctx):
    log = db.session.execute(select(AuditLog).order_by(AuditLog.id)).scalars().first()
    log.username = "x"
    with pytest.raises(audit.AppendOnly, match="操作日志只能追加，不能修改或删除"):
        db.session.commit()
    db.session.rollback()


def test_the_orm_refuses_to_delete_a_record(app, ctx):
    log = db.session.execute(select(AuditLog).order_by(AuditLog.id)).scalars().first()
    db.session.delete(log)
    with pytest.raises(audit.AppendOnly):
        db.session.commit()
    db.session.rollback()


def test_orm_bulk_updates_of_the_log_are_refused(app, ctx):
    with pytest.raises(audit.AppendOnly):
        db.session.execute(update(AuditLog).values(username="x"))
    db.session.rollback()


# -- 变更历史 ------------------------------------------------------------------------------

def test_the_history_page_lists_a_units_changes_in_chinese(app, admin_client):
    pk = _new_unit(app, admin_client)
    admin_client.put(f"/api/v1/unit/{pk}", json={"status": "rented"})

    response = admin_client.get(f"/unit/history/{pk}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "房屋变更历史" in page
    assert "新增" in page and "修改" in page
    assert "房屋状态" in page and "空置" in page and "出租" in page
    assert "89.50" in page and "127.0.0.1" in page
    assert page.index("修改") < page.index("新增"), "newest first"
    assert ">vacant<" not in page and "floor_area" not in page
    assert english_words(page, {"admin"}) == set()


def test_history_times_are_beijing_time_to_the_second(app, admin_client):
    pk = _new_unit(app, admin_client)
    (log,) = _logs(app, "unit", pk)
    with app.app_context():
        stored = db.session.execute(text("SELECT created_at FROM audit_log WHERE id = :id"), {"id": log.id}).scalar()
    page = admin_client.get(f"/unit/history/{pk}").get_data(as_text=True)
    shown = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", page).group(0)
    utc = datetime.fromisoformat(str(stored)).replace(microsecond=0)
    assert shown == (utc + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")


def test_the_history_page_of_a_missing_record_is_404(admin_client):
    assert admin_client.get("/unit/history/99999999").status_code == 404


def test_a_record_without_changes_has_an_empty_history(app, admin_client):
    with app.app_context():
        pk = _first(Unit).id
    response = admin_client.get(f"/unit/history/{pk}")
    assert response.status_code == 200
    assert "暂无变更记录" in response.get_data(as_text=True)


def _hand_out_again(app, table: str, pk: int) -> None:
    """SQLite gives the highest id out again after its row is deleted; PostgreSQL's
    sequence does not, unless moved back (as after restoring an older dump)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {pk - 1})"))
            db.session.commit()
        db.session.remove()


def test_a_reused_id_does_not_inherit_the_history_of_a_deleted_row(app, admin_client):
    pk = _new_unit(app, admin_client, "9-0401")
    admin_client.delete(f"/api/v1/unit/{pk}")
    _hand_out_again(app, "unit", pk)
    assert _new_unit(app, admin_client, "9-0402") == pk
    page = admin_client.get(f"/unit/history/{pk}").get_data(as_text=True)
    assert "9-0402" in page and "9-0401" not in page


def test_the_show_page_links_to_the_history(app, admin_client):
    with app.app_context():
        pk = _first(Unit).id
    page = admin_client.get(f"/unit/show/{pk}").get_data(as_text=True)
    assert f'href="/unit/history/{pk}"' in page and "变更历史" in page


def test_the_log_show_page_reads_the_values_field_by_field(app, admin_client):
    pk = _new_unit(app, admin_client)
    admin_client.put(f"/api/v1/unit/{pk}", json={"status": "rented"})
    (log,) = _logs(app, "unit", pk, "update")
    page = admin_client.get(f"/audit_log/show/{log.id}").get_data(as_text=True)
    assert "变更内容" in page and "房屋状态" in page and "空置" in page and "出租" in page
    assert '"status"' not in page and "/audit_log/history/" not in page
    assert english_words(page, {"admin"}) == set()


# -- who reads what ------------------------------------------------------------------------

def _estate_of(app, username: str) -> int:
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=username)
        return db.session.execute(select(UserScope.estate_id).where(UserScope.user_id == user.id)).scalar_one()


def _unit_in(app, estate_id: int, inside: bool) -> int:
    with app.app_context():
        where = Unit.estate_id == estate_id if inside else Unit.estate_id != estate_id
        return _first(Unit, where).id


def _change_units_in_two_estates(app, admin_client) -> tuple[int, int]:
    """(unit of committee_a's estate, unit of another estate), each changed once."""
    estate = _estate_of(app, "committee_a")
    mine, other = _unit_in(app, estate, True), _unit_in(app, estate, False)
    for pk in (mine, other):
        assert admin_client.put(f"/api/v1/unit/{pk}", json={"certificate_no": f"测试{pk}"}).status_code == 200
    admin_client.post("/logout/")
    return mine, other


def test_a_committee_member_opens_the_history_of_own_estate_units_only(app, client):
    login(client, "admin")
    mine, other = _change_units_in_two_estates(app, client)
    login(client, "committee_a")
    assert client.get(f"/unit/history/{mine}").status_code == 200
    assert "修改" in client.get(f"/unit/history/{mine}").get_data(as_text=True)
    # another estate's unit answers exactly like a missing one
    assert client.get(f"/unit/history/{other}").status_code == 404


def _visible_record_ids(client, table: str = "unit") -> set[str]:
    query = json.dumps({"filters": [{"col": "table_label", "opr": "eq", "value": "房屋"}], "page_size": 100})
    response = client.get(f"/api/v1/audit_log/?q={query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return {row["record_id"] for row in response.get_json()["result"]}


def test_a_committee_member_reads_the_log_of_own_estate_only(app, client):
    login(client, "admin")
    mine, other = _change_units_in_two_estates(app, client)
    login(client, "committee_a")
    assert client.get("/audit_log/list/").status_code == 200
    seen = _visible_record_ids(client)
    assert str(mine) in seen and str(other) not in seen
    assert None not in seen, "bulk records of all estates are the admin's"


def test_an_official_reads_the_log_of_the_whole_jurisdiction(app, client):
    login(client, "admin")
    mine, other = _change_units_in_two_estates(app, client)
    login(client, "official_jd")
    assert client.get("/audit_log/list/").status_code == 200
    seen = _visible_record_ids(client)
    assert {str(mine), str(other)} <= seen


def test_an_official_reads_but_cannot_write_the_log(app, client):
    login(client, "official_jd")
    (log, *_) = _logs(app)
    assert client.put(f"/api/v1/audit_log/{log.id}", json={"username": "x"}).status_code in (404, 405)
    assert client.get("/audit_log/list/").status_code == 200


# -- accounts and grants (FAB's own tables) ---------------------------------------------------

STRONG_PASSWORD = "Str0ng&Pass2026"


def _account(app, username: str):
    with app.app_context():
        user = app.appbuilder.sm.find_user(username)
        return user.id, [role.id for role in user.roles]


def _role_id(app, name: str) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_role(name).id


def test_creating_an_account_records_who_created_it_and_its_roles_without_the_hash(app, admin_client):
    answer = admin_client.post("/users/add", data={
        "first_name": "小明", "last_name": "张", "username": "clerk_new", "email": "clerk_new@example.com",
        "active": "y", "roles": [str(_role_id(app, "物业员工"))], "password": STRONG_PASSWORD,
        "conf_password": STRONG_PASSWORD})
    assert answer.status_code == 302
    user_id, _roles = _account(app, "clerk_new")
    [log] = _logs(app, "ab_user", user_id)
    assert (log.action, log.username, log.table_label) == ("create", "admin", "用户账号")
    assert log.new == {"用户名": "clerk_new", "名": "小明", "姓": "张", "电子邮箱": "clerk_new@example.com",
                       "启用": "是", "密码": "已设置", "角色": "物业员工"}
    assert "scrypt" not in (log.new_values or "") and "pbkdf2" not in (log.new_values or "")


def test_creating_a_group_records_its_roles_and_its_members_by_name(app, admin_client):
    member_id, _roles = _account(app, "committee_a")  # 赵委员
    answer = admin_client.post("/groups/add", data={
        "name": "经理组", "label": "经理组", "description": "", "roles": [str(_role_id(app, "物业经理"))],
        "users": [str(member_id)]})
    assert answer.status_code == 302
    group_id = in_db(app, lambda: app.appbuilder.sm.find_group("经理组").id)
    [log] = _logs(app, "ab_group", group_id)
    assert (log.action, log.username, log.table_label) == ("create", "admin", "用户组")
    assert log.new == {"名称": "经理组", "显示名称": "经理组", "角色": "物业经理", "成员": "赵委员"}


def test_giving_and_taking_a_role_records_both(app, admin_client):
    user_id, _roles = _account(app, "staff_a")
    with app.app_context():
        user = app.appbuilder.sm.find_user("staff_a")
        names = {"first_name": user.first_name, "last_name": user.last_name, "email": user.email}
    admin_client.post(f"/users/edit/{user_id}", data={
        **names, "username": "staff_a", "active": "y", "roles": [str(_role_id(app, "物业经理"))]})
    [log] = _logs(app, "ab_user", user_id, "update")
    assert log.username == "admin"
    assert log.new["角色"] == "增加 物业经理" and log.old["角色"] == "移除 物业员工"


def test_deactivating_an_account_is_recorded(app, ctx):
    from flask import g

    user = app.appbuilder.sm.find_user("staff_a")
    with app.test_request_context():
        g.user = app.appbuilder.sm.find_user("admin")
        user.active = False
        db.session.commit()
    [log] = [r for r in _logs(app, "ab_user", user.id, "update")]
    assert (log.username, log.old, log.new) == ("admin", {"启用": "是"}, {"启用": "否"})


def test_a_password_reset_is_recorded_as_changed_and_never_with_the_hash(app, ctx):
    user = app.appbuilder.sm.find_user("staff_a")
    app.appbuilder.sm.reset_password(user.id, STRONG_PASSWORD)
    [log] = _logs(app, "ab_user", user.id, "update")
    assert log.new == {"密码": "已修改"} and log.old == {"密码": ""}
    assert user.password not in (log.old_values or "") + (log.new_values or "")


def test_a_login_writes_no_account_record(app, client):
    before = len(_logs(app, "ab_user"))
    login(client, "staff_a")
    login(app.test_client(), "staff_a", "wrong-password")
    assert len(_logs(app, "ab_user")) == before


def test_an_account_record_reads_in_chinese_on_the_log_page(app, admin_client):
    user_id, _roles = _account(app, "staff_a")
    with app.app_context():
        app.appbuilder.sm.reset_password(user_id, STRONG_PASSWORD)
    [log] = _logs(app, "ab_user", user_id, "update")
    page = admin_client.get(f"/audit_log/show/{log.id}").get_data(as_text=True)
    assert "用户账号" in page and "密码" in page and "已修改" in page
    assert not english_words(page)
