"""List paging arguments are clamped before FAB parses them.

FAB reads ``page_<View>`` and ``psize_<View>`` with a bare ``int()``: ``psize=abc``
answers 500 and ``psize=100000`` loads a whole table into one page.
"""

from __future__ import annotations

import re

from flask import Flask, current_app, request
from werkzeug.datastructures import ImmutableMultiDict

_PAGING = re.compile(r"^(page|psize)_\w+$")


def _clamped(name: str, value: str) -> str | None:
    if not value.isdigit():
        return None  # dropped: FAB falls back to its default
    number = int(value)
    if name.startswith("psize_"):
        return str(min(max(number, 1), current_app.config["MAX_PAGE_SIZE"]))
    return str(min(number, 100_000))


def install(app: Flask) -> None:
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
