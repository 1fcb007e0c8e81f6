"""The data layer under every generated view and API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import asc, desc, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Query, aliased, joinedload, selectinload

from models.base import admin_of, sort_keys
from models.deleting import delete_refusals
from views.errors import Refused, integrity_message
from views.filters import AppFilterConverter, AppFilters


class AtLeast(int):
    """A count that stopped at its cap: the cap in arithmetic (pages), "10,000+" on the page."""

    def __str__(self) -> str:
        return f"{int(self):,}+"


_count_cap: ContextVar[int | None] = ContextVar("count_cap", default=None)
_left_out: ContextVar[str | None] = ContextVar("left_out", default=None)


@contextmanager
def counting_up_to(cap: int | None) -> Iterator[None]:
    """Counts taken inside stop at ``cap`` (a list page); the REST API's counts stay exact."""
    token = _count_cap.set(cap)
    try:
        yield
    finally:
        _count_cap.reset(token)


@contextmanager
def leaving_out(relation: str | None) -> Iterator[None]:
    """Lists queried inside do not load ``relation`` (a record's lines on its page: their
    record is the page's own)."""
    token = _left_out.set(relation)
    try:
        yield
    finally:
        _left_out.reset(token)


def sort_terms(model: type, column: str) -> list[str]:
    """The paths one sort column stands for (``Admin.sort_by``; a relation: its target's order)."""
    declared = admin_of(model).sort_by.get(column)
    if declared:
        return list(declared)
    rels = inspect(model).relationships
    if column in rels and not rels[column].uselist:
        target = rels[column].mapper.class_
        return [f"{column}.{term}" for term in sort_terms(target, admin_of(target).order_by[0])]
    return [column]


def order_expressions(query: Query, model: type, column: str) -> tuple[Query, list[Any]]:
    """``query`` joined to what sorting by ``column`` reads, and the columns to sort by,
    natural keys in place of the texts they sort (``room_no`` by ``room_key``)."""
    joined: dict[str, Any] = {}
    found = []
    for term in sort_terms(model, column):
        owner, entity, names = model, model, term.split(".")
        for depth, name in enumerate(names[:-1]):
            key = ".".join(names[: depth + 1])
            rel = inspect(owner).relationships[name]
            if key not in joined:
                joined[key] = _sort_alias(model, key)
                # a required link joins inner: the database may then walk the target first, in
                # its index order (楼栋 by code, then each one's units), instead of sorting every row
                link = getattr(entity, name)
                if all(not column.nullable for column in rel.local_columns):
                    if (hasattr(owner, "estate_id") and hasattr(rel.mapper.class_, "estate_id")
                            and (query.session.get_bind().dialect.name == "sqlite" or _one_estate())):
                        # linked rows are of the same estate (checked on every write). Said in the
                        # join, SQLite takes the estate's 楼栋 first by their index (measured when the
                        # unit list still sorted through its 楼栋: a manager's first page 9 ms -> 0.3).
                        # PostgreSQL already does; for a user of several
                        # estates it would misjudge the join's size and sort the whole city (16 ms
                        # -> 138), for a user of one it learns the 楼栋's estate is that one and
                        # drops it from the sort (a manager's page 300: 15.3 -> 13.9 ms)
                        link = link.and_(joined[key].estate_id == entity.estate_id)
                    query = query.join(joined[key], link)
                else:
                    query = query.outerjoin(joined[key], link)
            owner, entity = rel.mapper.class_, joined[key]
        leaf = sort_keys(owner).get(names[-1], names[-1])
        found.append(getattr(entity, leaf))
    return query, found


def _one_estate() -> bool:
    from app.scoping import current_estate_ids

    estate_ids = current_estate_ids()
    return estate_ids is not None and len(estate_ids) == 1


@lru_cache(maxsize=256)
def _sort_alias(model: type, path: str) -> Any:
    """The alias a sort joins ``path`` under, made once rather than on every page (making one
    copies every column of the target). A statement joins each path once;
    the page query and its id subquery each see theirs in their own scope."""
    owner = model
    for name in path.split("."):
        owner = inspect(owner).relationships[name].mapper.class_
    return aliased(owner)


class AppInterface(SQLAInterface):
    """SQLAInterface that eager-loads what lists display and speaks Chinese on errors.

    ``eager`` holds relation paths ("building", "building.estate"): a list page
    then costs the same few queries whatever its length (no N+1).
    """

    eager: tuple[str, ...] = ()
    filter_converter_class = AppFilterConverter

    def __init__(self, obj: Any, session: Any = None, eager: tuple[str, ...] = ()):
        super().__init__(obj, session)
        self.eager = eager
        self._eager_options: dict[str | None, list[Any]] = {}

    def eager_options(self) -> list[Any]:
        # loader options are immutable: built once per interface (and relation left out),
        # reused by every query
        left_out = _left_out.get()
        options = self._eager_options.get(left_out)
        if options is None:
            options = self._eager_options[left_out] = self._build_eager_options(left_out)
        return options

    def _build_eager_options(self, left_out: str | None) -> list[Any]:
        options = []
        for path in self.eager:
            if left_out and (path == left_out or path.startswith(f"{left_out}.")):
                continue
            model, loader = self.obj, None
            for name in path.split("."):
                rel = inspect(model).relationships[name]
                attr = getattr(model, name)
                strategy = selectinload if rel.uselist else joinedload
                loader = strategy(attr) if loader is None else getattr(loader, strategy.__name__)(attr)
                model = rel.mapper.class_
            options.append(loader)
        return options

    def get_filters(self, search_columns: Any = None, search_filters: Any = None) -> AppFilters:
        return AppFilters(self.filter_converter_class, self, search_columns or [], search_filters)

    def get_inner_filters(self, filters: Any) -> Any:
        """The filters as given: each one applies its own path (``has()`` for "unit.building"),
        so FAB's rebuilding them from their classes (losing the keyword filter's columns) is not needed."""
        return None if filters is None else filters.copy()

    def apply_order_by(self, query: Query, order_column: str, order_direction: str,
                       aliases_mapping: Any = None, bypass_many_to_many: bool = False,
                       add_pk: bool = False) -> Query:
        """Sorting as declared (``Admin.sort_by``, natural keys), the id breaking ties."""
        if not order_column or "." in order_column:
            return super().apply_order_by(query, order_column, order_direction, aliases_mapping,
                                          bypass_many_to_many, add_pk)
        direction = asc if order_direction == "asc" else desc
        query, columns = order_expressions(query, self.obj, order_column)
        terms = [direction(c) for c in columns]
        if add_pk:
            terms.append(direction(self.obj.id))
        return query.order_by(*terms)

    def query_count(self, query: Query, filters: Any = None, select_columns: Any = None) -> int:
        # Query.count() runs the list query as a subquery, which the session-level
        # scoping listener does not reach: the subquery carries the scope itself.
        from app.scoping import scope_options, scoped_tables_in

        scoped = query.options(*scope_options(scoped_tables_in(query.statement)))
        cap = _count_cap.get()
        if not cap:
            return super().query_count(scoped, filters, select_columns)
        # the database stops at cap + 1 matching ids instead of visiting every one
        matching = self._apply_inner_all(scoped, filters, select_columns=select_columns, aliases_mapping={})
        found = matching.with_entities(self.obj.id).limit(cap + 1).count()
        return AtLeast(cap) if found > cap else found

    def apply_all(
        self, query: Query, filters: Any = None, order_column: str = "", order_direction: str = "",
        page: int | None = None, page_size: int | None = None, select_columns: Any = None,
        outer_default_load: bool = False,
    ) -> Query:
        inner = super().apply_all(query, filters, order_column, order_direction, page, page_size,
                                  select_columns, outer_default_load)
        if not (self.eager and page_size) or select_columns:
            return inner.options(*self.eager_options())
        # One page: find its ids first, then join what the rows display. Joined in one
        # statement with the filter, sort and offset, the database would join every
        # matching row before sorting (1.3 million bills: seconds instead of milliseconds).
        from app.scoping import scope_options, scoped_tables_in

        ids = inner.options(*scope_options(scoped_tables_in(inner.statement))).with_entities(self.obj.id).subquery()
        outer = self.session.query(self.obj).filter(self.obj.id.in_(select(ids.c.id)))
        outer = self.apply_order_by(outer, order_column, order_direction, add_pk=True)
        return outer.options(*self.eager_options())

    def query(
        self, filters: Any = None, order_column: str = "", order_direction: str = "",
        page: int | None = None, page_size: int | None = None, select_columns: Any = None,
        outer_default_load: bool = False,
    ) -> tuple[int, list[Any]]:
        if page is None and page_size is None and not select_columns:
            # every row (select boxes): the count is the length, no COUNT query needed
            rows = self.apply_all(self.session.query(self.obj), filters, order_column, order_direction).all()
            return len(rows), rows
        return super().query(filters, order_column, order_direction, page, page_size, select_columns,
                             outer_default_load)

    def add(self, item: Any, commit: bool = True) -> None:
        self._write(lambda: super(AppInterface, self).add(item, commit))

    def edit(self, item: Any, commit: bool = True) -> None:
        self._write(lambda: super(AppInterface, self).edit(item, commit))

    def delete(self, item: Any, commit: bool = True) -> None:
        """Refused, before the database is asked, with what is in the way (as its 删除 button
        already said); the database's keys remain the last word under parallel requests."""
        refusal = delete_refusals(self.session, self.obj, [item.id]).get(item.id)
        if refusal:
            raise Refused(refusal)
        self._write(lambda: super(AppInterface, self).delete(item, commit))

    def _write(self, action: Any) -> None:
        """Database refusals become one clear Chinese sentence, never raw SQL."""
        try:
            action()
        except Exception as error:
            self.session.rollback()  # a refused write leaves nothing half-done behind
            cause = error if isinstance(error, IntegrityError) else error.__cause__
            if isinstance(cause, IntegrityError):
                raise Refused(integrity_message(cause, self.obj)) from error
            raise
