"""Security manager: FAB's, plus the rule that demo passwords stay on this machine."""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import current_app, request
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView


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


class UserView(UserDBModelView):
    class_permission_name = "UserDBModelView"  # keep FAB's permission names
    formatters_columns = {"active": _yes_no}


class AppSecurityManager(SecurityManager):
    userdbmodelview = UserView

    def auth_user_db(self, username: str, password: str) -> Any:
        user = super().auth_user_db(username, password)
        # The demo password is public (README): it opens nothing on a reachable server.
        if user is not None and password == current_app.config["DEMO_PASSWORD"] and not served_on_loopback():
            return None
        return user
