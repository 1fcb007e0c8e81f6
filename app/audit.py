"""The audit trail (操作日志): every write to a declared entity leaves a record.

Session events do the work, so every route is covered without knowing about it:
forms, REST, Excel import, CLI, scripts. ``after_flush`` sees each flushed object
with its attribute history and its new id, and inserts the records with one Core
statement on the flush's own connection: the change and its record commit or roll
back together. Writes that bypass the ORM's unit of work are covered as follows:
ORM bulk statements (``session.execute(update(Unit)...)``) get one summary record,
Core bulk loads call :func:`record_bulk`; raw SQL is not seen.

The log is append-only three times over: no add/edit/delete route exists
(``AuditLog.Admin.actions``), the ORM refuses to change or delete a record
(:class:`AppendOnly`), and database triggers refuse UPDATE and DELETE (migration).

Record format: ``old_values``/``new_values`` are JSON objects keyed by attribute
name, holding column values only (foreign keys as ids, no relationships): all
columns in ``new_values`` for a create, all in ``old_values`` for a delete, only the
changed ones in both for an update. Decimals are strings at the column's scale
("89.50"), dates and datetimes ISO 8601 strings, booleans stay booleans. Columns
holding personal data (``info["masked"]``) are stored masked.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.base import NO_VALUE, NEVER_SET

from models.audit import AuditLog, utc_now
from models.base import Entity, admin_of

#: the user of writes made outside a web request (``flask`` commands, scripts)
CLI_USER = "命令行"
ANONYMOUS = "未登录用户"

_DELETED = "audit_deleted"  # session.info key: what deleted rows held before the flush
_TRANSITIONS = "audit_transitions"  # session.info key: transitions fired, recorded with their flush


class AppendOnly(Exception):
    """An attempt to change or delete a row of an append-only entity (logs, ledgers, ballots)."""

    def __init__(self, model: type) -> None:
        super().__init__(f"{admin_of(model).label}只能追加，不能修改或删除")


def append_only(model: Any) -> bool:
    return isinstance(model, type) and admin_of(model).append_only


# -- installing -----------------------------------------------------------------------

def install(target: Any = Session) -> None:
    """Listen on every ORM session (a Session class, or the app's ``db``: all sessions).

    Idempotent: creating a second app in the same process adds no second record.
    Inside an app context it also gives templates ``audit_changes`` (entity/show.html).
    """
    if not (isinstance(target, type) and issubclass(target, Session)):
        target = Session  # the db object: audit every session, whatever created it
    for name, listener in (
        ("before_flush", _before_flush),
        ("after_flush", _after_flush),
        ("do_orm_execute", _bulk_statement),
        ("after_soft_rollback", _forget_transitions),
    ):
        if not event.contains(target, name, listener):
            event.listen(target, name, listener)
    if has_app_context():
        from views.history import audit_changes

        current_app.add_template_global(audit_changes, "audit_changes")


def audited(model: type) -> bool:
    return isinstance(model, type) and issubclass(model, Entity) and model is not AuditLog


#: FAB's account tables, logged like the entities: who created, changed or deactivated an
#: account, who gave or took which role. Their models carry no Chinese labels, so the values
#: are kept ready to read, keyed by label. The password hash is never kept (a new one reads
#: 已修改) and what changes at every login (counters, times) is left out; an administrator's
#: unlock, which clears the failure count, is kept.
ACCOUNT_TABLES = {"ab_user": "用户账号", "ab_role": "角色", "ab_group": "用户组"}
ACCOUNT_FIELDS = {
    "username": "用户名", "first_name": "名", "last_name": "姓", "email": "电子邮箱", "active": "启用",
    "password": "密码", "fail_login_count": "连续登录失败次数", "name": "名称", "label": "显示名称",
    "description": "说明", "roles": "角色", "groups": "用户组", "users": "成员", "permissions": "权限",
}


def _account_table(model: type) -> str | None:
    table = getattr(model, "__tablename__", None)
    return table if table in ACCOUNT_TABLES and not issubclass(model, Entity) else None


def _readable(key: str, value: Any) -> Any:
    if key == "password":
        return "已设置" if value else ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        if key == "permissions":
            return f"{len(value)} 项"
        from views.people import listed_name

        return "、".join(sorted(map(listed_name, value)))
    return jsonable(value)


def _account_values(state: Any, action: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(old, new) of an account row's logged fields: all of them for "create"/"delete",
    the changed ones for "update"."""
    old, new = {}, {}
    for key, label in ACCOUNT_FIELDS.items():
        if key not in state.attrs:
            continue
        if action == "update":
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            prop = state.mapper.attrs[key]
            if hasattr(prop, "direction"):  # a collection: what was given and what was taken
                if history.added:
                    new[label] = ("增加 " if key != "permissions" else "授予 ") + _readable(key, history.added)
                if history.deleted:
                    old[label] = ("移除 " if key != "permissions" else "收回 ") + _readable(key, history.deleted)
                continue
            if key == "password":
                old[label], new[label] = "", "已修改"
                continue
            old[label] = _readable(key, history.deleted[0] if history.deleted else None)
            new[label] = _readable(key, history.added[0] if history.added else None)
        elif key != "fail_login_count":
            value = state.dict.get(key)
            if value not in (None, "", []):
                (new if action == "create" else old)[label] = _readable(key, value)
    return old, new


# -- values -----------------------------------------------------------------------------

def mask(kind: str, value: str) -> str:
    """Personal data as the log keeps it: enough to recognise, not enough to use."""
    text = str(value)
    if kind == "mobile" and len(text) >= 7:
        return text[:3] + "*" * (len(text) - 7) + text[-4:]
    if kind == "id_card" and len(text) > 10:
        return text[:6] + "*" * (len(text) - 10) + text[-4:]
    return text[:1] + "*" * max(len(text) - 2, 1) + text[-1:] if len(text) > 2 else "*" * len(text)


def jsonable(value: Any, column: Any = None) -> Any:
    """A column value as JSON: exact decimals at the column's scale, ISO dates."""
    if value is None or isinstance(value, (bool, int, str)):
        result = value
    elif isinstance(value, Decimal):
        scale = getattr(getattr(column, "type", None), "scale", None)
        if scale is not None and value.is_finite():
            try:
                value = value.quantize(Decimal(1).scaleb(-scale))
            except InvalidOperation:
                pass
        result = format(value, "f")
    elif isinstance(value, (dt.date, dt.datetime, dt.time)):
        result = value.isoformat()
    elif isinstance(value, float):
        result = value if value == value and abs(value) != float("inf") else str(value)
    else:
        result = str(value)
    kind = getattr(column, "info", {}).get("masked")
    if kind and isinstance(result, str) and result:
        result = mask(kind, result)
    return result


def dumps(values: dict[str, Any] | None) -> str | None:
    return None if values is None else json.dumps(values, ensure_ascii=False)


def _columns(model: type) -> list[tuple[str, Any]]:
    """(attribute name, column) of every mapped column, in table order."""
    return [(prop.key, prop.columns[0]) for prop in inspect(model).column_attrs]


def _loaded(state: Any, key: str) -> Any:
    """The value an attribute held before this flush's changes (NO_VALUE if unknown)."""
    if key in state.committed_state:
        value = state.committed_state[key]
        return NO_VALUE if value is NEVER_SET else value
    return state.dict.get(key, NO_VALUE)


def _row_of(session: Session, model: type, pk: Any) -> dict[str, Any] | None:
    """A row's column values read with Core (no ORM events, no autoflush, no scoping)."""
    if pk is None:
        return None
    mapper = inspect(model)
    row = session.connection().execute(
        select(mapper.local_table).where(mapper.primary_key[0] == pk)
    ).mappings().first()
    if row is None:
        return None
    return {key: row[column.key] for key, column in _columns(model)}


def _pk(state: Any) -> Any:
    """The primary key; a new row has its id in the instance (its identity key comes later)."""
    identity = state.key[1] if state.key else None
    if not identity:
        mapper = state.mapper
        identity = tuple(state.dict.get(mapper.get_property_by_column(c).key) for c in mapper.primary_key)
    if not identity or any(v is None for v in identity):
        return None
    return identity[0] if len(identity) == 1 else ",".join(map(str, identity))


# -- estate of a row (for scoping the log) ---------------------------------------------

def estate_of(session: Session, model: type, values: dict[str, Any], pk: Any = None,
              cache: dict | None = None) -> int | None:
    """Follow the model's ``scope_path`` from these column values to an estate id.

    Collections ("estates.id") and unscoped models give None. Related rows are read
    with Core selects on the session's connection: safe inside a flush.
    """
    path = admin_of(model).scope_path
    if not path:
        return None
    cache = {} if cache is None else cache
    *hops, last = path.split(".")
    for hop in hops:
        rel = inspect(model).relationships.get(hop)
        if rel is None or rel.uselist or len(rel.local_remote_pairs) != 1:
            return None
        local, _remote = rel.local_remote_pairs[0]
        fk_key = inspect(model).get_property_by_column(local).key
        if fk_key not in values and pk is not None:
            values = _row_of(session, model, pk) or {}
        key = values.get(fk_key)
        if key is None:
            return None
        model, pk = rel.mapper.class_, key
        if (model, key) not in cache:
            cache[(model, key)] = _row_of(session, model, key) or {}
        values = cache[(model, key)]
    if last not in values and pk is not None:
        values = _row_of(session, model, pk) or {}
    value = values.get(last)
    return value if isinstance(value, int) else None


# -- who and where ---------------------------------------------------------------------

def actor() -> dict[str, Any]:
    """user_id, username and ip of the current write."""
    if not has_request_context():
        # background work nobody asked for right now names itself (app/jobs.py: 定时任务)
        name = g.get("actor_name", CLI_USER) if has_app_context() else CLI_USER
        return {"user_id": None, "username": name, "ip": ""}
    ip = (request.remote_addr or "")[:45]
    user = getattr(g, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return {"user_id": user.id, "username": user.username, "ip": ip}
    return {"user_id": None, "username": ANONYMOUS, "ip": ip}


def _record(
    model: type, record_id: Any, action: str, *, old: dict | None = None, new: dict | None = None,
    estate_id: int | None = None, summary: str | None = None, who: dict[str, Any] | None = None,
    when: dt.datetime | None = None,
) -> dict[str, Any]:
    return {
        "created_at": when or utc_now(),
        **(who or actor()),
        "table_name": model.__tablename__,
        "table_label": admin_of(model).label or model.__tablename__,
        "record_id": None if record_id is None else str(record_id)[:64],
        "action": action,
        "estate_id": estate_id,
        "old_values": dumps(old),
        "new_values": dumps(new),
        "summary": summary[:200] if summary else None,
    }


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(insert(AuditLog.__table__), rows)


# -- the session events ----------------------------------------------------------------

def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if append_only(type(obj)):
            raise AppendOnly(type(obj))
    for obj in session.dirty:
        if append_only(type(obj)) and session.is_modified(obj):
            raise AppendOnly(type(obj))
    # What a deleted row held, read now while its related rows still exist.
    snapshots: dict[Any, tuple[dict[str, Any], int | None]] = {}
    cache: dict = {}
    for obj in session.deleted:
        model = type(obj)
        if not audited(model):
            continue
        state = inspect(obj)
        values = {key: _loaded(state, key) for key, _ in _columns(model)}
        if any(v is NO_VALUE for v in values.values()):
            stored = _row_of(session, model, _pk(state)) or {}
            values = {k: stored.get(k) if v is NO_VALUE else v for k, v in values.items()}
        snapshots[state] = (values, estate_of(session, model, values, _pk(state), cache))
    session.info[_DELETED] = snapshots


def _forget_transitions(session: Session, _previous: Any) -> None:
    """A step rolled back before its flush leaves nothing to record."""
    session.info.pop(_TRANSITIONS, None)


def _after_flush(session: Session, _context: Any) -> None:
    snapshots = session.info.pop(_DELETED, {})
    rows: list[dict[str, Any]] = []
    who, when, cache = None, utc_now(), {}

    def record(*args: Any, **kwargs: Any) -> None:
        nonlocal who
        who = who or actor()
        rows.append(_record(*args, who=who, when=when, **kwargs))

    transitions: dict[Any, dict[str, Any]] = session.info.pop(_TRANSITIONS, {})

    for obj in session.new:
        model = type(obj)
        if not audited(model):
            continue
        state = inspect(obj)
        values: dict[str, Any] = {}
        for key, column in _columns(model):
            if key in state.dict:
                values[key] = state.dict[key]
            elif column.server_default is None:
                values[key] = None  # inserted as NULL
        pk = _pk(state)
        new = {key: jsonable(values[key], column) for key, column in _columns(model) if key in values}
        record(model, pk, "create", new=new, estate_id=estate_of(session, model, values, pk, cache))

    for obj in session.dirty:
        model = type(obj)
        if not audited(model) or not session.is_modified(obj, include_collections=False):
            continue
        state = inspect(obj)
        old, new = {}, {}
        for key, column in _columns(model):
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            old[key] = jsonable(history.deleted[0] if history.deleted else None, column)
            new[key] = jsonable(history.added[0] if history.added else None, column)
        pk = _pk(state)
        values = {key: state.dict[key] for key, _ in _columns(model) if key in state.dict}
        fired = transitions.pop(obj, None)
        if fired is not None:
            # one record per workflow step: the state change and what the step changed with it
            field = admin_of(model).workflow.field
            old.pop(field, None)
            new.pop(field, None)
            record(model, pk, "transition", old=old or None, new={**fired, **new},
                   estate_id=estate_of(session, model, values, pk, cache))
            continue
        if not new:
            continue
        record(model, pk, "update", old=old, new=new, estate_id=estate_of(session, model, values, pk, cache))

    for obj in session.deleted:
        model = type(obj)
        if not audited(model):
            continue
        state = inspect(obj)
        values, estate_id = snapshots.get(state) or ({k: _loaded(state, k) for k, _ in _columns(model)}, None)
        old = {key: jsonable(values[key], column) for key, column in _columns(model)
               if values.get(key, NO_VALUE) is not NO_VALUE}
        record(model, _pk(state), "delete", old=old, estate_id=estate_id)

    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            table = _account_table(type(obj))
            if table is None:
                continue
            old, new = _account_values(inspect(obj), action)
            if action == "update" and not (old or new):
                continue
            record(type(obj), _pk(inspect(obj)), action, old=old or None, new=new or None)
            rows[-1]["table_label"] = ACCOUNT_TABLES[table]

    for obj, fired in transitions.items():  # a step that changed nothing else in the row
        state = inspect(obj)
        pk = _pk(state)
        values = {key: state.dict[key] for key, _ in _columns(type(obj)) if key in state.dict}
        record(type(obj), pk, "transition", new=fired, estate_id=estate_of(session, type(obj), values, pk, cache))
    _write(session, rows)


def _bulk_statement(state: ORMExecuteState) -> Any:
    """ORM bulk INSERT/UPDATE/DELETE bypass the flush: one summary record each."""
    if not (state.is_insert or state.is_update or state.is_delete) or not state.is_orm_statement:
        return None
    mapper = state.bind_mapper
    model = mapper.class_ if mapper is not None else None
    if append_only(model) and (state.is_update or state.is_delete):
        raise AppendOnly(model)
    if model is None or not audited(model):
        return None
    result = state.invoke_statement()
    params = state.parameters
    count = len(params) if isinstance(params, list) else None
    if state.is_insert:
        action, verb = "bulk", "新增"
    else:
        action, verb = ("update", "修改") if state.is_update else ("delete", "删除")
        rowcount = getattr(result, "rowcount", -1)
        count = rowcount if rowcount is not None and rowcount >= 0 else count
    summary = f"批量{verb} {count} 条" if count is not None else f"批量{verb}"
    _write(state.session, [_record(model, None, action, summary=summary)])
    return result


# -- explicit records -------------------------------------------------------------------

def record_bulk(session: Session, model: type[Entity], count: int, summary: str | None = None,
                estate_id: int | None = None) -> None:
    """One record for rows loaded with Core bulk inserts (which no ORM event sees)."""
    _write(session, [_record(
        model, None, "bulk", new={"count": count}, estate_id=estate_id,
        summary=summary or f"批量导入 {count} 条",
    )])


def record_transition(session: Session, obj: Entity, from_state: Any, to_state: Any,
                      comment: str | None = None) -> None:
    """A workflow step (e.g. 待审核 → 已通过) of one record, with the person's comment: written
    with the flush that saves the step, as one record together with the fields it changed."""
    if inspect(obj).key is None:
        session.flush()
    fired = {"from": jsonable(from_state), "to": jsonable(to_state), "comment": comment or ""}
    if session.is_modified(obj, include_collections=False):
        session.info.setdefault(_TRANSITIONS, {})[obj] = fired
        return
    model, state = type(obj), inspect(obj)  # nothing else to flush: recorded at once
    pk = _pk(state)
    values = {key: state.dict[key] for key, _ in _columns(model) if key in state.dict}
    _write(session, [_record(model, pk, "transition", new=fired, estate_id=estate_of(session, model, values, pk))])


def record_lookup(session: Session, model: type[Entity], lookups: list[tuple[str, str]]) -> None:
    """A search by a whole personal number by someone who sees it masked (views.masking):
    (what was searched, the number as masked) per lookup; in the request's scope."""
    _write(session, [_record(
        model, None, "lookup", new={label: value for label, value in lookups},
        estate_id=_single_estate(), summary="按完整号码查询：" + "，".join(f"{label} {value}" for label, value in lookups),
    )])


def _single_estate() -> int | None:
    """The estate of a user who manages exactly one (their log rows are theirs), else None."""
    from app.scoping import current_estate_ids

    ids = current_estate_ids()
    return next(iter(ids)) if ids is not None and len(ids) == 1 else None


def record_all(session: Session, counts: Iterable[tuple[type[Entity], int]], summary: str) -> None:
    """``record_bulk`` for several tables: ``summary`` may contain ``{count}``."""
    for model, count in counts:
        if count:
            record_bulk(session, model, count, summary.format(count=count))
