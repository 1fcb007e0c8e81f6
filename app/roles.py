"""The role matrix (SPEC section 2), declared once and synced into FAB's tables.

``MATRIX`` says, per role, what it may do with each menu of entities (or with one
entity, overriding its menu). ``flask sync-roles`` makes each role's grants exactly
that: it is idempotent, and it fails loudly on an entity, view or permission name
that does not exist, so a renamed view cannot silently drop a grant.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flask_appbuilder import AppBuilder

from models.base import Entity, Menu, declared_entities, file_columns

ADMIN = "系统管理员"
MANAGER = "物业经理"
STAFF = "物业员工"
COMMITTEE = "业委会委员"
OFFICIAL = "街道监督员"

#: what a level allows; an entity only gets the actions it declares
#: (download: the documents of the rows one may read, where the entity holds any)
READ = frozenset({"list", "show", "export", "download"})
MANAGE = READ | {"add", "edit", "delete", "import"}
MANAGE_NO_DELETE = MANAGE - {"delete"}

_MASTER_DATA = (Menu.MASTER, Menu.PEOPLE, Menu.PARKING, Menu.FACILITY)
#: an estate is created (or imported, or removed) by the admin who then grants its scope;
#: 物业 staff keep the details of the estates they serve
_OWN_ESTATE = READ | {"edit"}

#: fee standards (SPEC 5): 物业经理 drafts, submits and publishes; 业委会 approves or returns
_FEES_MANAGER = {
    Menu.FEES: READ,
    "FeeStandard": MANAGE | {"submit", "publish"},
    "FeeStandardLine": MANAGE,
    "Bill": READ | {"generate", "pay"},
}

#: repair fund (SPEC 6): 物业经理 drafts, implements and asks for payment; 业委会 reviews,
#: runs the vote and accepts the work; officials confirm emergencies, file and pay
_FUND_MANAGER = {
    Menu.FUND: READ,
    "FundApplication": MANAGE | {"submit", "submit_emergency", "start_work", "settle", "request_transfer"},
    "FundScope": MANAGE,
    "FundEntry": READ | {"add", "reverse", "deposit"},
}
_FUND_COMMITTEE = {
    Menu.FUND: READ,
    "FundApplication": READ | {"approve", "return", "open_vote", "close_vote", "ballot", "confirm_emergency",
                               "accept", "approve_overrun", "return_overrun", "disclose", "archive"},
}
_FUND_OFFICIAL = {
    Menu.FUND: READ,
    "FundApplication": READ | {"confirm_official", "reject_official", "file", "pay", "pay_emergency"},
}

MATRIX: dict[str, dict[tuple[str, str] | str, frozenset[str]]] = {
    MANAGER: {
        Menu.REGION: READ, **{menu: MANAGE for menu in _MASTER_DATA}, "Estate": _OWN_ESTATE,
        **_FEES_MANAGER, **_FUND_MANAGER,
    },
    STAFF: {
        Menu.REGION: READ,
        **{menu: MANAGE for menu in _MASTER_DATA},
        "Estate": _OWN_ESTATE,
        "Building": MANAGE_NO_DELETE,
        Menu.FEES: READ,
        "Bill": READ | {"pay"},
        Menu.FUND: READ,
    },
    # the audit log reads through the estate scope: 业委会 their estate, officials their 街道
    COMMITTEE: {
        Menu.REGION: READ, **{menu: READ for menu in _MASTER_DATA}, "AuditLog": READ,
        Menu.FEES: READ, "FeeStandard": READ | {"approve", "return"}, **_FUND_COMMITTEE,
    },
    OFFICIAL: {
        Menu.REGION: READ, **{menu: READ for menu in _MASTER_DATA}, "AuditLog": READ, Menu.FEES: READ,
        **_FUND_OFFICIAL,
    },
}

#: every signed-in user may read and change their own account
OWN_ACCOUNT = {
    ("can_userinfo", "UserDBModelView"),
    ("resetmypassword", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
}

_API = {"list": ("get", "info"), "show": ("get", "info"), "add": ("post",), "edit": ("put",), "delete": ("delete",)}


class UnknownPermission(LookupError):
    pass


def transitions_of(model: type[Entity]) -> frozenset[str]:
    flow = model.Admin.workflow
    return frozenset(t.name for t in flow.transitions) if flow is not None else frozenset()


def available_actions(model: type[Entity]) -> frozenset[str]:
    extra = {"import"} if model.Admin.importable else set()
    read = READ if file_columns(model) else READ - {"download"}
    return read | model.Admin.actions | model.Admin.extra_actions | extra | transitions_of(model)


def actions_of(role: str, model: type[Entity]) -> frozenset[str]:
    """The actions a role has on an entity's views, per the matrix."""
    grants = MATRIX.get(role, {})
    level = grants.get(model.__name__, grants.get(model.Admin.menu, frozenset()))
    return level & available_actions(model)


def permissions_of(role: str, model: type[Entity]) -> set[tuple[str, str]]:
    """(permission, view menu) pairs: the HTML view, its REST API and its menu entries."""
    actions = actions_of(role, model)
    if not actions:
        return set()
    view, api = f"{model.__name__}View", f"{model.__name__}Api"
    pairs = {(f"can_{a}", view) for a in actions if a != "list"} | {("can_list", view)}
    pairs |= {(f"can_{rest}", api) for a in actions for rest in _API.get(a, ())}
    pairs |= {("menu_access", model.Admin.label), ("menu_access", model.Admin.menu[0])}
    return pairs


def matrix() -> dict[str, set[tuple[str, str]]]:
    """role -> {(permission, view_menu)} for every declared entity, checked for typos."""
    known = {m.__name__ for m in declared_entities()}
    for role, grants in MATRIX.items():
        unknown = [k for k in grants if isinstance(k, str) and k not in known]
        if unknown:
            raise UnknownPermission(f"unknown entity in the role matrix of {role}: {unknown}")
    return {
        role: set(OWN_ACCOUNT).union(*(permissions_of(role, m) for m in declared_entities()))
        for role in MATRIX
    }


def sync(appbuilder: AppBuilder) -> dict[str, int]:
    """Create every view's permissions, then make each role's grants match the matrix."""
    sm = appbuilder.sm
    admin = sm.find_role(ADMIN) or sm.add_role(ADMIN)
    appbuilder.add_permissions(update_perms=True)
    everything = sm.session.query(sm.permissionview_model).all()
    admin.permissions = everything
    counts = {ADMIN: len(everything)}
    for role_name, wanted in matrix().items():
        role = sm.find_role(role_name) or sm.add_role(role_name)
        role.permissions = list(_resolve(sm, wanted))
        counts[role_name] = len(role.permissions)
    sm.session.commit()
    return counts


def _resolve(sm, wanted: Iterable[tuple[str, str]]) -> Iterator:
    found, missing = [], []
    for permission, view_menu in sorted(wanted):
        pv = sm.find_permission_view_menu(permission, view_menu)
        (found if pv is not None else missing).append(pv or f"{permission} on {view_menu}")
    if missing:
        raise UnknownPermission("unknown permission/view in the role matrix: " + ", ".join(missing))
    return iter(found)
