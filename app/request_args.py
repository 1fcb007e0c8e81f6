"""Arguments are made safe before FAB reads them.

FAB reads ``page_<View>`` and ``psize_<View>`` with a bare ``int()``: ``psize=abc``
answers 500 and ``psize=100000`` loads a whole table into one page. A record id in a path
(``/unit/show/<pk>``) goes to SQL as it is: beyond the integer column's range PostgreSQL
refuses the statement (a 500); no row can have such an id, so it is a 404. A NUL
character or a lone surrogate (from a JSON escape) is nothing anyone types, and the
databases refuse them in every text column and comparison: a request carrying one (in its
arguments, form, JSON body or REST ``q``) is refused before any view sees it.
"""

from __future__ import annotations

import json
import re

from typing import Any

import prison
from flask import Flask, abort, current_app, make_response, request
from werkzeug.datastructures import ImmutableMultiDict

from models.base import row_id

_PAGING = re.compile(r"^(page|psize)_\w+$")


def _clamped(name: str, value: str) -> str | None:
    if not (value.isascii() and value.isdigit()):
        return None  # dropped: FAB falls back to its default
    number = int(value)
    if name.startswith("psize_"):
        return str(min(max(number, 1), current_app.config["MAX_PAGE_SIZE"]))
    return str(min(number, 100_000))


def _is_row_id(value: object) -> bool:
    return row_id(value) is not None


def _unstorable(value: Any) -> bool:
    """A NUL character, or a lone surrogate (a JSON "\\ud80f" escape: no UTF-8 text holds it)."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


def rest_query(args: Any) -> Any:
    """The REST ``q`` argument as FAB will read it (Rison, else JSON); None if neither."""
    if "q" not in args:
        return None
    for parse in (prison.loads, json.loads):
        try:
            return parse(args["q"])
        except Exception:  # noqa: BLE001 - FAB answers a malformed q with 400 itself
            continue
    return None


def install(app: Flask) -> None:
    @app.before_request
    def refuse_unstorable_characters() -> None:
        from views.errors import error_page

        sent = [*request.args.items(multi=True), *request.form.items(multi=True)]
        if (any(_unstorable(k) or _unstorable(v) for k, v in sent)
                or (request.is_json and _unstorable(request.get_json(silent=True)))
                or (request.path.startswith("/api/") and _unstorable(rest_query(request.args)))):
            abort(make_response(error_page(400, text="提交的内容含有无效的控制字符（如 NUL），请删除后重试。")))

    @app.before_request
    def record_ids_in_range() -> None:
        for name, value in (request.view_args or {}).items():
            if (name == "pk" or name.endswith("_id")) and not _is_row_id(value):
                abort(404)

    @app.before_request
    def clamp_paging_arguments() -> None:
        if not any(_PAGING.match(k) for k in request.args):
            return
        kept = []
        for name, value in request.args.items(multi=True):
            if _PAGING.match(name):
                value = _clamped(name, value)
                if value is None:
                    continue
            kept.append((name, value))
        request.args = ImmutableMultiDict(kept)
