"""Web hardening (app/hardening.py, app/security.py), each rule attacked from outside."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask, session
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from app import hardening
from app.extensions import db
from app.security import ACCOUNT_LOCKED, PASSWORD_RULE, password_complexity
from models.estate import Building, Unit
from models.settings import Settings
from tests.support import in_db, login, record_count

STRONG = "Strong#Pass9"


# --- helpers ------------------------------------------------------------------------

@pytest.fixture()
def csrf_on(app):
    """CSRF is off in the shared test app; these tests switch it on and restore it."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture(scope="module")
def limited_app(app):
    """A second app on the same test database, with login rate limiting on (as in production)."""
    from app import create_app

    return create_app({
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": True,
        "AUTH_RATE_LIMIT": "10 per minute",
        "PERSONAL_LOOKUP_RATE_LIMIT": "2 per hour",
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool},
    })


@pytest.fixture()
def limited(limited_app):
    limited_app.appbuilder.sm.limiter.reset()
    return limited_app


def token_from(html: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def page_token(client, url: str = "/unit/list/") -> str:
    return token_from(client.get(url).get_data(as_text=True))


def text(response) -> str:
    return response.get_data(as_text=True)


def logged_in(client) -> bool:
    return client.get("/unit/list/").status_code == 200


def first_unit(app) -> Unit:
    with app.app_context():
        unit = db.session.execute(select(Unit).order_by(Unit.id).limit(1)).scalar_one()
        db.session.expunge(unit)
        return unit


def unit_area(app, pk: int) -> str | None:
    with app.app_context():
        unit = db.session.get(Unit, pk)
        return None if unit is None else str(unit.floor_area)


def unit_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Unit)).scalar_one()


def edit_payload(unit: Unit, floor_area: str) -> dict:
    return {"building": unit.building_id, "entrance": unit.entrance, "floor": unit.floor,
            "room_no": unit.room_no, "floor_area": floor_area, "unit_type": unit.unit_type,
            "usage": unit.usage, "status": unit.status}


def new_unit_payload(app) -> dict:
    with app.app_context():
        building = db.session.execute(select(Building).order_by(Building.id).limit(1)).scalar_one()
        return {"building": building.id, "entrance": 1, "floor": 3, "room_no": "9-0399",
                "floor_area": "89.50", "unit_type": "residence", "usage": "living", "status": "vacant"}


def new_unit(app, client) -> int:
    response = client.post("/api/v1/unit/", json=new_unit_payload(app))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def user(app, username: str):
    with app.app_context():
        found = app.appbuilder.sm.find_user(username)
        db.session.expunge(found)
        return found


def fail_count(app, username: str) -> int:
    return user(app, username).fail_login_count or 0


def rest_login(client, username: str, password: str, **kwargs):
    return client.post("/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db", "refresh": False,
    }, **kwargs)


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "no session cookie set"
    return cookies[-1]


# --- 1. CSRF ------------------------------------------------------------------------

def test_csrf_login_without_token_is_refused(app, client, csrf_on):
    response = login(client, "admin")
    assert response.status_code == 400
    assert "页面已过期" in text(response)
    assert not logged_in(client)


def test_csrf_add_without_token_is_refused_and_adds_nothing(app, admin_client, csrf_on):
    before = unit_count(app)
    response = admin_client.post("/unit/add", data=new_unit_payload(app))
    assert response.status_code == 400
    assert "刷新页面" in text(response)
    assert unit_count(app) == before


def test_csrf_edit_without_token_is_refused_and_changes_nothing(app, admin_client, csrf_on):
    unit = first_unit(app)
    response = admin_client.post(f"/unit/edit/{unit.id}", data=edit_payload(unit, "123.45"))
    assert response.status_code == 400
    assert unit_area(app, unit.id) == str(unit.floor_area)


def test_csrf_delete_without_token_is_refused_and_deletes_nothing(app, admin_client, csrf_on):
    unit = first_unit(app)
    response = admin_client.post(f"/unit/delete/{unit.id}")
    assert response.status_code == 400
    assert unit_area(app, unit.id) is not None


def test_csrf_import_without_token_is_refused(app, admin_client, csrf_on):
    before = unit_count(app)
    response = admin_client.post(
        "/unit/import/", data={"dry_run": "0", "file": (io.BytesIO(b"PK\x03\x04"), "units.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "页面已过期" in text(response)
    assert unit_count(app) == before


def test_csrf_action_post_without_token_is_refused(app, admin_client, csrf_on):
    staff = user(app, "staff_a")
    response = admin_client.post("/users/action_post", data={"action": "unlock", "rowid": staff.id})
    assert response.status_code == 400


def test_csrf_form_with_token_is_accepted(app, admin_client, csrf_on):
    unit = first_unit(app)
    token = page_token(admin_client, f"/unit/edit/{unit.id}")
    response = admin_client.post(f"/unit/edit/{unit.id}", data=edit_payload(unit, "123.45") | {"csrf_token": token})
    assert response.status_code == 302
    assert unit_area(app, unit.id) == "123.45"


def test_csrf_rest_write_with_session_cookie_needs_the_token(app, admin_client, csrf_on):
    unit = first_unit(app)
    response = admin_client.put(f"/api/v1/unit/{unit.id}", json={"floor_area": "123.45"})
    assert response.status_code == 400
    assert "页面已过期" in response.get_json()["message"]
    assert unit_area(app, unit.id) == str(unit.floor_area)
    assert admin_client.delete(f"/api/v1/unit/{unit.id}").status_code == 400
    assert admin_client.post("/api/v1/unit/", json=new_unit_payload(app)).status_code == 400


def test_csrf_rest_write_with_session_cookie_and_token_header_is_accepted(app, admin_client, csrf_on):
    unit = first_unit(app)
    token = page_token(admin_client)
    response = admin_client.put(f"/api/v1/unit/{unit.id}", json={"floor_area": "123.45"},
                                headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_json()
    assert unit_area(app, unit.id) == "123.45"


def test_csrf_rest_write_with_jwt_is_exempt(app, csrf_on):
    client = app.test_client()
    response = rest_login(client, "admin", app.config["DEMO_PASSWORD"])
    assert response.status_code == 200, response.get_json()
    bearer = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    response = client.put("/api/v1/settings/1", json={"lockout_threshold": 7}, headers=bearer)
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        assert Settings.current(db.session).lockout_threshold == 7


def test_csrf_rest_login_needs_no_token_even_with_a_session(app, admin_client, csrf_on):
    assert rest_login(admin_client, "admin", app.config["DEMO_PASSWORD"]).status_code == 200


def test_csrf_another_users_jwt_does_not_exempt_a_session_request(app, admin_client, csrf_on):
    token = rest_login(app.test_client(), "manager_a", app.config["DEMO_PASSWORD"]).get_json()["access_token"]
    unit = first_unit(app)
    response = admin_client.put(f"/api/v1/unit/{unit.id}", json={"floor_area": "123.45"},
                                headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert unit_area(app, unit.id) == str(unit.floor_area)


def test_csrf_a_forged_bearer_token_does_not_exempt_a_session_request(app, admin_client, csrf_on):
    unit = first_unit(app)
    response = admin_client.put(f"/api/v1/unit/{unit.id}", json={"floor_area": "123.45"},
                                headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 400
    assert unit_area(app, unit.id) == str(unit.floor_area)


# --- 2. GET never changes data ------------------------------------------------------

def test_get_on_delete_is_refused_and_deletes_nothing(app, admin_client):
    unit = first_unit(app)
    response = admin_client.get(f"/unit/delete/{unit.id}")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert "不支持的操作" in text(response)
    assert unit_area(app, unit.id) is not None


def test_get_on_every_delete_route_is_refused(app, admin_client):
    routes = [r for r in app.url_map.iter_rules() if r.endpoint.endswith(".delete") and "GET" in r.methods]
    assert routes
    for rule in routes:
        url = rule.rule.replace("<pk>", "1")
        assert admin_client.get(url).status_code == 405, url


def test_get_on_an_action_is_refused(app, admin_client):
    for _ in range(2):
        login(app.test_client(), "staff_a", "wrong-password")
    staff = user(app, "staff_a")
    response = admin_client.get(f"/users/action/unlock/{staff.id}")
    assert response.status_code == 405
    assert fail_count(app, "staff_a") == 2


def test_post_delete_with_token_deletes(app, admin_client, csrf_on):
    token = page_token(admin_client)
    app.config["WTF_CSRF_ENABLED"] = False
    pk = new_unit(app, admin_client)
    app.config["WTF_CSRF_ENABLED"] = True
    response = admin_client.post(f"/unit/delete/{pk}", data={"csrf_token": token})
    assert response.status_code == 302
    assert unit_area(app, pk) is None


def test_delete_buttons_post_the_confirm_form_with_the_token(app, admin_client, csrf_on):
    html = text(admin_client.get("/visitor/list/"))  # nothing refers to a visitor: every row may be deleted
    form = re.search(r'<form id="modal-confirm-form"[^>]*>(.*?)</form>', html, re.S)
    assert form and 'method="POST"' in form.group(0)
    assert 'name="csrf_token"' in form.group(1)
    assert 'data-delete="/visitor/delete/' in html
    assert 'href="/visitor/delete/' not in html  # no GET link to a delete
    script = text(admin_client.get("/static/js/ab_actions.js"))
    assert "$('#modal-confirm-form')" in script and "a[data-delete]" in script


def test_a_get_on_logout_signs_nobody_out_and_asks_first(app, admin_client):
    page = text(admin_client.get("/logout/"))
    assert "确定要退出登录吗" in page and 'action="/logout/"' in page
    assert logged_in(admin_client)


def test_logout_without_the_csrf_token_is_refused_and_keeps_the_session(app, admin_client, csrf_on):
    assert admin_client.post("/logout/").status_code == 400
    assert logged_in(admin_client)


def test_logout_from_the_menu_posts_the_pages_token_and_signs_out(app, admin_client, csrf_on):
    page = text(admin_client.get("/unit/list/"))
    menu_form = re.search(r'<form method="post" action="/logout/" class="navbar-logout">.*?</form>', page, re.S)
    assert menu_form, "退出 is a form in the user menu"
    response = admin_client.post("/logout/", data={"csrf_token": token_from(menu_form.group(0))})
    assert response.status_code == 302
    assert not logged_in(admin_client)


# --- 3. login rate limit ------------------------------------------------------------

def test_rate_limit_login_form_11th_attempt_is_429(limited):
    client = limited.test_client()
    for _ in range(10):
        assert login(client, "admin", "wrong-password").status_code == 302
    response = login(client, "admin")
    assert response.status_code == 429
    assert "操作过于频繁" in text(response)
    assert not logged_in(client)


def test_rate_limit_rest_login_11th_attempt_is_429(limited):
    client = limited.test_client()
    for _ in range(10):
        assert rest_login(client, "admin", "wrong-password").status_code == 401
    response = rest_login(client, "admin", limited.config["DEMO_PASSWORD"])
    assert response.status_code == 429
    assert "请求次数过多" in response.get_json()["message"]


def test_rate_limit_form_and_rest_share_one_limit(limited):
    client = limited.test_client()
    for _ in range(5):
        login(client, "manager_a", "wrong-password")
        rest_login(client, "staff_a", "wrong-password")
    assert login(client, "committee_a").status_code == 429


def test_rate_limit_counts_failures_not_successes(limited):
    """Colleagues behind one office address may all log in."""
    client = limited.test_client()
    for _ in range(15):
        assert login(client, "admin").status_code == 302
        client.post("/logout/")
    assert login(client, "admin").status_code == 302


def test_rate_limit_ignores_spoofed_forwarded_for(limited):
    client = limited.test_client()
    for i in range(10):
        client.post("/login/", data={"username": "admin", "password": "wrong"},
                    headers={"X-Forwarded-For": f"198.51.100.{i}"})
    response = client.post("/login/", data={"username": "admin", "password": "wrong"},
                           headers={"X-Forwarded-For": "198.51.100.99"})
    assert response.status_code == 429


def test_rate_limit_is_on_by_default_outside_tests():
    production = Flask("production")
    production.config.update(RATELIMIT_ENABLED=None, TESTING=False)
    hardening.configure(production)
    assert production.config["RATELIMIT_ENABLED"] is True
    from app.config import Config

    assert Config.AUTH_RATE_LIMITED and Config.AUTH_RATE_LIMIT == "10 per minute"


def _committee_owner_mobile(app) -> str:
    """A mobile number of an owner in committee_a's estate."""
    from models.access import UserScope
    from models.people import Owner

    def read():
        member = app.appbuilder.sm.find_user("committee_a")
        estate = db.session.scalar(select(UserScope.estate_id).where(UserScope.user_id == member.id))
        return db.session.scalar(select(Owner.mobile).where(Owner.estate_id == estate, Owner.mobile.is_not(None))
                                 .order_by(Owner.id).limit(1))

    return in_db(app, read)


def _lookup_rows(app) -> int:
    from models.audit import AuditLog

    return in_db(app, lambda: db.session.scalar(select(func.count()).where(AuditLog.action == "lookup")))


def test_whole_number_lookups_on_the_list_stop_at_the_limit_and_say_why(limited):
    mobile = _committee_owner_mobile(limited)
    member = limited.test_client()
    login(member, "committee_a")
    index = next(i for i, f in enumerate(_owner_filters(limited, "mobile")) if f.arg_name == "eq")
    url = f"/owner/list/?_flt_{index}_mobile={mobile}"
    before = _lookup_rows(limited)
    for _ in range(2):
        assert shows_masked(text(member.get(url)), mobile)
    third = text(member.get(url))
    assert "按完整手机号或证件号码查询的次数已达上限（每小时 2 次）" in third
    assert record_count(third) == record_count(text(member.get("/owner/list/"))), "the number was not searched"
    assert _lookup_rows(limited) == before + 2, "a refused lookup is not a lookup"


def test_whole_number_lookups_over_rest_stop_at_the_limit_with_429(limited):
    import prison

    mobile = _committee_owner_mobile(limited)
    member = limited.test_client()
    login(member, "committee_a")
    q = prison.dumps({"filters": [{"col": "mobile", "opr": "eq", "value": mobile}]})
    assert [member.get("/api/v1/owner/", query_string={"q": q}).status_code for _ in range(3)] == [200, 200, 429]
    refused = member.get("/api/v1/owner/", query_string={"q": q})
    assert "查询的次数已达上限" in refused.get_json()["message"]
    manager = limited.test_client()
    login(manager, "manager_a")  # sees the numbers: looks them up freely
    assert all(manager.get("/api/v1/owner/", query_string={"q": q}).status_code == 200 for _ in range(3))


def _owner_filters(app, column: str) -> list:
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "OwnerView")
    return view._filters.get_search_filters()[column]


def shows_masked(page: str, mobile: str) -> bool:
    """The owner is listed, masked (the full number stays only in the filter the user typed)."""
    return mobile[:3] + "****" + mobile[-4:] in page


# --- 4. account lockout -------------------------------------------------------------

def test_lockout_after_threshold_failures(app, client):
    for _ in range(5):
        login(client, "staff_a", "wrong-password")
    assert fail_count(app, "staff_a") == 5
    response = login(client, "staff_a")
    assert not logged_in(client)
    assert ACCOUNT_LOCKED in text(client.get(response.headers["Location"]))


def test_lockout_refuses_the_right_password_on_the_rest_login(app, client):
    for _ in range(5):
        rest_login(client, "staff_a", "wrong-password")
    response = rest_login(client, "staff_a", app.config["DEMO_PASSWORD"])
    assert response.status_code == 401
    assert response.get_json()["message"] == ACCOUNT_LOCKED


def test_lockout_threshold_comes_from_the_settings(app, client):
    with app.app_context():
        Settings.current(db.session).lockout_threshold = 3
        db.session.commit()
    for _ in range(3):
        login(client, "staff_a", "wrong-password")
    login(client, "staff_a")
    assert not logged_in(client)


def test_lockout_below_threshold_still_logs_in(app, client):
    for _ in range(4):
        login(client, "staff_a", "wrong-password")
    login(client, "staff_a")
    assert logged_in(client)


def test_lockout_a_success_resets_the_counter(app, client):
    for _ in range(4):
        login(client, "staff_a", "wrong-password")
    login(client, "staff_a")
    assert fail_count(app, "staff_a") == 0
    client.post("/logout/")
    for _ in range(4):
        login(client, "staff_a", "wrong-password")
    login(client, "staff_a")
    assert logged_in(client)


def test_lockout_admin_unlock_restores_login(app, admin_client):
    other = app.test_client()
    for _ in range(5):
        login(other, "staff_a", "wrong-password")
    staff = user(app, "staff_a")
    response = admin_client.post("/users/action_post", data={"action": "unlock", "rowid": staff.id})
    assert response.status_code == 302
    assert fail_count(app, "staff_a") == 0
    login(other, "staff_a")
    assert logged_in(other)


def test_lockout_unlock_from_the_user_page(app, admin_client):
    for _ in range(5):
        login(app.test_client(), "staff_a", "wrong-password")
    staff = user(app, "staff_a")
    html = text(admin_client.get(f"/users/show/{staff.id}"))
    assert "解锁账号" in html and f"/users/action/unlock/{staff.id}" in html
    assert admin_client.post(f"/users/action/unlock/{staff.id}").status_code == 302
    assert fail_count(app, "staff_a") == 0


def test_lockout_only_admin_may_unlock(app):
    for _ in range(5):
        login(app.test_client(), "staff_a", "wrong-password")
    manager = app.test_client()
    login(manager, "manager_a")
    staff = user(app, "staff_a")
    manager.post("/users/action_post", data={"action": "unlock", "rowid": staff.id})
    manager.post(f"/users/action/unlock/{staff.id}")
    assert fail_count(app, "staff_a") == 5


def _set_account(app, username: str, **values) -> None:
    with app.app_context():
        found = app.appbuilder.sm.find_user(username)
        for name, value in values.items():
            setattr(found, name, value)
        db.session.commit()


@pytest.mark.parametrize("change", [{"fail_login_count": 5}, {"active": False}], ids=["locked", "deactivated"])
def test_a_locked_or_deactivated_account_is_signed_out_at_its_next_request(app, client, change):
    login(client, "staff_a")
    assert client.get("/unit/list/").status_code == 200
    _set_account(app, "staff_a", **change)
    assert not logged_in(client)
    assert client.get("/unit/list/").status_code == 302


@pytest.mark.parametrize("change", [{"fail_login_count": 5}, {"active": False}], ids=["locked", "deactivated"])
def test_a_locked_or_deactivated_accounts_tokens_stop_working(app, client, change):
    tokens = client.post("/api/v1/security/login", json={
        "username": "staff_a", "password": app.config["DEMO_PASSWORD"], "provider": "db", "refresh": True,
    }).get_json()
    access = {"Authorization": f"Bearer {tokens['access_token']}"}
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert client.get("/api/v1/unit/", headers=access).status_code == 200
    _set_account(app, "staff_a", **change)
    assert client.get("/api/v1/unit/", headers=access).status_code == 401
    assert client.post("/api/v1/security/refresh", headers=refresh).status_code == 401


# --- 5. password complexity ---------------------------------------------------------

@pytest.mark.parametrize("weak", ["Sh0rt!x", "alllower1!", "ALLUPPER1!", "NoDigits!!", "NoSymbol99", "Spa ce99Ab", ""])
def test_password_rule_refuses_weak_passwords(weak):
    with pytest.raises(PasswordComplexityValidationError, match=PASSWORD_RULE):
        password_complexity(weak)


def test_password_rule_accepts_eight_characters_of_all_four_kinds():
    password_complexity("Sh0rt!xy")


def test_password_rule_accepts_the_demo_password(app):
    password_complexity(app.config["DEMO_PASSWORD"])
    password_complexity("Demo@2026")


def test_password_rule_reset_my_password_refuses_a_weak_one(app, client):
    login(client, "staff_a")
    response = client.post("/resetmypassword/form", data={"password": "password1", "conf_password": "password1"})
    assert response.status_code == 200
    assert PASSWORD_RULE in text(response)
    client.post("/logout/")
    login(client, "staff_a")
    assert logged_in(client)


def test_password_rule_reset_my_password_accepts_a_strong_one(app, client):
    login(client, "staff_a")
    response = client.post("/resetmypassword/form", data={"password": STRONG, "conf_password": STRONG})
    assert response.status_code == 302
    client.post("/logout/")
    login(client, "staff_a", STRONG)
    assert logged_in(client)


def _new_user(app, password: str) -> dict:
    with app.app_context():
        role = app.appbuilder.sm.find_role("物业员工")
        return {"first_name": "测试", "last_name": "用户", "username": "tester_b", "email": "tester_b@example.com",
                "active": "y", "roles": [str(role.id)], "password": password, "conf_password": password}


def test_password_rule_add_user_refuses_a_weak_one(app, admin_client):
    response = admin_client.post("/users/add", data=_new_user(app, "password1"))
    assert response.status_code == 200
    assert PASSWORD_RULE in text(response)
    with app.app_context():
        assert app.appbuilder.sm.find_user("tester_b") is None


def test_password_rule_add_user_accepts_a_strong_one(app, admin_client):
    response = admin_client.post("/users/add", data=_new_user(app, STRONG))
    assert response.status_code == 302, text(response)[-1500:]
    with app.app_context():
        assert app.appbuilder.sm.find_user("tester_b") is not None


# --- 6. session cookie --------------------------------------------------------------

def test_session_cookie_is_httponly_and_samesite_lax(client):
    cookie = session_cookie(login(client, "admin"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_session_cookie_is_not_secure_over_http(client):
    assert "Secure" not in session_cookie(login(client, "admin"))


def test_session_cookie_is_secure_over_https(app, client):
    response = client.post("/login/", base_url="https://localhost",
                           data={"username": "admin", "password": app.config["DEMO_PASSWORD"]})
    assert response.status_code == 302
    assert "Secure" in session_cookie(response)


def test_session_cookie_ignores_forged_forwarded_proto(client):
    """Without TRUST_PROXY, anyone may send X-Forwarded-Proto: it changes nothing."""
    response = client.post("/login/", headers={"X-Forwarded-Proto": "https"}, data={
        "username": "admin", "password": client.application.config["DEMO_PASSWORD"]})
    assert "Secure" not in session_cookie(response)


def test_session_cookie_is_secure_behind_a_trusted_https_proxy():
    proxied = Flask("proxied")
    proxied.config.update(SECRET_KEY="x" * 32, TRUST_PROXY=True)
    hardening.trust_proxy(proxied)
    hardening.secure_session_cookie(proxied)

    @proxied.route("/")
    def index():
        session["seen"] = True
        return "ok"

    response = proxied.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in session_cookie(response)


def test_session_lasts_the_configured_hours(app, client):
    cookie = session_cookie(login(client, "admin"))
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    expected = datetime.now(timezone.utc) + timedelta(hours=app.config["SESSION_LIFETIME_HOURS"])
    assert abs((expires - expected).total_seconds()) < 120
    assert app.config["SESSION_LIFETIME_HOURS"] == 8


# --- 7. refused pages ---------------------------------------------------------------

def test_forbidden_page_for_a_logged_in_user_is_403_in_chinese(client):
    login(client, "staff_a")
    response = client.get("/settings/list/")
    assert response.status_code == 403
    assert "没有权限" in text(response)


def test_forbidden_page_for_an_anonymous_user_redirects_to_login(client):
    response = client.get("/settings/list/")
    assert response.status_code == 302
    assert "/login/" in response.headers["Location"]


# --- 8. page sizes ------------------------------------------------------------------

def test_page_size_list_is_capped(admin_client):
    html = text(admin_client.get("/unit/list/?psize_UnitView=100000"))
    assert len(set(re.findall(r'href="/unit/show/(\d+)', html))) == 100


def test_page_size_list_non_numeric_is_ignored(admin_client):
    assert admin_client.get("/unit/list/?psize_UnitView=abc&page_UnitView=-1").status_code == 200


def test_page_size_rest_is_capped(admin_client):
    response = admin_client.get("/api/v1/unit/?q=(page_size:100000)")
    assert response.status_code == 200
    assert response.get_json()["count"] > 100
    assert len(response.get_json()["result"]) == 100


def test_page_size_rest_negative_is_capped(admin_client):
    response = admin_client.get("/api/v1/unit/?q=(page_size:-1)")
    assert response.status_code == 200
    assert len(response.get_json()["result"]) == 100


def test_page_size_rest_negative_page_is_the_first_page(admin_client):
    first = admin_client.get("/api/v1/unit/?q=(page:0,page_size:5)").get_json()["ids"]
    response = admin_client.get("/api/v1/unit/?q=(page:-3,page_size:5)")
    assert response.status_code == 200
    assert response.get_json()["ids"] == first


def test_page_size_rest_not_a_number_is_a_400(admin_client):
    assert admin_client.get("/api/v1/unit/?q=(page_size:abc)").status_code == 400


# --- 9. security headers ------------------------------------------------------------

def _assert_security_headers(response) -> str:
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "img-src 'self' data:", "font-src 'self'", "connect-src 'self'",
                      "frame-ancestors 'none'", "form-action 'self'", "base-uri 'self'"):
        assert directive in csp
    assert re.search(r"script-src 'self' 'nonce-[\w-]+'(;|$)", csp)
    assert "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    return csp


def test_security_headers_on_html_pages(client, admin_client):
    _assert_security_headers(client.get("/login/"))
    _assert_security_headers(admin_client.get("/unit/list/"))
    _assert_security_headers(admin_client.get("/no-such-page/"))


def test_security_headers_on_api_responses(admin_client):
    _assert_security_headers(admin_client.get("/api/v1/unit/"))
    _assert_security_headers(admin_client.put("/api/v1/unit/0", json={}))


def _nonce(response) -> str:
    return re.search(r"'nonce-([\w-]+)'", response.headers["Content-Security-Policy"]).group(1)


PAGES = ("/", "/unit/list/", "/unit/show/{unit}", "/unit/edit/{unit}", "/unit/add", "/unit/import/",
         "/users/list/", "/users/show/1", "/users/userinfo/", "/resetmypassword/form", "/no-such-page/")


def test_csp_nonce_of_the_header_is_on_every_script(app, admin_client):
    unit = first_unit(app)
    for url in PAGES:
        response = admin_client.get(url.format(unit=unit.id))
        scripts = re.findall(r"<script\b[^>]*>", text(response))
        assert len(scripts) > 5, url
        assert all(f'nonce="{_nonce(response)}"' in tag for tag in scripts), (url, scripts)


def test_csp_nonce_changes_per_request(admin_client):
    assert _nonce(admin_client.get("/unit/list/")) != _nonce(admin_client.get("/unit/list/"))


def test_csp_pages_have_no_inline_event_handlers(app, admin_client):
    unit = first_unit(app)
    for url in PAGES:
        html = text(admin_client.get(url.format(unit=unit.id)))
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), url
        assert "javascript:" not in html, url
