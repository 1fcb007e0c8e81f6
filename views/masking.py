"""Personal data (身份证号, 手机号) masked for every role that does not maintain it.

"Maintains it" is read from the role matrix itself: whoever may edit an entity sees
its personal data in full; everyone else (业委会, 街道/社区) sees 110***********1234
and 138****5678 in lists, detail pages, exports and the API alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

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


def only_exact_matches(filters: Any, fields: Iterable[str], view_name: str) -> None:
    """A masked number may be found by typing it whole, never guessed digit by digit.

    For users who see the number masked, every filter on it other than 等于 is
    dropped (开头是 "1351", 包含 ... would reveal the hidden digits one by one).
    """
    fields = set(fields)
    if not fields or sees_personal_data(view_name):
        return
    kept = [(f, v) for f, v in zip(filters.filters, filters.values)
            if f.column_name not in fields or getattr(f, "op", None) == "eq"]
    filters.filters = [f for f, _ in kept]
    filters.values = [v for _, v in kept]
