"""Every page is well-formed enough for a browser and a screen reader to agree on it: an id
names one element, and a label points at a field that exists."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app.extensions import db
from tests.pages import entity_pages, menu_pages
from tests.support import client_of


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.label_targets: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if named.get("id"):
            self.ids[named["id"]] += 1
        if tag == "label" and named.get("for"):
            self.label_targets.add(named["for"])


def markup_faults(html: str) -> list[str]:
    parser = _Ids()
    parser.feed(html)
    faults = [f"id {name!r} ×{count}" for name, count in parser.ids.items() if count > 1]
    faults += [f"label for {name!r} has no field" for name in parser.label_targets - set(parser.ids)]
    return sorted(faults)


def _report(offenders: dict[str, list[str]]) -> str:
    return "\n".join(f"{url}: {'; '.join(faults)}" for url, faults in sorted(offenders.items()))


def _first_id(model):
    return db.session.execute(select(model.id).order_by(model.id).limit(1)).scalar()


def test_no_generated_page_repeats_an_id_or_labels_a_missing_field(app):
    client = client_of(app, "admin")
    with app.app_context():
        urls = entity_pages(_first_id)
    offenders = {}
    for url in urls:
        response = client.get(url, follow_redirects=True)
        faults = markup_faults(response.get_data(as_text=True))
        if faults:
            offenders[url] = faults
    assert not offenders, _report(offenders)


@pytest.mark.parametrize("user", ["admin", "manager_a", "staff_a", "committee_a", "official_jd"])
def test_no_page_of_a_menu_repeats_an_id_or_labels_a_missing_field(app, user):
    client = client_of(app, user)
    offenders = {}
    for url in menu_pages(client):
        faults = markup_faults(client.get(url).get_data(as_text=True))
        if faults:
            offenders[url] = faults
    assert not offenders, _report(offenders)
