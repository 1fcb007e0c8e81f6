"""The value rules of an entity, collected from its declaration.

One list of rules serves every write path: the HTML forms, the REST API and the
Excel import all ask :func:`violations` and show the same Chinese messages on the
same fields. The database constraints (CHECK, UNIQUE, FOREIGN KEY) stay as the
last line of defence; ``views.errors`` translates what still reaches them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import UniqueConstraint, inspect, select, tuple_
from sqlalchemy.orm import Session

from models.base import Entity, batches, normalized


def column_info(model: type[Entity], name: str) -> dict[str, Any]:
    """The ``info`` of a column or relationship attribute (empty for neither)."""
    attr = inspect(model).attrs.get(name)
    if attr is None:
        return {}
    if hasattr(attr, "columns"):
        return attr.columns[0].info
    return attr.info


def label(model: type[Entity], name: str) -> str:
    return column_info(model, name).get("label", name)


def relationship_for(model: type, fk_column: str) -> Any:
    """The many-to-one relationship that a foreign-key column backs (None for other columns)."""
    for rel in inspect(model).relationships:
        if rel.direction.name == "MANYTOONE" and any(c.key == fk_column for c in rel.local_columns):
            return rel
    return None


def _value(model: type[Entity], values: Mapping[str, Any], column: str) -> Any:
    """A column's value, also when the caller only has the related object."""
    if column in values:
        return values[column]
    rel = relationship_for(model, column)
    if rel is not None and values.get(rel.key) is not None:
        return identity_of(values[rel.key])
    return None


def identity_of(obj: Any) -> Any:
    """The primary key of a loaded or flushed row; None for a row not yet saved."""
    identity = inspect(obj).identity
    return identity[0] if identity else None


class Uniqueness(NamedTuple):
    """A set of columns no two rows share: a unique constraint, or a partial unique index
    (``models.base.unique_where``) that leaves out the rows with an ``empty`` column set."""

    name: str | None
    columns: tuple[str, ...]
    message: str
    empty: tuple[str, ...] = ()

    def key(self, value: Callable[[str], Any]) -> tuple[Any, ...] | None:
        """The key of a row (``value(column)``) under this rule; None when the rule does not
        apply to it: a column of the key is empty (NULL equals nothing), or an ``empty`` one is set."""
        key = tuple(value(c) for c in self.columns)
        if any(v in (None, "") for v in key) or any(value(c) not in (None, "") for c in self.empty):
            return None
        return key

    def among(self, model: type[Entity]) -> list[Any]:
        """The rows this rule covers, as a WHERE clause."""
        return [getattr(model, c).is_(None) for c in self.empty]


def unique_sets(model: type[Entity]) -> Iterator[Uniqueness]:
    """Every uniqueness the table declares (an index declares one by carrying a message)."""
    table = model.__table__
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            cols = tuple(c.key for c in constraint.columns)
            yield Uniqueness(constraint.name, cols, constraint.info.get("message") or f"{label(model, cols[-1])}已存在")
    for index in table.indexes:
        if index.unique and "message" in index.info:
            yield Uniqueness(index.name, tuple(c.key for c in index.columns), index.info["message"],
                             index.info.get("empty", ()))
    for column in table.columns:
        if column.unique:
            yield Uniqueness(None, (column.key,), f"{label(model, column.key)}已存在")


def _field_for(model: type[Entity], column: str) -> str:
    """The form field that shows a column: its relationship for a foreign key."""
    rel = relationship_for(model, column)
    return rel.key if rel is not None else column


def violations(
    model: type[Entity],
    values: Mapping[str, Any],
    session: Session | None = None,
    pk: Any = None,
) -> list[tuple[str, str]]:
    """Every (field, Chinese message) the given values break. Empty means valid.

    ``values`` maps attribute names (columns or relationships) to Python values;
    ``pk`` is the row being edited, so that it does not collide with itself.
    """
    values = normalized(model, dict(values))
    found: list[tuple[str, str]] = []
    for name, value in values.items():
        check = column_info(model, name).get("check")
        if check and value not in (None, ""):
            if message := check(value):
                found.append((name, message))
    for start, end in model.Admin.date_order:
        if values.get(start) and values.get(end) and values[end] < values[start]:
            found.append((end, f"{label(model, end)}不能早于{label(model, start)}"))
    for rule in model.Admin.rules:
        found.extend(rule(dict(values)))
    if session is not None:
        found.extend(_duplicates(model, values, session, pk))
    return found


def stored_duplicates(
    model: type[Entity], rows: Sequence[Mapping[str, Any]], session: Session
) -> dict[int, list[tuple[str, str]]]:
    """:func:`violations`' duplicate check for many new rows at once (an import): row index →
    (field, message) for each stored row it collides with. One query per unique set and
    batch of keys, not one per row and set (10,000 owners: 20,000 queries)."""
    found: dict[int, list[tuple[str, str]]] = {}
    rows = [normalized(model, dict(values)) for values in rows]
    for unique in unique_sets(model):
        keys: dict[tuple[Any, ...], list[int]] = {}
        for index, values in enumerate(rows):
            key = unique.key(lambda c, values=values: _value(model, values, c))
            if key is not None:
                keys.setdefault(key, []).append(index)
        attrs = [getattr(model, c) for c in unique.columns]
        for chunk in batches(list(keys)):
            with session.no_autoflush:
                stored = session.execute(select(*attrs).where(tuple_(*attrs).in_(chunk), *unique.among(model))).all()
            for key in stored:
                for index in keys.get(tuple(key), ()):
                    found.setdefault(index, []).append((_field_for(model, unique.columns[-1]), unique.message))
    return found


def _duplicates(
    model: type[Entity], values: Mapping[str, Any], session: Session, pk: Any
) -> Iterator[tuple[str, str]]:
    values = normalized(model, dict(values))
    for unique in unique_sets(model):
        key = unique.key(lambda c: _value(model, values, c))
        if key is None:
            continue
        query = select(model.id).where(*(getattr(model, c) == v for c, v in zip(unique.columns, key)),
                                       *unique.among(model))
        if pk is not None:
            query = query.where(model.id != pk)
        with session.no_autoflush:
            if session.execute(query.limit(1)).first():
                yield _field_for(model, unique.columns[-1]), unique.message
