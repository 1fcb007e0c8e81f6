"""An account's 审计信息 (创建时间, 创建人, 修改时间, 修改人) on the product's clock.

The tests' server runs in UTC, eight hours behind Beijing (tests/conftest.py): a stamp taken
from the server's clock is eight hours off.
"""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import update

from app.extensions import db
from models import clock
from tests.pages import visible_text
from tests.support import in_db

NEW_ACCOUNT = {"first_name": "小明", "last_name": "张", "username": "clerk_new", "email": "clerk_new@example.com",
               "active": "y", "password": "Xq7#mvL2!pz9", "conf_password": "Xq7#mvL2!pz9"}


def _account(app, username: str) -> tuple[dt.datetime, str | None, dt.datetime, str | None]:
    def read():
        user = app.appbuilder.sm.find_user(username)
        return (user.created_on, user.created_by and user.created_by.username,
                user.changed_on, user.changed_by and user.changed_by.username)

    return in_db(app, read)


def _close_to_beijing_now(moment: dt.datetime) -> bool:
    return abs(moment - clock.local_now()) < dt.timedelta(minutes=1)


def _role_id(app, name: str) -> int:
    return in_db(app, lambda: app.appbuilder.sm.find_role(name).id)


def test_an_account_created_by_the_administrator_is_stamped_in_beijing_time_with_its_creator(app, admin_client):
    answer = admin_client.post("/users/add", data={**NEW_ACCOUNT, "roles": [str(_role_id(app, "物业员工"))]})
    assert answer.status_code == 302
    created_on, created_by, changed_on, _changed_by = _account(app, "clerk_new")
    assert _close_to_beijing_now(created_on) and created_by == "admin"
    assert changed_on == created_on


def test_changing_an_account_moves_its_change_time_and_names_who_changed_it(app, admin_client):
    def backdate() -> int:
        user = app.appbuilder.sm.find_user("staff_a")
        user.changed_on, user.changed_by_fk = dt.datetime(2026, 1, 1, 9, 0), None
        db.session.commit()
        return user.id

    user_id = in_db(app, backdate)
    admin_client.post(f"/users/edit/{user_id}", data={
        "first_name": "员工", "last_name": "李", "email": "staff_a@example.com", "username": "staff_a",
        "active": "y", "roles": [str(_role_id(app, "物业经理"))]})
    _created_on, _created_by, changed_on, changed_by = _account(app, "staff_a")
    assert _close_to_beijing_now(changed_on) and changed_by == "admin"


def test_the_account_page_shows_its_times_to_the_minute_and_no_none(app, admin_client):
    def stamp() -> int:
        user = app.appbuilder.sm.find_user("staff_a")  # a demo account: created from the command line
        user.last_login = dt.datetime(2026, 11, 30, 8, 5, 42)
        db.session.commit()
        return user.id

    user_id = in_db(app, stamp)
    text = visible_text(admin_client.get(f"/users/show/{user_id}").get_data(as_text=True))
    assert "2026-11-30 08:05" in text and "08:05:42" not in text
    assert "None" not in text


# -- nobody locks the administrators out --------------------------------------------------------

ADMIN_FORM = {"last_name": "张", "first_name": "管理员", "username": "admin", "email": "admin@example.com"}


def _admin_state(app) -> tuple[bool, set[str]]:
    def read():
        from models.access import role_names

        user = app.appbuilder.sm.find_user("admin")
        return (user.active, set(role_names(user))) if user else (False, set())

    return in_db(app, read)


def _flashes(client) -> str:
    return visible_text(client.get("/users/list/").get_data(as_text=True))


def test_an_administrator_cannot_delete_their_own_account(app, admin_client):
    admin_id = in_db(app, lambda: app.appbuilder.sm.find_user("admin").id)
    admin_client.get("/users/list/")
    answer = admin_client.post(f"/users/delete/{admin_id}")
    assert answer.headers["Location"].endswith("/users/list/")  # back where the click was made
    assert _admin_state(app) == (True, {"系统管理员"})
    assert "不能删除自己正在使用的账号" in _flashes(admin_client)


def test_an_account_that_created_and_changed_others_can_be_deleted_and_they_keep_theirs(app, admin_client):
    def made_by_staff() -> int:
        staff, manager = app.appbuilder.sm.find_user("staff_a"), app.appbuilder.sm.find_user("manager_a")
        # as if staff_a had been an administrator who created manager_a's account and changed it since
        db.session.execute(update(User).where(User.id == manager.id)
                           .values(created_by_fk=staff.id, changed_by_fk=staff.id))
        db.session.commit()
        return staff.id

    admin_client.post(f"/users/delete/{in_db(app, made_by_staff)}")

    assert in_db(app, lambda: app.appbuilder.sm.find_user("staff_a")) is None
    _created_on, created_by, _changed_on, changed_by = _account(app, "manager_a")
    assert created_by is None and changed_by is None  # 创建人, 修改人 now blank


def test_an_administrator_cannot_deactivate_their_own_account(app, admin_client):
    admin_id = in_db(app, lambda: app.appbuilder.sm.find_user("admin").id)
    admin_client.post(f"/users/edit/{admin_id}", data={**ADMIN_FORM, "roles": [str(_role_id(app, "系统管理员"))]})
    assert _admin_state(app) == (True, {"系统管理员"})
    assert "不能停用自己正在使用的账号" in _flashes(admin_client)


def test_the_only_administrator_cannot_give_up_the_role(app, admin_client):
    admin_id = in_db(app, lambda: app.appbuilder.sm.find_user("admin").id)
    admin_client.post(f"/users/edit/{admin_id}", data={
        **ADMIN_FORM, "active": "y", "roles": [str(_role_id(app, "物业经理"))]})
    assert _admin_state(app) == (True, {"系统管理员"})
    assert "保存后将没有可用的系统管理员账号" in _flashes(admin_client)


def test_with_a_second_administrator_one_may_give_up_the_role(app, admin_client):
    admin_client.post("/users/add", data={**NEW_ACCOUNT, "roles": [str(_role_id(app, "系统管理员"))]})
    admin_id = in_db(app, lambda: app.appbuilder.sm.find_user("admin").id)
    admin_client.post(f"/users/edit/{admin_id}", data={
        **ADMIN_FORM, "active": "y", "roles": [str(_role_id(app, "物业经理"))]})
    assert _admin_state(app) == (True, {"物业经理"})


def test_a_group_change_that_would_leave_no_administrator_is_refused(app, admin_client):
    def administrators_through_a_group() -> int:
        sm = app.appbuilder.sm
        admin, role = sm.find_user("admin"), sm.find_role("系统管理员")
        group = sm.add_group("管理员组", "管理员组", "", roles=[role], users=[admin])
        admin.roles = [sm.find_role("街道监督员")]
        db.session.commit()
        return group.id

    group_id = in_db(app, administrators_through_a_group)
    admin_id = in_db(app, lambda: app.appbuilder.sm.find_user("admin").id)
    admin_client.post(f"/groups/edit/{group_id}", data={
        "name": "管理员组", "label": "管理员组", "description": "", "users": [str(admin_id)],
        "roles": [str(_role_id(app, "物业经理"))]})
    assert _admin_state(app) == (True, {"系统管理员", "街道监督员"})
    assert "保存后将没有可用的系统管理员账号" in _flashes(admin_client)


def test_every_password_form_states_the_rule_it_enforces_before_the_first_try(app, admin_client):
    from app.security import PASSWORD_RULE

    rule = PASSWORD_RULE.removeprefix("密码")
    for url in ("/users/add", "/resetmypassword/form", "/resetpassword/form?pk=2"):
        text = visible_text(admin_client.get(url).get_data(as_text=True))
        assert rule in text and "不会替您检查" not in text, url


def test_the_name_forms_ask_for_the_family_name_first(app, admin_client):
    for url in ("/users/add", "/users/edit/2", "/userinfoeditview/form"):
        text = visible_text(admin_client.get(url).get_data(as_text=True))
        assert text.index("请填写用户的姓氏") < text.index("请填写用户的名字"), url
