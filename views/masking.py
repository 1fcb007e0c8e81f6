"""Personal data (身份证号, 手机号) masked for every role that does not maintain it.

"Maintains it" is read from the role matrix itself: whoever may edit an entity sees
its personal data in full; everyone else (业委会, 街道/社区) sees 110***********1234
and 138****5678 in lists, detail pages, exports and the API alike.

Such a user can neither sort by a masked column nor filter it by range or part (the
order of the rows, or "starts with 1351", gives the hidden digits away one by one). A
number typed whole may still be looked up (a member confirming a known owner), but each
such lookup counts against PERSONAL_LOOKUP_RATE_LIMIT per user and is written to the
操作日志 (README 安全).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from flask import current_app, g, has_request_context


def mask(value: str | None) -> str | None:
    """Keep the first 3 and last 4 characters: 110***********1234, 138****5678."""
    if not value or len(value) <= 7:
        return "*" * len(value) if value else value
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def sees_personal_data(view_name: str) -> bool:
    """Whether the current user maintains this entity (may edit it); cached per request."""
    if not has_request_context():
        return True  # CLI and maintenance scripts work on the real data
    cache = g.setdefault("personal_data_access", {})
    if view_name not in cache:
        cache[view_name] = current_app.appbuilder.sm.has_access("can_edit", view_name)
    return cache[view_name]


def masked_formatter(view_name: str, display: Callable[[Any], str]) -> Callable[[Any], str]:
    def format_value(value: Any) -> str:
        return display(value if sees_personal_data(view_name) else mask(value))

    return format_value


def mask_record(record: dict[str, Any], fields: Iterable[str], view_name: str) -> None:
    """Mask the personal fields of one serialised REST record in place."""
    if sees_personal_data(view_name):
        return
    for name in fields:
        if name in record:
            record[name] = mask(record[name])


class MaskedColumns:
    """For views and APIs with masked columns: what may be sorted depends on who asks."""

    masked_columns: ClassVar[tuple[str, ...]] = ()
    declared_order_columns: list[str] = []

    @property
    def personal_data_view(self) -> str:
        return f"{self.model.__name__}View"

    @property
    def order_columns(self) -> list[str]:
        """FAB's sortable columns (list headers, ``_oc_``, REST ``order_column``, exports),
        without the masked ones for a user who sees them masked."""
        if self.masked_columns and has_request_context() and not sees_personal_data(self.personal_data_view):
            return [c for c in self.declared_order_columns if c not in self.masked_columns]
        return self.declared_order_columns

    @order_columns.setter
    def order_columns(self, value: list[str] | None) -> None:
        self.declared_order_columns = list(value or [])


#: a word the keyword box may compare whole with a masked 手机号 or 证件号码
_NUMBER_LIKE = re.compile(r"[0-9Xx]{7,}")


def personal_data_filters(filters: Any | None, keyword: str, view: MaskedColumns) -> tuple[frozenset[str], list[str]]:
    """Applies the rules above to a request's filters (in place) and its keyword box; returns
    the masked columns the keyword box may compare only whole, and the refusals to show (the
    keyword box then leaves the masked columns out).

    Every filter on a masked column other than 等于 is dropped. A lookup of a whole number
    (等于, or a number-like word in the keyword box) is counted and recorded; over the limit
    it is dropped too, and the refusal says why."""
    fields = set(view.masked_columns)
    if not fields or sees_personal_data(view.personal_data_view):
        return frozenset(), []
    kept = [(f, v) for f, v in zip(filters.filters, filters.values)
            if f.column_name not in fields or getattr(f, "op", None) == "eq"] if filters is not None else []
    lookups = [(view.label_columns.get(f.column_name, f.column_name), str(v)) for f, v in kept
               if f.column_name in fields]
    lookups += [("关键字", word) for word in keyword.split() if _NUMBER_LIKE.fullmatch(word)]
    refusals = []
    if lookups and not _may_look_up(view, lookups):
        kept = [(f, v) for f, v in kept if f.column_name not in fields]
        from app.hardening import limits_in_chinese

        refusals.append(LOOKUP_LIMITED.format(limit=limits_in_chinese("PERSONAL_LOOKUP_RATE_LIMIT")))
    if filters is not None:
        filters.filters, filters.values = [f for f, _ in kept], [v for _, v in kept]
    return frozenset(fields), refusals


LOOKUP_LIMITED = "按完整手机号或证件号码查询的次数已达上限（{limit}），本次未按号码查询，请稍后再试"


def _may_look_up(view: MaskedColumns, lookups: list[tuple[str, str]]) -> bool:
    """Takes one lookup from the user's allowance and records it; False when none is left."""
    from app.audit import record_lookup
    from app.extensions import db
    from app.hardening import take_allowance

    if take_allowance("PERSONAL_LOOKUP_RATE_LIMIT", f"user-{g.user.id}", "personal_lookup") is None:
        return False
    record_lookup(db.session, view.model, [(label, mask(value)) for label, value in lookups])
    db.session.commit()
    return True
