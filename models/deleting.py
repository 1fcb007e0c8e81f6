"""Why a row cannot be deleted, known before anyone clicks 删除.

Two things refuse a delete: the row (or the document it is a line of) is in a frozen state
(``models.workflow.frozen_refusals``), or other rows still refer to it through a foreign key
that does not cascade (a 楼栋 with its 房屋, a 房屋 with its 账单). The second is read from the
schema: every foreign key to the table and, through the ones that cascade (a 收费标准's lines
go with it), every foreign key to what cascades, so a new entity needs no declaration here.
The database stays the last word; this says the same earlier and names what is in the way,
where the database only says "FOREIGN KEY constraint failed".
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from functools import cache
from typing import Any

from flask_appbuilder import Model
from sqlalchemy import ForeignKeyConstraint, Select, Table, and_, bindparam, literal_column, select
from sqlalchemy.orm import Session

from models.base import ALL_ESTATES, admin_of, is_implied
from models.workflow import frozen_refusals

#: how many kinds of referring rows a refusal names (an estate has fifty)
_NAMED = 4


def _references_to(table: Table) -> Iterator[ForeignKeyConstraint]:
    """The foreign keys of every table that point at ``table`` (those the database checks)."""
    for other in Model.metadata.sorted_tables:
        for constraint in other.foreign_key_constraints:
            if constraint.referred_table is table and not is_implied(constraint):
                yield constraint


def _cascades(constraint: ForeignKeyConstraint) -> bool:
    """Whether deleting the referenced row takes the referring rows with it: by the database
    (ON DELETE CASCADE) or by the ORM (a delete-cascading relationship on the referenced side)."""
    if constraint.ondelete == "CASCADE":
        return True
    return any(relation.cascade.delete and set(constraint.columns) & set(relation.remote_side)
               for mapper in Model.registry.mappers for relation in mapper.relationships)


def _paths(table: Table, seen: frozenset[str]) -> Iterator[list[ForeignKeyConstraint]]:
    """Each chain of references that ends in a row refusing the delete: [a key pointing at
    ``table``, a key pointing at that key's table, ...], all but the last cascading."""
    for constraint in _references_to(table):
        if constraint.ondelete == "SET NULL":
            continue
        if not _cascades(constraint):
            yield [constraint]
        elif constraint.table.name not in seen:
            for rest in _paths(constraint.table, seen | {constraint.table.name}):
                yield [constraint, *rest]


def _refers(constraint: ForeignKeyConstraint, referring: Any, referred: Any) -> Any:
    return and_(*(referring.c[key.parent.name] == referred.c[key.column.name] for key in constraint.elements))


#: the page's ids, written into the statement as numbers (they are the rows' own integer ids):
#: an estate's statement names them 52 times, and as parameters that cost more than the query
_IDS = bindparam("ids", expanding=True, literal_execute=True)


@cache
def _statement(table: Table) -> tuple[Select, list[str]] | None:
    """The rows of ``table`` bound to ``ids`` with, per chain of references, whether any row at
    its end refers to them, and the table each chain ends in.

    One statement, a correlated EXISTS per chain (each stops at the first referring row: a
    收费项目 has a million bills); PostgreSQL plans it about three times faster than a UNION of
    the chains. Each EXISTS also names the ids themselves: the planner then knows how many rows
    those ids have (none, for most 小区 in the vote rolls) instead of guessing an average and
    reading a whole table once per id."""
    chains, ends = [], []
    for path in _paths(table, frozenset({table.name})):
        aliases = [constraint.table.alias() for constraint in path]
        referring = select(literal_column("1")).select_from(aliases[0])
        for referred, alias, constraint in zip(aliases, aliases[1:], path[1:]):
            referring = referring.join(alias, _refers(constraint, alias, referred))
        # a key to other columns than the id (a bill's to its 收费标准's line) gets no such hint
        hints = [aliases[0].c[key.parent.name].in_(_IDS) for key in path[0].elements if key.column is table.c.id]
        chains.append(referring.where(_refers(path[0], aliases[0], table), *hints).exists())
        ends.append(path[-1].table.name)
    if not chains:
        return None
    return select(table.c.id, *chains).where(table.c.id.in_(_IDS)), ends


@cache
def _kinds() -> dict[str, tuple[str, bool]]:
    """Per table: what its rows are called, and whether people can delete them (a 账单 or a
    资金流水 is kept for good, so "delete them first" would be no advice)."""
    kinds = {}
    for mapper in Model.registry.mappers:
        admin = admin_of(mapper.class_)
        kinds[mapper.local_table.name] = (
            getattr(admin, "label", "") or "其他记录",
            "delete" in getattr(admin, "actions", ()) and not getattr(admin, "append_only", False))
    return kinds


def referring_kinds(session: Session, model: type, ids: Collection[Any]) -> dict[Any, tuple[str, ...]]:
    """For each of ``ids`` that other rows still refer to: the tables they are in, in schema order."""
    built = _statement(model.__table__)
    if built is None or not ids:
        return {}
    statement, ends = built
    kinds: dict[Any, tuple[str, ...]] = {}
    # every reference refuses, whichever 小区 it is in (the ids are rows the person was shown)
    for pk, *found in session.execute(statement, {"ids": list(ids)}, execution_options={ALL_ESTATES: True}):
        tables = tuple(end for end, refers in zip(ends, found) if refers)
        if tables:
            kinds[pk] = tables
    return kinds


@cache
def _refusal(tables: tuple[str, ...]) -> str:
    known = _kinds()
    labels = list(dict.fromkeys(known.get(table, ("其他记录", False))[0] for table in tables))
    named = "、".join(labels[:_NAMED]) + (f"等 {len(labels)} 类记录" if len(labels) > _NAMED else "")
    advice = "；请先删除或改动这些记录" if all(known.get(table, ("", False))[1] for table in tables) else ""
    return f"还有{named}与它关联，不能删除{advice}"


def delete_refusals(session: Session, model: type, ids: Collection[Any],
                     states: Mapping[Any, str] | None = None) -> dict[Any, str]:
    """Why each of ``ids`` cannot be deleted now, in the words shown on its 删除 button and in
    the refusal (ids not named may be deleted, as far as their state and references go);
    ``states``: their frozen states, when the list has read them already."""
    refusals = frozen_refusals(session, model, ids, "delete", states)
    for pk, tables in referring_kinds(session, model, [pk for pk in ids if pk not in refusals]).items():
        refusals[pk] = _refusal(tables)
    return refusals
