"""The role matrix is synced by a command: idempotent, loud on typos, never by web workers."""

from __future__ import annotations

import pytest

from app import roles
from app.extensions import db


def _grants(app) -> dict[str, set[tuple[str, str]]]:
    sm = app.appbuilder.sm
    return {
        role.name: {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}
        for role in sm.get_all_roles()
    }


def test_sync_is_idempotent(app, ctx):
    before = _grants(app)
    roles.sync(app.appbuilder)
    roles.sync(app.appbuilder)
    assert _grants(app) == before


def test_each_role_holds_exactly_the_declared_grants(app, ctx):
    grants = _grants(app)
    for role, wanted in roles.matrix().items():
        assert grants[role] == wanted, role


def test_admin_holds_every_permission(app, ctx):
    sm = app.appbuilder.sm
    assert len(_grants(app)[roles.ADMIN]) == sm.session.query(sm.permissionview_model).count()


def test_sync_restores_a_grant_removed_by_hand(app, ctx):
    sm = app.appbuilder.sm
    role = sm.find_role(roles.MANAGER)
    role.permissions = role.permissions[1:]
    db.session.commit()
    roles.sync(app.appbuilder)
    assert _grants(app)[roles.MANAGER] == roles.matrix()[roles.MANAGER]


def test_an_unknown_entity_in_the_matrix_fails_loudly(app, ctx, monkeypatch):
    monkeypatch.setitem(roles.MATRIX[roles.STAFF], "Bulding", roles.READ)
    with pytest.raises(roles.UnknownPermission, match="Bulding"):
        roles.sync(app.appbuilder)


def test_an_unknown_permission_fails_loudly_and_changes_nothing(app, ctx, monkeypatch):
    before = _grants(app)
    real = roles.matrix

    def with_typo():
        grants = real()
        grants[roles.STAFF].add(("can_approve", "UnitView"))
        return grants

    monkeypatch.setattr(roles, "matrix", with_typo)
    with pytest.raises(roles.UnknownPermission, match="can_approve on UnitView"):
        roles.sync(app.appbuilder)
    db.session.rollback()
    assert _grants(app)[roles.STAFF] == before[roles.STAFF]


def test_web_workers_never_write_permissions(app):
    assert app.config["FAB_UPDATE_PERMS"] is False
    assert app.appbuilder.update_perms is False


def test_staff_may_not_delete_estates_or_buildings():
    from models.estate import Building, Estate, Unit

    assert "delete" not in roles.actions_of(roles.STAFF, Estate)
    assert "delete" not in roles.actions_of(roles.STAFF, Building)
    assert "delete" in roles.actions_of(roles.STAFF, Unit)


def test_committee_and_officials_only_read_master_data():
    from models.base import Menu, declared_entities

    master = (Menu.REGION, Menu.MASTER, Menu.PEOPLE, Menu.PARKING, Menu.FACILITY)
    for model in [m for m in declared_entities() if m.Admin.menu in master]:
        for role in (roles.COMMITTEE, roles.OFFICIAL):
            assert roles.actions_of(role, model) <= roles.READ, (role, model.__name__)


# -- permissions are kept across requests until a role's grants change ------------------------------

def _stamp() -> int:
    from sqlalchemy import select

    from models.access import GrantsStamp

    return db.session.execute(select(GrantsStamp.version)).scalar_one()


def test_taking_a_permission_from_a_role_moves_the_grants_stamp(app, ctx):
    before = _stamp()
    role = app.appbuilder.sm.find_role(roles.MANAGER)
    role.permissions = role.permissions[1:]
    db.session.commit()
    assert _stamp() == before + 1


def test_giving_a_user_a_role_or_editing_other_data_leaves_the_stamp(app, ctx):
    from models.estate import Estate

    before = _stamp()
    sm = app.appbuilder.sm
    user = sm.find_user("staff_a")
    user.roles.append(sm.find_role(roles.COMMITTEE))  # read with the user on every request: no stamp needed
    db.session.get(Estate, 1).address = "新地址 1 号"
    db.session.commit()
    assert _stamp() == before


def test_a_permission_taken_in_another_process_is_refused_at_the_next_request(app):
    """The manager's unit list is allowed, kept, then its permission is taken away by a
    separate session (as `flask sync-roles` on another machine would): the next request of the
    same web process is refused."""
    from flask_appbuilder.security.sqla.models import Role
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tests.support import login

    client = app.test_client()
    login(client, "manager_a")
    assert client.get("/unit/list/").status_code == 200
    assert client.get("/unit/list/").status_code == 200  # now served from what this process kept
    with app.app_context(), Session(db.engine) as other:
        role = other.execute(select(Role).where(Role.name == roles.MANAGER)).scalar_one()
        role.permissions = [pv for pv in role.permissions
                            if (pv.permission.name, pv.view_menu.name) != ("can_list", "UnitView")]
        other.commit()
    assert client.get("/unit/list/").status_code == 403
