"""The role matrix (SPEC section 2), declared once and synced into FAB's tables.

``flask sync-roles`` makes each role's grants exactly what is declared here: it is
idempotent, and it fails loudly on a view or permission name that does not exist,
so a renamed view cannot silently drop a grant.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_appbuilder import AppBuilder

from models.base import Entity, Menu, declared_entities

ADMIN = "系统管理员"
MANAGER = "物业经理"
STAFF = "物业员工"
COMMITTEE = "业委会委员"
OFFICIAL = "街道监督员"

READ = ("list", "show")
WRITE = ("list", "show", "add", "edit", "delete", "export")
API_READ = ("get", "info")
API_WRITE = ("get", "info", "post", "put", "delete")

#: entities 物业员工 may maintain but not delete (SPEC: no delete of estates/buildings)
STAFF_NO_DELETE = {"Estate", "Building"}


def _grants(model: type[Entity], role: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(view actions, API actions) a role has on one master-data entity."""
    name = model.__name__
    if role == MANAGER:
        extra = ("import",) if model.Admin.importable else ()
        return WRITE + extra, API_WRITE
    if role == STAFF:
        actions = tuple(a for a in WRITE if not (a == "delete" and name in STAFF_NO_DELETE))
        extra = ("import",) if model.Admin.importable else ()
        return actions + extra, API_WRITE if name not in STAFF_NO_DELETE else API_WRITE[:-1]
    if role in (COMMITTEE, OFFICIAL):
        return READ + ("export",), API_READ
    return (), ()


#: roles whose grants the matrix computes; the admin role gets every permission
ROLES = (MANAGER, STAFF, COMMITTEE, OFFICIAL)

#: region master data is kept by the admin; the others read it
REGION_EDITORS: tuple[str, ...] = ()


def matrix() -> dict[str, set[tuple[str, str]]]:
    """role -> {(permission, view_menu)} for every declared entity and its menu."""
    grants: dict[str, set[tuple[str, str]]] = {role: set() for role in ROLES}
    for model in declared_entities():
        view, api = f"{model.__name__}View", f"{model.__name__}Api"
        for role in ROLES:
            actions, api_actions = _grants(model, role)
            if model.Admin.menu == Menu.REGION and role not in REGION_EDITORS:
                actions = tuple(a for a in actions if a in READ + ("export",))
                api_actions = API_READ if api_actions else ()
            if not actions:
                continue
            grants[role] |= {(f"can_{a}", view) for a in actions}
            grants[role] |= {(f"can_{a}", api) for a in api_actions}
            grants[role] |= {("menu_access", model.Admin.label), ("menu_access", model.Admin.menu[0])}
    for role in ROLES:  # every signed-in user may see and change their own account
        grants[role] |= {("can_userinfo", "UserDBModelView"), ("resetmypassword", "UserDBModelView"),
                         ("can_this_form_get", "ResetMyPasswordView"),
                         ("can_this_form_post", "ResetMyPasswordView")}
    return grants


class UnknownPermission(LookupError):
    pass


def sync(appbuilder: AppBuilder, grants: dict[str, set[tuple[str, str]]] | None = None) -> dict[str, int]:
    """Create every view's permissions, then make each role's grants match the matrix."""
    sm = appbuilder.sm
    admin = sm.find_role(ADMIN) or sm.add_role(ADMIN)
    appbuilder.add_permissions(update_perms=True)
    all_pvs = sm.session.query(sm.permissionview_model).all()
    admin.permissions = all_pvs
    counts = {ADMIN: len(all_pvs)}
    for role_name, wanted in (grants or matrix()).items():
        role = sm.find_role(role_name) or sm.add_role(role_name)
        role.permissions = list(_resolve(sm, wanted))
        counts[role_name] = len(role.permissions)
    sm.session.commit()
    return counts


def _resolve(sm, wanted: Iterable[tuple[str, str]]):
    missing = []
    for permission, view_menu in sorted(wanted):
        pv = sm.find_permission_view_menu(permission, view_menu)
        if pv is None:
            missing.append(f"{permission} on {view_menu}")
        else:
            yield pv
    if missing:
        raise UnknownPermission("unknown permission/view in the role matrix: " + ", ".join(missing))
