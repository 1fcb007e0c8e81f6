"""People as people read them: 姓 then 名 (李明, not "明 李"), never a login name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import current_app
from sqlalchemy import select


def person_name(first: str | None, last: str | None, username: str | None = None) -> str:
    """A Chinese name is family name first with no space; a Latin one keeps its order."""
    first, last = (first or "").strip(), (last or "").strip()
    if not (first or last):
        return username or ""
    if (first + last).isascii():
        return f"{first} {last}".strip()
    return f"{last}{first}"


def name_of(user: Any) -> str:
    return person_name(getattr(user, "first_name", None), getattr(user, "last_name", None),
                       getattr(user, "username", None))


def listed_name(row: Any) -> str:
    """An item of a list of accounts, roles or groups: an account by its name (赵委员, where FAB
    printed "委员 赵"), anything else as it prints."""
    return name_of(row) if hasattr(row, "username") else str(row)


def names_by_id(session: Any, user_ids: Iterable[int | None]) -> dict[int, str]:
    """user id -> display name, in one query (timelines and histories name many people)."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    user = current_app.appbuilder.sm.user_model
    rows = session.execute(select(user.id, user.first_name, user.last_name, user.username).where(user.id.in_(ids)))
    return {row.id: person_name(row.first_name, row.last_name, row.username) for row in rows}


def remember_logins(logins: Iterable[str | None]) -> None:
    """Read the names of these stored logins in one query, for ``login_name`` to find: a list
    page reads its rows' logins at once instead of one query per person."""
    from flask import g, has_request_context

    if not has_request_context():
        return
    names = g.setdefault("names_by_login", {})
    wanted = {login for login in logins if login and login not in names}
    if not wanted:
        return
    user = current_app.appbuilder.sm.user_model
    rows = current_app.appbuilder.session.execute(
        select(user.username, user.first_name, user.last_name).where(user.username.in_(wanted)))
    found = {row.username: person_name(row.first_name, row.last_name, row.username) for row in rows}
    names.update({login: found.get(login, login) for login in wanted})


def login_name(login: str | None) -> str:
    """A stored login as the person's name (王经理), for lists and exports of the audit log and
    the ballots' 录入人; names are read once per request. Logins no longer in use, 命令行,
    业主电子投票 and the like stay as they are."""
    from flask import g, has_request_context

    if not login or not has_request_context():
        return login or ""
    remember_logins([login])
    return g.names_by_login[login]


def actor_name(names: Mapping[int, str], user_id: int | None, login: str | None) -> str:
    """Who took a step: by the account id stored with it, else by its stored login (steps
    recorded without an id, as the demo's history and older rows are, still name the person)."""
    return names[user_id] if user_id in names else login_name(login)


def register(app: Any) -> None:
    app.jinja_env.globals["person_name"] = name_of
    app.jinja_env.globals["actor_name"] = actor_name
