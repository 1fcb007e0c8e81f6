"""The data layer under every generated view and API."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Query, joinedload, selectinload

from views.errors import Refused, integrity_message


class AppInterface(SQLAInterface):
    """SQLAInterface that eager-loads what lists display and speaks Chinese on errors.

    ``eager`` holds relation paths ("building", "building.estate"): a list page
    then costs the same few queries whatever its length (no N+1).
    """

    eager: tuple[str, ...] = ()

    def __init__(self, obj: Any, session: Any = None, eager: tuple[str, ...] = ()):
        super().__init__(obj, session)
        self.eager = eager

    def eager_options(self) -> list[Any]:
        options = []
        for path in self.eager:
            model, loader = self.obj, None
            for name in path.split("."):
                rel = inspect(model).relationships[name]
                attr = getattr(model, name)
                strategy = selectinload if rel.uselist else joinedload
                loader = strategy(attr) if loader is None else getattr(loader, strategy.__name__)(attr)
                model = rel.mapper.class_
            options.append(loader)
        return options

    def query_count(self, query: Query, *args: Any, **kwargs: Any) -> int:
        # Query.count() runs the list query as a subquery, which the session-level
        # scoping listener does not reach: the subquery carries the scope itself.
        from app.scoping import scope_options

        return super().query_count(query.options(*scope_options()), *args, **kwargs)

    def apply_all(self, query: Query, *args: Any, **kwargs: Any) -> Query:
        return super().apply_all(query, *args, **kwargs).options(*self.eager_options())

    def add(self, item: Any, commit: bool = True) -> None:
        self._write(lambda: super(AppInterface, self).add(item, commit))

    def edit(self, item: Any, commit: bool = True) -> None:
        self._write(lambda: super(AppInterface, self).edit(item, commit))

    def delete(self, item: Any, commit: bool = True) -> None:
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
