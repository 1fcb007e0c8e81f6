"""The role matrix, declared once and synced into FAB's tables.

``MATRIX`` says, per role, what it may do with each menu of entities (or with one
entity, overriding its menu). ``flask sync-roles`` makes each role's grants exactly
that: it is idempotent, and it fails loudly on an entity, view or permission name
that does not exist, so a renamed view cannot silently drop a grant.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flask import g, has_request_context
from flask_appbuilder import AppBuilder
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from models.access import role_names
from models.base import Entity, Menu, declared_entities, file_columns
from models.community_life import NOTICE_FLOW
from models.errors import Refused
from models.safety import DRILL_FLOW, HAZARD_FLOW, PLAN_FLOW
from models.service_orders import COMPLAINT_FLOW, REPAIR_FLOW
from models.staff_quality import SURVEY_FLOW

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

#: fee standards: 物业经理 drafts, submits and publishes; 业委会 approves or returns
_FEES_MANAGER = {
    Menu.FEES: READ,
    "FeeStandard": MANAGE | {"submit", "publish"},
    "FeeStandardLine": MANAGE,
    "Bill": READ | {"generate", "pay"},
}

#: daily operations: 物业 manage and move every workflow;
#: 业委会 and officials read
_OPERATIONS = (Menu.OPERATIONS, Menu.SAFETY, Menu.QUALITY)
_OPERATION_FLOWS = {
    "RepairOrder": REPAIR_FLOW, "Complaint": COMPLAINT_FLOW, "Hazard": HAZARD_FLOW, "EmergencyPlan": PLAN_FLOW,
    "EmergencyDrill": DRILL_FLOW, "Notice": NOTICE_FLOW, "Survey": SURVEY_FLOW,
}


def _operations(level: frozenset[str], *, transitions: bool) -> dict[tuple[str, str] | str, frozenset[str]]:
    grants: dict[tuple[str, str] | str, frozenset[str]] = {menu: level for menu in _OPERATIONS}
    if transitions:
        grants.update({name: level | {t.name for t in flow.transitions} for name, flow in _OPERATION_FLOWS.items()})
    return grants


#: oversight: officials keep every record of their jurisdiction and fire every
#: transition; a 物业经理 reads the ratings and inspections of the estates they serve and
#: answers what is addressed to them (a dispatched grid event, a rectification notice)
_OVERSIGHT_OFFICIAL = {
    Menu.OVERSIGHT: MANAGE | {"report", "solve_on_spot", "dispatch", "handle", "close", "reopen",
                              "publish", "apply", "rate", "decline", "respond", "recheck"},
}
_OVERSIGHT_MANAGER = {
    Menu.OVERSIGHT: READ,
    "GridEvent": READ | {"handle"},
    "RectificationNotice": READ | {"respond"},
}

#: repair fund: 物业经理 drafts, implements and asks for payment; 业委会 reviews,
#: runs the vote and accepts the work; officials confirm emergencies, file and pay
_FUND_MANAGER = {
    Menu.FUND: READ,
    "FundApplication": MANAGE | {"submit", "submit_emergency", "start_work", "settle", "request_transfer"},
    "FundScope": MANAGE,
    "FundEntry": READ | {"add", "reverse", "deposit"},
}
_FUND_COMMITTEE = {
    Menu.FUND: READ,
    "FundEntry": READ | {"add"},  # only the kinds FUND_ENTRY_RECORDERS gives the 业委会
    "FundApplication": READ | {"approve", "return", "open_vote", "close_vote", "ballot", "confirm_emergency",
                               "accept", "approve_overrun", "return_overrun", "disclose", "archive"},
}
#: 业主大会: the 业委会 convenes and runs the meetings; 物业 and officials read them
_ASSEMBLY_COMMITTEE = {
    Menu.ASSEMBLY: READ,
    "OwnersMeeting": MANAGE | {"announce", "open_vote", "close_vote", "cancel", "ballot"},
    "MeetingMatter": MANAGE,
    "MeetingProposer": MANAGE,
    "Candidate": MANAGE,
    "GoverningDocument": MANAGE,  # drafts; a version comes into force only by the owners' decision
    "DraftComment": MANAGE,  # owners' comments on a draft out for comment, and the answers
    # the committee records who is 主任 and 副主任 (an election seats the members)
    "CommitteeMember": READ | {"edit"},
}
#: the 街道 confirms each term's 备案 and keeps the record of committees formed before the product;
#: it leads the first assembly's 筹备组 and runs the meeting the group convenes (MEETING_CONVENERS)
_ASSEMBLY_OFFICIAL = {
    Menu.ASSEMBLY: READ,
    "CommitteeTerm": MANAGE_NO_DELETE | {"file"},
    "CommitteeMember": MANAGE,
    "PreparatoryGroup": MANAGE | {"form", "announce", "publish_roll", "dissolve"},
    "PreparatoryMember": MANAGE,
    "GoverningDocument": MANAGE,
    "DraftComment": MANAGE,
    "OwnersMeeting": MANAGE | {"announce", "open_vote", "close_vote", "cancel", "ballot"},
    "MeetingMatter": MANAGE,
    "MeetingProposer": MANAGE,
    "Candidate": MANAGE,
}
_FUND_OFFICIAL = {
    Menu.FUND: READ,
    "FundApplication": READ | {"confirm_official", "reject_official", "file", "pay", "pay_emergency"},
}

#: who records each kind of 资金流水 (《住宅专项维修资金管理办法》; docs/input-and-legal-floors.md): what the
#: owners pay in, what the bank credits and a 过户 are entered by 物业 from the bank's slips; a
#: 退还 takes money out of an owner's 分户账 and is entered by the 业委会, who verify it; a
#: 使用分摊 is written only by the payment of an approved application (models/repair_fund.py)
FUND_ENTRY_RECORDERS: dict[str, frozenset[str]] = {
    "deposit": frozenset({MANAGER}), "top_up": frozenset({MANAGER}), "interest": frozenset({MANAGER}),
    "public_income": frozenset({MANAGER}), "transfer": frozenset({MANAGER}), "refund": frozenset({COMMITTEE}),
}

#: who prepares and runs an 业主大会会议, by its convener: the 业委会 its meetings, the 街道 official
#: (组长 of the 筹备组) the first assembly (业主大会和业主委员会指导规则第十条); enforced on every
#: route with ROW_ACTORS below, and the meeting's buttons are shown only to who may press them
MEETING_CONVENERS: dict[str, frozenset[str]] = {
    "committee": frozenset({COMMITTEE}), "preparatory_group": frozenset({OFFICIAL}),
}
#: rows only some roles with the entity's rights may write, by a code on the row or above it:
#: entity -> (path to the code, {code: roles}); the administrator writes all
ROW_ACTORS: dict[str, tuple[str, dict[str, frozenset[str]]]] = {
    "OwnersMeeting": ("convener", MEETING_CONVENERS),
    "MeetingMatter": ("meeting.convener", MEETING_CONVENERS),
    "MeetingProposer": ("meeting.convener", MEETING_CONVENERS),
    "Candidate": ("matter.meeting.convener", MEETING_CONVENERS),
    "MeetingBallot": ("meeting.convener", MEETING_CONVENERS),
}

#: who is told the outcome of a job nobody asked for (a scheduled bill run): these roles among
#: the people whose scope reaches the job's estate (app/jobs.py)
SCHEDULED_JOB_AUDIENCE: dict[str, frozenset[str]] = {"bill_run": frozenset({MANAGER})}

#: closed lists whose options depend on the role (entity, column) -> {code: roles that may choose
#: it}: a form offers a person only the codes one of their roles may save (the administrator:
#: every code listed); the flush check above still refuses the others on every route
CHOICES_BY_ROLE: dict[tuple[str, str], dict[str, frozenset[str]]] = {
    ("FundEntry", "kind"): FUND_ENTRY_RECORDERS, ("OwnersMeeting", "convener"): MEETING_CONVENERS,
}


def _held_roles() -> frozenset[str] | None:
    """The roles of the person signed in to this request (None: no request or nobody signed in)."""
    if not has_request_context():
        return None
    user = g.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return role_names(user)


def offered_codes(entity: str, column: str) -> frozenset[str] | None:
    """The codes of a role-dependent list the signed-in person may choose (None: not limited)."""
    recorders = CHOICES_BY_ROLE.get((entity, column))
    if recorders is None or not has_request_context():
        return None
    held = _held_roles() or set()
    return frozenset(code for code, roles in recorders.items() if ADMIN in held or held & roles)


def _row_code(obj: Any, path: str) -> Any:
    for step in path.split("."):
        obj = getattr(obj, step, None)
        if obj is None:
            return None
    return obj


def row_actors(obj: Any) -> frozenset[str] | None:
    """The roles that may write this row (None: any role with the entity's rights)."""
    declared = ROW_ACTORS.get(type(obj).__name__)
    if declared is None:
        return None
    path, roles_by_code = declared
    code = _row_code(obj, path)
    return roles_by_code.get(code) if code is not None else None


def may_act_on(obj: Any) -> bool:
    """Whether the person signed in may write this row (buttons are shown only then)."""
    roles, held = row_actors(obj), _held_roles()
    return roles is None or held is None or ADMIN in held or bool(held & roles)


def rows_acted_on(model: type[Entity]) -> Any | None:
    """The SQL condition for the rows of ``model`` the person signed in may write (None: all),
    for entities whose code is on the row itself (the workbench counts only those)."""
    declared, held = ROW_ACTORS.get(model.__name__), _held_roles()
    if declared is None or held is None or ADMIN in held or "." in declared[0]:
        return None
    path, roles_by_code = declared
    return getattr(model, path).in_([code for code, roles in roles_by_code.items() if held & roles])


def refuse_rows_of_other_actors(session: Any, _context: Any, _instances: Any) -> None:
    """A row of ROW_ACTORS is added, changed or removed only by the roles of its code, judged on
    the code it had before the change too (an official cannot take a committee's meeting over
    by changing its convener); a line cannot move to another parent (``frozen_by`` is a fixed
    link), so its code is judged where it is. Outside a request (demo data, maintenance) nothing
    is checked."""
    held = _held_roles()
    if held is None or ADMIN in held:
        return
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if type(obj).__name__ not in ROW_ACTORS:
            continue
        allowed = [row_actors(obj)]
        if obj not in session.new:
            path, roles_by_code = ROW_ACTORS[type(obj).__name__]
            if "." not in path:
                before = inspect(obj).attrs[path].history.deleted
                allowed += [roles_by_code.get(code) for code in before]
        for roles in allowed:
            if roles is not None and not held & roles:
                raise Refused(f"此{obj.Admin.label}由{'、'.join(sorted(roles))}办理，您的角色不能修改")


MATRIX: dict[str, dict[tuple[str, str] | str, frozenset[str]]] = {
    MANAGER: {
        Menu.REGION: READ, **{menu: MANAGE for menu in _MASTER_DATA}, "Estate": _OWN_ESTATE,
        **_FEES_MANAGER, **_operations(MANAGE, transitions=True), **_FUND_MANAGER, **_OVERSIGHT_MANAGER,
        Menu.ASSEMBLY: READ,
    },
    STAFF: {
        Menu.REGION: READ,
        **{menu: MANAGE for menu in _MASTER_DATA},
        "Estate": _OWN_ESTATE,
        "Building": MANAGE_NO_DELETE,
        Menu.FEES: READ,
        "Bill": READ | {"pay"},
        **_operations(MANAGE, transitions=True),
        Menu.FUND: READ,
    },
    # the audit log reads through the estate scope: 业委会 their estate, officials their 街道
    COMMITTEE: {
        Menu.REGION: READ, **{menu: READ for menu in _MASTER_DATA}, "AuditLog": READ,
        Menu.FEES: READ, "FeeStandard": READ | {"approve", "return"}, **_FUND_COMMITTEE, **_ASSEMBLY_COMMITTEE,
        Menu.OVERSIGHT: READ, **_operations(READ, transitions=False),
    },
    OFFICIAL: {
        Menu.REGION: READ, **{menu: READ for menu in _MASTER_DATA}, "AuditLog": READ, Menu.FEES: READ,
        **_FUND_OFFICIAL, **_OVERSIGHT_OFFICIAL, **_operations(READ, transitions=False), **_ASSEMBLY_OFFICIAL,
        "LocalSetting": READ,  # the local rules their estates follow
    },
}

#: dashboard pages (views/dashboard.py: permission name -> menu label) and who opens them;
#: every figure on them is scoped like any query, and shown only with its entity's list right
DASHBOARD_VIEW, DASHBOARD_MENU = "DashboardView", "数据看板"
DASHBOARD_PAGES = {"jurisdiction": "辖区概览", "estate": "小区概览"}
DASHBOARDS = {
    MANAGER: {"estate"}, STAFF: {"estate"}, COMMITTEE: {"estate"}, OFFICIAL: {"jurisdiction", "estate"},
}


def dashboard_permissions(role: str) -> set[tuple[str, str]]:
    pages = DASHBOARDS.get(role, set())
    pairs = {(f"can_{page}", DASHBOARD_VIEW) for page in pages}
    pairs |= {("menu_access", DASHBOARD_PAGES[page]) for page in pages}
    return pairs | ({("menu_access", DASHBOARD_MENU)} if pages else set())


#: the menus each role works with, in the sidebar's order; what else it may open sits under
#: 更多功能 (a role not named here, the administrator included, sees every menu in order)
NAVIGATION: dict[str, tuple[str, ...]] = {
    MANAGER: (DASHBOARD_MENU, Menu.MASTER[0], Menu.PEOPLE[0], Menu.FEES[0], Menu.OPERATIONS[0], Menu.SAFETY[0],
              Menu.QUALITY[0], Menu.FUND[0], Menu.PARKING[0], Menu.FACILITY[0]),
    STAFF: (DASHBOARD_MENU, Menu.MASTER[0], Menu.PEOPLE[0], Menu.FEES[0], Menu.OPERATIONS[0], Menu.SAFETY[0],
            Menu.PARKING[0], Menu.FACILITY[0]),
    COMMITTEE: (DASHBOARD_MENU, Menu.ASSEMBLY[0], Menu.FEES[0], Menu.FUND[0], Menu.MASTER[0], Menu.PEOPLE[0],
                Menu.OPERATIONS[0]),
    OFFICIAL: (DASHBOARD_MENU, Menu.OVERSIGHT[0], Menu.ASSEMBLY[0], Menu.FUND[0], Menu.FEES[0], Menu.MASTER[0],
               Menu.SAFETY[0], Menu.OPERATIONS[0]),
}


def navigation_of(roles: Iterable[str]) -> tuple[str, ...]:
    """The sidebar's first menus for a user holding these roles (empty: every menu in order)."""
    roles = list(roles)
    if ADMIN in roles or any(role not in NAVIGATION for role in roles):
        return ()
    return tuple(dict.fromkeys(label for role in roles for label in NAVIGATION[role]))


#: every signed-in user may read and change their own account, and has their own downloads,
#: jobs and inbox (views/jobs.py)
OWN_ACCOUNT = {
    ("can_mine", "MyJobsView"),
    ("can_userinfo", "UserDBModelView"),
    ("resetmypassword", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
}

#: how each action reads to an administrator (the role pages); transitions read as their label
ACTION_LABELS = {
    "list": "查看列表", "show": "查看详情", "export": "导出", "download": "下载附件", "add": "新增",
    "edit": "修改", "delete": "删除", "import": "导入", "generate": "生成账单", "pay": "登记缴费",
    "reverse": "冲正", "deposit": "登记交存", "ballot": "录入纸质表决票",
}


def action_label(model: type[Entity], action: str) -> str:
    flow = model.Admin.workflow
    if flow is not None and action in {t.name for t in flow.transitions}:
        return flow.transition(action).label
    return ACTION_LABELS[action]


def grants_in_chinese(role: str) -> list[tuple[str, str, list[str]]]:
    """(menu, entity, actions) a role may do, in Chinese and in menu order (the role pages)."""
    found = []
    for model in declared_entities():
        actions = actions_of(role, model)
        if actions:
            order = [*ACTION_LABELS, *sorted(transitions_of(model))]
            labels = [action_label(model, a) for a in sorted(actions, key=lambda a: order.index(a) if a in order else 99)]
            found.append((model.Admin.menu[0], model.Admin.label, labels))
    return found


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
        role: set(OWN_ACCOUNT).union(dashboard_permissions(role), *(permissions_of(role, m) for m in declared_entities()))
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


# -- who records which fund entry, enforced on every route (form, REST, import) --------------

def refuse_fund_entries_of_other_roles(session: Any, _context: Any, _instances: Any) -> None:
    """A new 资金流水 of a kind in FUND_ENTRY_RECORDERS is saved only for a user holding one of
    its roles (the administrator excepted). A 冲正 follows its original and is not checked here;
    outside a request (demo data, maintenance commands) nothing is checked."""
    from models.repair_fund import ENTRY_KINDS, FundEntry

    entries = [e for e in session.new if isinstance(e, FundEntry) and e.reverses_id is None
               and e.kind in FUND_ENTRY_RECORDERS]
    held = _held_roles() if entries else None
    if held is None or ADMIN in held:
        return  # nobody signed in writes nothing: scoping refuses it
    for entry in entries:
        recorders = FUND_ENTRY_RECORDERS[entry.kind]
        if not held & recorders:
            raise Refused(f"「{ENTRY_KINDS.label(entry.kind)}」由{'、'.join(sorted(recorders))}记账，"
                          "您的角色不能登记这一类资金流水")


def install() -> None:
    """Listen on every session (idempotent: tests build several apps)."""
    for check in (refuse_fund_entries_of_other_roles, refuse_rows_of_other_actors):
        if not event.contains(Session, "before_flush", check):
            event.listen(Session, "before_flush", check)
