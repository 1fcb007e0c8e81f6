"""Security manager: FAB's, plus the rule that demo passwords stay on this machine,
account lockout after repeated wrong passwords, and the password policy."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import re
from functools import cached_property
from typing import Any

from flask import abort, current_app, flash, g, has_request_context, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_appbuilder.const import API_SECURITY_PROVIDER_DB
from flask_appbuilder.security.api import SecurityApi as FabSecurityApi
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.schemas import login_post
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import (
    Group, Permission, PermissionView, User, ViewMenu, assoc_permissionview_role)
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_appbuilder.security.forms import UserInfoEdit
from flask_appbuilder.security.views import RoleModelView, UserDBModelView, UserGroupModelView, UserInfoEditView
from flask_login import current_user
from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash

from models import clock
from views.api_zh import ChineseResponses
from views.people import listed_name, name_of

log = logging.getLogger(__name__)

#: (role ids, grants stamp) -> the (permission, view) pairs those roles grant, in this process
_PERMISSIONS: dict[tuple[frozenset[int], int], frozenset[tuple[str, str]]] = {}

PASSWORD_RULE = "密码至少 8 位，且须同时包含大写字母、小写字母、数字和符号"
ACCOUNT_LOCKED = "账号已因多次密码错误被锁定，请联系系统管理员解锁"
INVALID_LOGIN = "用户名或密码错误，请重试。"  # = translations/zh for FAB's form message
DEFAULT_LOCKOUT_THRESHOLD = 5


def password_complexity(password: str) -> None:
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: used by the add-user and both reset-password forms."""
    password = password or ""
    if (
        len(password) < 8
        or not re.search(r"[A-Z]", password)
        or not re.search(r"[a-z]", password)
        or not re.search(r"[0-9]", password)
        or not any(not c.isalnum() and not c.isspace() for c in password)
    ):
        raise PasswordComplexityValidationError(PASSWORD_RULE)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def served_on_loopback() -> bool:
    """True when this server listens on loopback only and the client is local.

    ``SERVER_NAME`` in the WSGI environ is the address the server is bound to
    (werkzeug and gunicorn both fill it from the listening socket).
    """
    return _is_loopback(request.environ.get("SERVER_NAME")) and _is_loopback(request.remote_addr)


def _yes_no(value: object) -> str:
    return "是" if value else "否"


def _moment(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _surname_first(fieldsets: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    def order(names: list[str]) -> list[str]:
        return sorted(names, key=lambda name: name != "last_name") if "first_name" in names else names

    return [(title, {**fields, "fields": order(fields["fields"])}) for title, fields in fieldsets]


def _times(value: int | None) -> str:
    return str(value or 0)  # an account that never signed in has no count yet


def _names(rows: list[Any]) -> str:
    """Roles, groups or members as a person writes a list (FAB printed Python's [物业员工])."""
    return "、".join(map(listed_name, rows))


# FAB stamps an account with the server's clock when it is created and never again; an account
# is created and changed on the product's clock (Beijing wall time, as 最后登录 is), by whom
@event.listens_for(User, "before_insert")
def _stamp_new_account(_mapper: Any, _connection: Any, user: Any) -> None:
    user.created_on = user.changed_on = clock.local_now()


@event.listens_for(User, "before_update")
def _stamp_changed_account(_mapper: Any, _connection: Any, user: Any) -> None:
    user.changed_on = clock.local_now()
    actor = g.get("user") if has_request_context() else None
    if getattr(actor, "id", None) is not None:
        user.changed_by_fk = actor.id


class AuthDBView(FabAuthDBView):
    """FAB's login form; says so when the account is locked. (Same class name as FAB's:
    the endpoints stay ``AuthDBView.login``/``.logout``.)"""

    @property
    def invalid_login_message(self) -> str:  # FAB flashes this after a refused login
        return ACCOUNT_LOCKED if g.get("account_locked") else FabAuthDBView.invalid_login_message

    @expose("/logout/", methods=["GET", "POST"])
    def logout(self):
        """Signing out is a POST (with the CSRF token, checked by CSRFProtect): a link or an
        image on another site must not sign the user out. A GET asks first."""
        if request.method == "GET" and not current_user.is_anonymous:
            return self.render_template("security/logout.html", appbuilder=self.appbuilder)
        return super().logout()


# FAB's REST login reads "provider" unchecked: a body without it was a 500 (KeyError); the
# database is this product's only provider, so it is the default
login_post.fields["provider"].load_default = API_SECURITY_PROVIDER_DB


class SecurityApi(ChineseResponses, FabSecurityApi):
    """FAB's REST login (/api/v1/security/login), answering refusals in Chinese."""

    def response_401(self, **kwargs: Any):
        return self.response(401, message=ACCOUNT_LOCKED if g.get("account_locked") else INVALID_LOGIN)


class AccountRefused(Exception):
    """A change to an account that would lock everyone out; FAB's edit and delete flash its text."""


def _refuse(session: Any, message: str) -> None:
    session.rollback()  # nothing of the refused change is kept
    raise AccountRefused(message)


def _administrators() -> Any:
    """How many active accounts hold 系统管理员, themselves or through a 用户组."""
    from app.roles import ADMIN
    from models.access import holding

    return select(func.count()).select_from(User).where(User.active.is_(True), User.id.in_(holding([ADMIN])))


def _lock_administrators(session: Any) -> None:
    """Changes that could remove the last 系统管理员 take turns (two administrators deleting
    each other at the same moment would each still see the other): they hold the grants'
    stamp row until they commit, and the second counts after the first."""
    from models.access import GrantsStamp

    session.execute(select(GrantsStamp.id).where(GrantsStamp.id == 1).with_for_update())


def _keep_an_administrator(session: Any, deleting: Any = None) -> None:
    """Refuses an account or group change, or deleting an account, after which nobody could
    manage accounts any more."""
    _lock_administrators(session)
    if deleting is not None:
        with session.no_autoflush:
            left = session.scalar(_administrators().where(User.id != deleting.id))
        if not left:
            _refuse(session, "这是最后一个可用的系统管理员账号，删除后没有人能再管理用户和系统设置")
        return
    session.flush()  # the change as the form leaves it, still in this transaction
    if not session.scalar(_administrators()):
        _refuse(session, "保存后将没有可用的系统管理员账号，没有人能再管理用户和系统设置；请先让另一个账号成为系统管理员")


_NOT_ONESELF = "不能删除自己正在使用的账号"


class UserView(UserDBModelView):
    class_permission_name = "UserDBModelView"  # keep FAB's permission names
    # 姓 before 名, as a Chinese name is written
    list_columns = ["last_name", "first_name", "username", "email", "active", "roles", "groups"]
    edit_columns = ["last_name", "first_name", "username", "active", "email", "roles", "groups"]
    add_columns = [*edit_columns, "password", "conf_password"]
    show_fieldsets = _surname_first(UserDBModelView.show_fieldsets)
    user_show_fieldsets = _surname_first(UserDBModelView.user_show_fieldsets)
    # accounts sign in with a password here: FAB's words on LDAP and OpenID mean nothing to an administrator
    description_columns = {
        **UserDBModelView.description_columns,
        "username": "登录时填写的用户名",
        "email": "用户的电子邮箱",
        "roles": "决定账号可用的菜单和操作；能管理哪些小区在「用户管辖范围」中设置",
        "groups": "用户组里的角色同样授予该账号",
    }
    formatters_columns = {"active": _yes_no, "last_login": _moment, "created_on": _moment, "changed_on": _moment,
                          # name_of(None) is "": an account created from the command line has no creator
                          "created_by": name_of, "changed_by": name_of,
                          "login_count": _times, "fail_login_count": _times, "roles": _names, "groups": _names}
    # FAB's own filters pass the typed value to SQL unchecked (a huge 登录次数, or 是否启用=-1 on
    # PostgreSQL, was a 500): search by the texts an administrator looks a person up by
    search_columns = ["username", "first_name", "last_name", "email", "roles"]

    def _get_list_widget(self, **kwargs: Any) -> dict[str, Any]:
        # one's own row says why its 删除 would be refused, as the entity lists' rows do
        widgets = super()._get_list_widget(**kwargs)
        widgets["list"].template_args["refused"] = lambda action: {g.user.id: _NOT_ONESELF} if action == "delete" else {}
        return widgets

    def pre_update(self, item: Any) -> None:
        # (FAB's own stamped the server's clock; _stamp_changed_account stamps the product's)
        if item.id == g.user.id and not item.active:
            _refuse(self.datamodel.session, "不能停用自己正在使用的账号")
        _keep_an_administrator(self.datamodel.session)

    def pre_delete(self, item: Any) -> None:
        # a refusal returns to the list it came from (FAB keeps the way back only after a delete)
        self.update_redirect()
        session = self.datamodel.session
        if item.id == g.user.id:
            _refuse(session, _NOT_ONESELF)
        _keep_an_administrator(session, deleting=item)
        # who created or last changed other accounts is a record (the 操作日志 keeps it), not a
        # tie: FAB's keys on it would refuse to delete anyone who ever edited an account
        for column in (User.created_by_fk, User.changed_by_fk):
            session.execute(update(User).where(column == item.id).values({column: None}))

    @action(
        "unlock", "解锁账号",
        "确定解锁所选账号吗？解锁后这些账号可以重新用密码登录，连续输错次数清零。",
        "fa-unlock", multiple=True, single=True,
    )
    def unlock(self, items: Any):
        users = [u for u in (items if isinstance(items, list) else [items]) if u is not None]
        for user in users:
            user.fail_login_count = 0
        self.datamodel.session.commit()
        names = "、".join(u.username for u in users)
        log.info("accounts unlocked by %s: %s", g.user.username, names)
        flash(f"已解锁 {len(users)} 个账号：{names}" if users else "没有选择账号", "success" if users else "warning")
        self.update_redirect()
        return redirect(self.get_redirect())

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any):
        """FAB's user page, with the 解锁账号 button next to 重置密码."""
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        actions = {name: self.actions[name] for name in ("resetpasswords", "unlock") if name in self.actions}
        widgets = self._get_show_widget(pk, item, actions=actions)
        self.update_redirect()
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,
            appbuilder=self.appbuilder, related_views=self._related_views,
        )


class RoleView(RoleModelView):
    """Roles are declared in code (app.roles.MATRIX) and synced: here they are read, in Chinese,
    never edited (an edit would be undone by the next sync)."""

    class_permission_name = "RoleModelView"  # keep FAB's permission names
    base_permissions = ["can_list", "can_show"]
    list_columns = ["name"]
    show_columns = ["name"]
    # FAB's search offered 权限 as a select of every raw permission ("can_list on UnitView")
    search_columns = ["name"]
    label_columns = {"name": "角色名称"}
    list_title, show_title = "角色列表", "角色权限"
    show_template = "security/role_show.html"
    exclude_route_methods = {"add", "edit", "delete", "action", "action_post", "api_column_add",
                             "api_column_edit", "api_readvalues"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # FAB's 复制角色 would create a role the matrix does not know
        self.actions = {}
        self.base_permissions = ["can_list", "can_show"]

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any):
        from app.roles import ADMIN, grants_in_chinese

        role = self.datamodel.get(pk, self._base_filters)
        if role is None:
            abort(404)
        return self.render_template(
            self.show_template, title=f"{self.show_title}：{role.name}", role=role,
            everything=role.name == ADMIN, grants=grants_in_chinese(role.name),
            # its holders, themselves or through a 用户组
            users=sorted({*role.user, *(u for group in role.groups for u in group.users)}, key=lambda u: u.username),
        )


class GroupView(UserGroupModelView):
    """FAB's 用户组: the roles given to every member at once. Its columns had no labels, so FAB
    showed the attribute names (Name, Label, Description) to the administrator."""

    class_permission_name = "UserGroupModelView"  # keep FAB's permission names
    label_columns = {"name": "组名", "label": "显示名称", "description": "说明", "users": "成员", "roles": "角色"}
    formatters_columns = {"users": _names, "roles": _names}
    search_columns = ["name", "label", "users", "roles"]

    def pre_update(self, item: Any) -> None:
        _keep_an_administrator(self.datamodel.session)


class UserInfoForm(UserInfoEdit):
    """FAB's form for one's own name, 姓 before 名 as on the account pages."""

    last_name = UserInfoEdit.last_name.field_class(*UserInfoEdit.last_name.args, **UserInfoEdit.last_name.kwargs)
    first_name = UserInfoEdit.first_name.field_class(*UserInfoEdit.first_name.args, **UserInfoEdit.first_name.kwargs)


class UserInfoView(UserInfoEditView):
    route_base = "/userinfoeditview"
    class_permission_name = "UserInfoEditView"  # keep FAB's permission names
    form = UserInfoForm


class AppSecurityManager(SecurityManager):
    rolemodelview = RoleView
    userdbmodelview = UserView
    groupmodelview = GroupView
    userinfoeditview = UserInfoView
    authdbview = AuthDBView
    security_api = SecurityApi
    # FAB's 用户统计 chart draws with Google Charts fetched from gstatic.com (blank on an offline
    # estate network) under English buttons; each user's page already shows 登录次数 and 失败次数
    userstatschartview = None

    @property
    def is_auth_limited(self) -> bool:
        # FAB's own limit counts every POST to /login/ (successes too) and never the
        # REST login; app.hardening.limit_login_attempts limits failed attempts on both.
        return False

    def lockout_threshold(self) -> int:
        from models.settings import Settings

        try:
            return Settings.current(self.session).lockout_threshold
        except NoResultFound:
            return DEFAULT_LOCKOUT_THRESHOLD

    def auth_user_db(self, username: str, password: str) -> Any:
        g.login_failed, g.account_locked = True, False
        known = self.find_user(username=username) if username else None
        if known is None and username:
            known = self.find_user(email=username)
        if known is not None and known.is_active:
            # The attempt is counted before the password is checked, and the lockout decided
            # from the value this increment returned: parallel guesses cannot pass it together.
            attempts, threshold = self._count_failed_attempt(known), self.lockout_threshold()
            if attempts > threshold:
                # Refused whatever the password; the hash check keeps the timing of a real attempt.
                check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")
                log.warning("login refused: account %s is locked", known.username)
                g.account_locked = True
                return None
            g.account_locked = attempts == threshold  # this one was the last allowed
        user = super().auth_user_db(username, password)  # on success: update_user_auth_stat below
        if user is None:
            return None
        g.account_locked = False
        # The demo password is public (README): it opens nothing on a reachable server.
        if password == current_app.config["DEMO_PASSWORD"] and not served_on_loopback():
            return None
        g.login_failed = False
        return user

    def _count_failed_attempt(self, user: Any) -> int:
        """+1 in one UPDATE (no read-modify-write), committed at once; the new count."""
        model = self.user_model
        count = self.session.execute(
            update(model).where(model.id == user.id)
            .values(fail_login_count=func.coalesce(model.fail_login_count, 0) + 1)
            .returning(model.fail_login_count)
        ).scalar_one()
        self.session.commit()
        return count

    def update_user_auth_stat(self, user: Any, success: bool = True) -> None:
        """FAB's bookkeeping, in SQL: a failure was counted before its password was checked
        (``_count_failed_attempt``); a success clears the count."""
        if success:
            model = self.user_model
            self.session.execute(
                update(model).where(model.id == user.id).values(
                    login_count=func.coalesce(model.login_count, 0) + 1,
                    last_login=clock.local_now(), fail_login_count=0,
                )
            )
            self.session.commit()
            self.session.refresh(user)
            self.on_user_login(user)
        else:
            self.on_user_login_failed(user)

    # -- permission checks: one query per request ---------------------------------------
    # FAB asks the database once per check (EXISTS ...): a page renders 30-50 of them
    # (menu, buttons, row actions), growing with the menu. A request reads the user's
    # grants once; a new request reads them afresh, so a changed role applies at once.

    def get_user_by_id(self, pk: Any) -> Any:
        """A user with roles and groups, loaded together."""
        return self.session.execute(self._user_query(pk)).unique().scalar_one_or_none()

    def load_user(self, pk: Any) -> Any:
        """The signed-in user (loader of the session, the JWT and the refresh token). A
        deactivated or locked account is nobody: its session and tokens stop at its next request."""
        found = self.session.execute(self._signed_in_user, {"user_id": int(pk)}).unique().one_or_none()
        if found is None:
            return None
        user, user.unread_messages, user.grants_version, user.scope_version = found
        return user

    @cached_property
    def _signed_in_user(self) -> Any:
        """load_user's statement, built once: every request runs it, and building it and its
        cache key again cost more than running it."""
        from models.access import GrantsStamp, ScopeStamp
        from models.jobs import unread_of
        from models.settings import Settings

        model = self.user_model
        threshold = select(Settings.lockout_threshold).limit(1).scalar_subquery()
        # the top bar's unread count and the grants' and scopes' stamps ride along: no query of their own
        unread = unread_of(model.id).scalar_subquery()
        stamp = select(GrantsStamp.version).where(GrantsStamp.id == 1).scalar_subquery()
        scope_stamp = select(ScopeStamp.version).where(ScopeStamp.id == 1).scalar_subquery()
        return self._user_query(bindparam("user_id")).add_columns(unread, stamp, scope_stamp).where(
            model.active.is_(True),
            func.coalesce(model.fail_login_count, 0) < func.coalesce(threshold, DEFAULT_LOCKOUT_THRESHOLD),
        )

    def _user_query(self, pk: Any) -> Any:
        model = self.user_model
        # a group's roles count as the user's own (models.access.role_names): read with the user
        return select(model).where(model.id == pk).options(
            joinedload(model.roles), joinedload(model.groups).joinedload(Group.roles))

    def _granted(self, user: Any) -> tuple[frozenset[tuple[str, str]], tuple[Any, ...]]:
        """(permission, view) pairs of the user's database roles, and the user's built-in
        roles (FAB_ROLES): kept per request, and across requests per set of roles under the
        grants' stamp read with the user (models.access.GrantsStamp), so a changed role
        applies at every process's next request."""
        cached = g.get("granted_permissions")
        if cached is not None and cached[0] == user.id:
            return cached[1]
        roles = self.get_user_roles(user)
        builtin = tuple(role for role in roles if role.name in self.builtin_roles)
        role_ids = frozenset(role.id for role in roles if role.name not in self.builtin_roles)
        stamp = getattr(user, "grants_version", None)
        pairs = _PERMISSIONS.get((role_ids, stamp)) if stamp is not None else None
        if pairs is None:
            pairs = self._permission_pairs(role_ids)
            if stamp is not None:
                if len(_PERMISSIONS) >= 256:
                    _PERMISSIONS.clear()  # stamps moved on: what was kept under old ones is dead
                _PERMISSIONS[(role_ids, stamp)] = pairs
        g.granted_permissions = (user.id, (pairs, builtin))
        return pairs, builtin

    def _permission_pairs(self, role_ids: frozenset[int]) -> frozenset[tuple[str, str]]:
        if not role_ids:
            return frozenset()
        # plain tuples: the menu's cache key hashes them (a Row hashes slowly)
        return frozenset(tuple(row) for row in self.session.execute(
            select(Permission.name, ViewMenu.name)
            .select_from(PermissionView)
            .join(Permission, PermissionView.permission_id == Permission.id)
            .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
            .join(assoc_permissionview_role, assoc_permissionview_role.c.permission_view_id == PermissionView.id)
            .where(assoc_permissionview_role.c.role_id.in_(role_ids))
        ).tuples())

    def _has_view_access(self, user: Any, permission_name: str, view_name: str) -> bool:
        if not has_request_context() or getattr(user, "id", None) is None:
            return super()._has_view_access(user, permission_name, view_name)
        pairs, builtin = self._granted(user)
        return (permission_name, view_name) in pairs or any(
            self._has_access_builtin_roles(role, permission_name, view_name) for role in builtin
        )

    def _get_user_permission_view_menus(self, user: Any, permission_name: str, view_menus_name: list[str]) -> set[str]:
        if user is None or not has_request_context() or getattr(user, "id", None) is None:
            return super()._get_user_permission_view_menus(user, permission_name, view_menus_name)
        pairs, builtin = self._granted(user)
        found = {view for permission, view in pairs if permission == permission_name}
        for role in builtin:
            found |= {name for name in view_menus_name if self._has_access_builtin_roles(role, permission_name, name)}
        return found
