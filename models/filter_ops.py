"""The filter operators of every kind of column, in one table.

A list page's URL carries a filter as ``_flt_<n>_<column>=<value>`` (Flask-AppBuilder's
form), ``n`` being the operator's place in its kind's list below; REST clients name the
operator (``opr``). The places keep Flask-AppBuilder's where it had the same operator,
so bookmarked links keep working. Links built in code (the workbench, dashboards) ask
:func:`filter_arg` instead of writing ``n`` by hand.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect

from models.base import value_kind

#: (op, Chinese label) per kind, in URL order
OPS: dict[str, tuple[tuple[str, str], ...]] = {
    "text": (("sw", "开头是"), ("ew", "结尾是"), ("ct", "包含"), ("eq", "等于"), ("neq", "不等于")),
    "choice": (("eq", "等于"), ("neq", "不等于"), ("in", "属于")),
    "boolean": (("eq", "等于"),),
    "relation": (("rel_o_m", "等于"), ("nrel_o_m", "不等于")),
    "number": (("eq", "等于"), ("gt", "大于"), ("lt", "小于"), ("neq", "不等于"),
               ("ge", "不小于"), ("le", "不大于")),
    "date": (("eq", "等于"), ("gt", "晚于"), ("lt", "早于"), ("neq", "不等于"),
             ("ge", "从"), ("le", "至")),
}
OPS["datetime"] = OPS["date"]


def column_kind(model: type, path: str) -> str | None:
    """The kind of ``path`` on ``model`` ("status", "building", "unit.building",
    "ownerships.unit": any of the rows), or None when it cannot be filtered (a bare
    collection, an unknown name)."""
    head, _, rest = path.partition(".")
    mapper = inspect(model)
    if head in mapper.relationships:
        rel = mapper.relationships[head]
        if rel.uselist and not rest:
            return None  # a collection itself is no value; "ownerships.unit" (any of them) is
        return column_kind(rel.mapper.class_, rest) if rest else "relation"
    if rest or head not in mapper.column_attrs:
        return None
    kind = value_kind(mapper.column_attrs[head].columns[0])
    return {"bool": "boolean", "decimal": "number", "int": "number"}.get(kind, kind)


def op_index(kind: str, op: str) -> int:
    for index, (name, _) in enumerate(OPS[kind]):
        if name == op:
            return index
    raise KeyError(f"operator {op!r} does not exist for {kind} columns")


def filter_arg(model: type, path: str, op: str = "eq") -> str:
    """The URL argument of one filter: ``filter_arg(Hazard, "state") == "_flt_0_state"``."""
    kind = column_kind(model, path)
    if kind is None:
        raise KeyError(f"{model.__name__}.{path} cannot be filtered")
    if kind == "relation" and op in ("eq", "neq"):
        op = {"eq": "rel_o_m", "neq": "nrel_o_m"}[op]
    return f"_flt_{op_index(kind, op)}_{path}"


def filter_args(model: type, **conditions: tuple[str, Any] | Any) -> dict[str, Any]:
    """Several filters: ``filter_args(Hazard, state=("neq", "closed"), due_on=("lt", day))``;
    a bare value means 等于."""
    found = {}
    for path, condition in conditions.items():
        op, value = condition if isinstance(condition, tuple) else ("eq", condition)
        found[filter_arg(model, path.replace("__", "."), op)] = value
    return found
