"""Estate scoping in the data layer: the most important security property.

Every ORM statement run while a signed-in user is served gets, for every estate-owned
entity it touches, the criterion "belongs to one of the user's estates"
(``with_loader_criteria``). That covers every route FAB or we expose (lists and their
counts, show/edit/delete by id, REST, related select boxes, lookups, exports, imports,
relationship loads) without any view knowing about it: an out-of-scope row simply
does not exist. Writes are checked once more before the flush, so a foreign key cannot
point at (or move a row to) another estate.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import ColumnElement, TextClause
from sqlalchemy.sql.util import find_tables

from app.roles import ADMIN
from models.access import estate_ids_of, role_names
from models.base import ALL_ESTATES, Entity, admin_of, among, declared_entities, derived_tables
from models.errors import Refused
from models.rules import identity_of, relationship_for


class OutOfScope(Refused):
    """A write that would touch another estate's data (400, never 403: reveals nothing)."""


def scoped_models() -> list[type[Entity]]:
    """The estate-owned entities, and the totals the database keeps from them."""
    return [m for m in declared_entities() if m.Admin.scope_path] + derived_tables()


def clause(model: type, path: str, estate_ids: Iterable[int], dialect: str) -> ColumnElement[bool]:
    """SQL for "the row at the end of ``path`` belongs to one of these estates"."""
    name, _, rest = path.partition(".")
    attr = getattr(model, name)
    if not rest:
        return among(attr, estate_ids, dialect)
    rel = inspect(model).relationships[name]
    inner = clause(rel.mapper.class_, rest, estate_ids, dialect)
    return attr.any(inner) if rel.uselist else attr.has(inner)


def current_estate_ids() -> frozenset[int] | None:
    """The estates the current user may see; None means every estate.

    Computed once per request. Outside a request (CLI, migrations) nothing is
    scoped; an anonymous request sees no estate data at all.
    """
    if not has_request_context():
        return None
    if "estate_scope" in g:
        return g.estate_scope
    # A JWT-authenticated API call sets g.user (FAB's load_user_jwt); a browser session
    # is Flask-Login's current_user.
    user = getattr(g, "user", None)
    if user is None or not user.is_authenticated:
        user = current_user
    if user is None or not user.is_authenticated:
        return frozenset()  # not cached: authentication may still happen in this request
    if ADMIN in role_names(user):
        scope: frozenset[int] | None = None
    else:
        scope, g.scope_is_every_estate = _granted_estates(user)
    g.estate_scope = scope
    return scope


#: (user id, scope stamp) -> (the user's estates, whether that is every estate), in this process
_SCOPES: dict[tuple[Any, int], tuple[frozenset[int], bool]] = {}


def _granted_estates(user: Any) -> tuple[frozenset[int], bool]:
    """A user's estates, kept across requests under the scope stamp read with the user
    (models.access.ScopeStamp): a grant or an estate that changes moves the stamp, so the
    next request of every process reads them afresh."""
    stamp = getattr(user, "scope_version", None)
    found = _SCOPES.get((user.id, stamp)) if stamp is not None else None
    if found is None:
        from app.extensions import db

        estate_ids, every = estate_ids_of(db.session, user.id)
        found = (frozenset(estate_ids), every)
        if stamp is not None:
            if len(_SCOPES) >= 4096:
                _SCOPES.clear()  # the stamp moved on: what was kept under old ones is dead
            _SCOPES[(user.id, stamp)] = found
    return found


def _limit_to_scope(state: ORMExecuteState) -> None:
    if state.execution_options.get(ALL_ESTATES) or not has_request_context():
        return
    if isinstance(state.statement, TextClause):
        # raw SQL names no entity the criteria could attach to: a scoped user's request
        # may not run it (code that has already scoped its parameters says ALL_ESTATES)
        if current_estate_ids() is not None:
            raise OutOfScope("该查询无法按小区限定，已拒绝执行")
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    tables = scoped_tables_in(state.statement)
    if tables:
        state.statement = state.statement.options(*scope_options(tables))


def scoped_tables_in(statement: Any) -> frozenset[str]:
    """The estate-owned tables anywhere in the statement: its FROM, a select_from, a join, a
    subquery, a CTE, an EXISTS. Only a statement that provably touches none runs without
    criteria (fail closed: the user and permission reads of every request need none)."""
    names = _scoped_table_names()
    found = set()
    for table in find_tables(statement, check_columns=True, include_aliases=True, include_joins=True):
        name = getattr(getattr(table, "original", table), "name", None)  # an alias: its table
        if name in names:
            found.add(name)
    return frozenset(found)


@lru_cache(maxsize=1)
def _scoped_table_names() -> frozenset[str]:
    return frozenset(model.__tablename__ for model in scoped_models())


def scope_options(tables: frozenset[str] | None = None) -> list[Any]:
    """Loader criteria restricting the estate-owned entities of ``tables`` (None: all of them)
    to the user's estates.

    The session listener adds them to each statement it runs, for the tables the statement
    names and the entities one relationship away (what its joined eager loads add when it is
    compiled). Deeper eager loads follow foreign keys of rows already in scope, which the
    flush check keeps in the same estate. A statement that is only used as a subquery
    (``Query.count()`` wraps one) must carry the criteria itself.
    Aliases are left alone: FAB's REST layer joins a row's related rows under an
    alias (the relation's name) with its own ON clause, which SQLAlchemy cannot adapt
    the criteria into; such a join only follows a foreign key of a row that is itself
    in scope, and every related row of an in-scope row belongs to the same estate.
    """
    estate_ids = current_estate_ids()
    if estate_ids is None:
        return []
    from app.extensions import db

    return list(_options_for(estate_ids, bool(g.get("scope_is_every_estate")),
                             _scoped_table_names() if tables is None else _with_neighbours(tables),
                             db.engine.dialect.name))


@lru_cache(maxsize=512)
def _with_neighbours(tables: frozenset[str]) -> frozenset[str]:
    """These tables and the estate-owned tables one relationship away from them."""
    names = _scoped_table_names()
    found = set(tables)
    for model in scoped_models():
        if model.__tablename__ in tables:
            found.update(rel.mapper.local_table.name for rel in inspect(model).relationships)
    return frozenset(found & names)


@lru_cache(maxsize=2048)
def _options_for(estate_ids: frozenset[int], every_estate: bool, tables: frozenset[str],
                 dialect: str) -> tuple[Any, ...]:
    """The criteria for one set of estates and tables: immutable, so built once and shared by
    every statement of that shape of every user with that scope. Building them, and the cache
    keys SQLAlchemy computes over them, is what scoping costs a page: one criterion per table
    the statement can reach rather than one per estate-owned entity (~60).

    A jurisdiction of every estate there is (a city-wide official) needs no criterion on
    a table whose every row is in some estate: "estate_id IN (all of them)" changes no
    result there, yet makes each COUNT step through every index entry (SQLite: 50 ms
    instead of 5 over 1.3 M bills). Rows that may be in no estate (the audit log's
    system records) keep theirs; writes are checked against the estates themselves.
    "Every estate" is decided afresh by each request (models.access.estate_ids_of): on
    PostgreSQL (READ COMMITTED) an estate another user creates during this very request
    could still show in its later statements; from the next request on it is hidden.
    """
    return tuple(
        with_loader_criteria(model, clause(model, model.Admin.scope_path, estate_ids, dialect))
        for model in scoped_models()
        if model.__tablename__ in tables and not (every_estate and _always_in_an_estate(model))
    )


def _always_in_an_estate(model: type[Entity]) -> bool:
    """The scope path is a NOT NULL foreign key to an estate (or the estate's own id)."""
    column = model.__table__.columns.get(model.Admin.scope_path)
    if column is None or column.nullable:
        return False
    return (column.primary_key and column.table.name == "estate") or any(
        fk.column.table.name == "estate" for fk in column.foreign_keys)


def estates_of(session: Session, obj: Any) -> set[int | None]:
    """The estate ids a (possibly new) row belongs to, following its scope path."""
    path = admin_of(type(obj)).scope_path
    objects: list[Any] = [obj]
    parts = path.split(".")
    for name in parts[:-1]:
        nxt: list[Any] = []
        for item in objects:
            value = getattr(item, name)
            if value is None:
                value = _load_by_foreign_key(session, item, name)
            if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
                nxt.extend(value)
            elif value is not None:
                nxt.append(value)
        objects = nxt
    return {_current_key(item, parts[-1]) for item in objects}


def _current_key(item: Any, column: str) -> Any:
    """A foreign key as it will be after the flush.

    Forms, REST and imports set the relationship (``unit.building = b``); the key
    column only follows at the flush, so before it the relationship is the truth.
    """
    if isinstance(item, _Missing):
        return None
    rel = relationship_for(type(item), column)
    if rel is not None and rel.key in item.__dict__:
        related = item.__dict__[rel.key]
        return identity_of(related) if related is not None else None
    return getattr(item, column)


def _load_by_foreign_key(session: Session, item: Any, relation: str) -> Any:
    """A many-to-one given only by its id: fetched through the scoped session (or None)."""
    rel = inspect(type(item)).relationships[relation]
    if rel.uselist:
        return None
    key = getattr(item, next(iter(rel.local_columns)).key)
    if key is None:
        return None
    with session.no_autoflush:
        return session.execute(
            select(rel.mapper.class_).where(rel.mapper.primary_key[0] == key)
        ).scalar_one_or_none() or _Missing()


class _Missing:
    """Stands for a referenced row the user cannot see: it belongs to no visible estate."""

    def __getattr__(self, name: str) -> None:
        return None


def _estate_rows(session: Session) -> list[tuple[Any, set[int | None]]]:
    """New and changed rows that belong to exactly one estate, with that estate."""
    rows = []
    for obj in [*session.new, *session.dirty]:
        path = obj.Admin.scope_path if isinstance(obj, Entity) else None
        # rows reached through a collection (a company serving several estates) have
        # no single estate to check; they are read-scoped only
        if path and not _is_collection(type(obj), path):
            rows.append((obj, estates_of(session, obj)))
    return rows


def _check_writes(session: Session, _flush_context: Any, _instances: Any) -> None:
    rows = _estate_rows(session)
    estate_ids = current_estate_ids()
    for obj, estates in rows:
        if estate_ids is not None and not estates <= estate_ids:
            raise OutOfScope("所选的小区或关联记录不在您的管理范围内")
        _refuse_links_across_estates(session, obj, estates)


def _refuse_links_across_estates(session: Session, obj: Any, estates: set[int | None]) -> None:
    """Whoever writes (the admin too): a row only links rows of its own estate.

    A vehicle of estate A on a parking space of estate B would show B's data to A's
    staff and break every per-estate figure; no role may create such a link.
    """
    for rel in inspect(type(obj)).relationships:
        target = rel.mapper.class_
        target_path = admin_of(target).scope_path
        if rel.direction.name != "MANYTOONE" or not target_path or _is_collection(target, target_path):
            continue
        related = obj.__dict__.get(rel.key) or _load_by_foreign_key(session, obj, rel.key)
        if related is None:
            continue
        if not estates_of(session, related) <= estates:
            raise OutOfScope(f"所选的{admin_of(target).label}不属于同一小区")


def _is_collection(model: type, path: str) -> bool:
    rel = inspect(model).relationships.get(path.split(".")[0])
    return rel is not None and rel.uselist


def install() -> None:
    """Listen on every session (idempotent: tests build several apps)."""
    for name, listener in (("do_orm_execute", _limit_to_scope), ("before_flush", _check_writes)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def limit_request_to(estate_id: int) -> None:
    """Scope the rest of this request to one estate: an anonymous owner voting on their
    own estate's application acts inside that estate and nowhere else."""
    g.estate_scope = frozenset({estate_id})
    g.scope_is_every_estate = False
