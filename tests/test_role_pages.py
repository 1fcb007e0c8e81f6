"""Roles are declared in code and read by administrators in Chinese, never edited in the UI."""

from __future__ import annotations

from tests.pages import english_words
from tests.support import client_of, in_db, text_of


def _role_id(name: str) -> int:
    from app.extensions import db
    from flask_appbuilder.security.sqla.models import Role
    from sqlalchemy import select

    return db.session.execute(select(Role.id).where(Role.name == name)).scalar_one()


def test_a_role_page_lists_what_the_role_may_do_in_chinese(app):
    admin = client_of(app, "admin")
    page = text_of(admin.get(f"/roles/show/{in_db(app, lambda: _role_id('业委会委员'))}"))
    assert "收费标准" in page and "审核通过" in page and "退回修改" in page
    assert "can_" not in page and "View" not in page
    assert "赵委员" in page  # the people holding it, by name
    assert english_words(page) == set()


def test_the_role_list_reads_in_chinese_and_offers_no_raw_permission_names(app):
    page = text_of(client_of(app, "admin").get("/roles/list/"))
    assert "业委会委员" in page and "角色名称" in page
    assert "menu access on" not in page and "can_list" not in page
    assert english_words(page) == set()


def test_roles_cannot_be_added_edited_or_copied_in_the_ui(app):
    admin = client_of(app, "admin")
    roles = text_of(admin.get("/roles/list/"))
    pk = in_db(app, lambda: _role_id("物业经理"))
    assert admin.get("/roles/add").status_code in (403, 404, 302)
    assert admin.get(f"/roles/edit/{pk}").status_code in (403, 404, 302)
    assert "/roles/add" not in roles and "复制" not in roles


def test_the_raw_permission_pages_are_not_offered(app):
    admin = client_of(app, "admin")
    home = text_of(admin.get("/"))
    for url in ("/permissions/list/", "/viewmenus/list/", "/permissionviews/list/"):
        assert url not in home
        assert admin.get(url).status_code == 404
