"""变更历史: the audit records of one record, and how a record's values read.

The page shows a record's history only to those who can see the record: it is
looked up through the view's own data layer (its base filters and the estate
scoping), and a record out of reach answers 404 exactly like a missing one.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import abort, url_for
from sqlalchemy import func, inspect, select

from app.extensions import db
from models.audit import ACTIONS, AuditLog
from models.clock import to_local
from models.base import ALL_ESTATES, Entity, declared_entities, kept_columns
from models.rules import column_info, relationship_for
from views.people import actor_name, names_by_id

#: the audit records of a record the user may see are shown whatever estate they name
_ALL_ESTATES = {ALL_ESTATES: True}
EMPTY = "（空）"


def history_page(view: Any, pk: int) -> Any:
    item = view.datamodel.get(pk, view._base_filters)
    if item is None:
        abort(404)
    model = view.model
    label = model.Admin.label
    endpoint = getattr(view, "endpoint", None) or type(view).__name__
    logs = records(model, pk)
    names = names_by_id(db.session, (log.user_id for log in logs))
    entries = [entry(model, log, names) for log in logs]
    return view.render_template(
        "entity/history.html",
        title=f"{label}变更历史",
        entity_label=label,
        record=str(item),
        entries=entries,
        show_url=url_for(f"{endpoint}.show", pk=pk),
    )


def records(model: type[Entity], pk: Any) -> list[AuditLog]:
    """Newest first; only since the record's id was last deleted (SQLite reuses ids)."""
    same = (AuditLog.table_name == model.__tablename__, AuditLog.record_id == str(pk))
    last_delete = select(func.max(AuditLog.id)).where(*same, AuditLog.action == "delete").scalar_subquery()
    query = (
        select(AuditLog)
        .where(*same, AuditLog.id > func.coalesce(last_delete, 0))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    )
    return list(db.session.execute(query, execution_options=_ALL_ESTATES).scalars())


def local_time(value: dt.datetime | None) -> str:
    """Beijing time, to the second (stored values are UTC)."""
    if value is None:
        return ""
    return to_local(value).strftime("%Y-%m-%d %H:%M:%S")


def entry(model: type[Entity], log: AuditLog, names: dict[int, str] | None = None) -> dict[str, Any]:
    return {
        "time": local_time(log.created_at),
        "user": actor_name(names or {}, log.user_id, log.username),
        "ip": log.ip,
        "action": ACTIONS.label(log.action),
        "action_code": log.action,
        "summary": log.summary or "",
        "changes": changes(model, log.action, log.old_values, log.new_values),
    }


# -- values as a person reads them -------------------------------------------------------

def model_of(table_name: str) -> type[Entity] | None:
    return next((m for m in declared_entities() if m.__tablename__ == table_name), None)


def field_label(model: type[Entity] | None, key: str) -> str:
    if model is None:
        return key
    info = column_info(model, key)
    if "label" in info:
        return info["label"]
    rel = relationship_for(model, key)
    if rel is not None:
        return rel.info.get("label", key)
    return key


class _Reader:
    """Formats stored JSON values; related rows are named once per page, if visible."""

    def __init__(self, model: type[Entity] | None):
        self.model = model
        self.names: dict[tuple[type, Any], str] = {}

    def __call__(self, key: str, value: Any) -> str:
        if value is None or value == "":
            return EMPTY
        model = self.model
        if model is None:
            return str(value)
        info = column_info(model, key)
        if "choices" in info:
            return info["choices"].label(value)
        if isinstance(value, bool):
            return "是" if value else "否"
        rel = relationship_for(model, key)
        if rel is not None:
            return self.related(rel.mapper.class_, value)
        if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
            return value.replace("T", " ")  # an ISO datetime
        return str(value)

    def related(self, target: type, pk: Any) -> str:
        if (target, pk) not in self.names:
            # through the scoped session: a row the user cannot see is only a number
            row = db.session.get(target, pk)
            self.names[(target, pk)] = str(row) if row is not None else f"编号 {pk}"
        return self.names[(target, pk)]


def changes(model: type[Entity] | None, action: str, old_json: str | None, new_json: str | None,
            reader: _Reader | None = None) -> list[dict[str, str]]:
    """[{field, old, new}] in column order, labelled and formatted in Chinese."""
    old = json.loads(old_json) if old_json else {}
    new = json.loads(new_json) if new_json else {}
    if action == "transition":
        label, name = _state_label(model, new.get("from"), new.get("to"))
        rows = [{"field": label, "old": name(new.get("from")), "new": name(new.get("to"))}]
        if new.get("comment"):
            rows.append({"field": "说明", "old": "", "new": str(new["comment"])})
        step = {k: v for k, v in new.items() if k not in ("from", "to", "comment")}
        if step:  # what the step changed with the state (a publication date, a new deadline)
            rows += changes(model, "update", json.dumps(old), json.dumps(step), reader)
        return rows
    if action == "bulk" or model is None and not (old or new):
        return []
    read = reader or _Reader(model)
    derived = kept_columns(model) if model is not None else frozenset()
    old = {k: v for k, v in old.items() if k not in derived}
    new = {k: v for k, v in new.items() if k not in derived}
    order = [p.key for p in inspect(model).column_attrs] if model is not None else []
    keys = [k for k in order if k in old or k in new] + [k for k in {**old, **new} if k not in order]
    return [
        {
            "field": field_label(model, key),
            "old": read(key, old[key]) if key in old else "",
            "new": read(key, new[key]) if key in new else "",
        }
        for key in keys
    ]


def _state_label(model: type[Entity] | None, *codes: Any) -> tuple[str, Any]:
    """The label of the state column whose choices hold these codes, and how a code reads."""
    props = list(inspect(model).column_attrs) if model is not None else []
    for prop in sorted(props, key=lambda p: p.key not in ("state", "status")):
        choices = prop.columns[0].info.get("choices")
        if choices is not None and all(c is None or c in choices.labels for c in codes):
            return prop.columns[0].info.get("label", "状态"), lambda c: choices.label(c) if c else EMPTY
    return "状态", lambda c: str(c) if c not in (None, "") else EMPTY


def audit_changes(table_name: str, action: str, old_json: str | None, new_json: str | None) -> list[dict[str, str]]:
    """For templates (the 操作日志 show page): an audit record's values, readable."""
    return changes(model_of(table_name), action, old_json, new_json)
