"""Crawling helpers: which pages exist, and what a person reads on them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from models.base import declared_entities
from views.registry import VIEWS

#: words that are fine on a Chinese page: units, brands, formats and abbreviations
ALLOWED_WORDS = {"ID", "Excel", "SUV", "MPV", "AAA", "AA", "B", "C", "A", "QR", "IP", "xlsx", "PDF", "JPG", "PNG"}

_SKIP_TAGS = {"script", "style", "noscript"}
_VISIBLE_ATTRS = {"placeholder", "title", "alt", "aria-label", "data-original-title"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        for name, value in attrs:
            if value and (name in _VISIBLE_ATTRS or (tag == "input" and name == "value" and
                                                      dict(attrs).get("type") in ("submit", "button"))):
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


#: a Latin word standing alone; letters glued to digits or to a mask's stars are codes
#: (京AD12345, 2-1503A, 911***********FFTG)
_WORD = re.compile(r"(?<![A-Za-z0-9*])[A-Za-z][A-Za-z']*(?![A-Za-z0-9*])")


def english_words(html: str, data: set[str] = frozenset()) -> set[str]:
    """Latin words a person reads on the page, less allowed ones and the data's own."""
    words = set(_WORD.findall(visible_text(html)))
    return {w for w in words if w not in ALLOWED_WORDS and w not in data}


def data_words(session) -> set[str]:
    """Latin words occurring in stored text (model numbers, codes, e-mails): data, not UI."""
    from sqlalchemy import String, select

    words: set[str] = set()
    for model in declared_entities():
        for column in model.__table__.columns:
            if isinstance(column.type, String):
                for (value,) in session.execute(select(column).distinct()):
                    words |= set(_WORD.findall(value or ""))
    from flask_appbuilder.security.sqla.models import User

    for (username,) in session.execute(select(User.username)):  # account names shown in timelines
        words |= set(_WORD.findall(username))
    return words


_SIDEBAR = re.compile(r'<nav class="app-sidebar".*?</nav>', re.S)
_HREF = re.compile(r'href="(/[^"]*)"')


def menu_pages(client) -> list[str]:
    """Every page the signed-in user's sidebar links to: FAB's own pages and the hand-written
    ones as well as the generated entity pages."""
    sidebar = _SIDEBAR.search(client.get("/").get_data(as_text=True))
    return sorted(set(_HREF.findall(sidebar.group(0)))) if sidebar else []


def entity_pages(first_id_of) -> list[str]:
    """Every generated page of every entity: list, search, add, show and edit of a row."""
    urls = []
    for model in declared_entities():
        base, actions = VIEWS[model].route_base, model.Admin.actions
        urls += [f"{base}/list/"] + ([f"{base}/add"] if "add" in actions else [])
        pk = first_id_of(model)
        if pk is not None:
            urls += [f"{base}/show/{pk}"] + ([f"{base}/edit/{pk}"] if "edit" in actions else [])
    return urls
