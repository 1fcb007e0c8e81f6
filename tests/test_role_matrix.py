"""The whole role matrix, route by route: each role opens exactly what app.roles grants.

For every role (and an anonymous visitor), every declared entity and every route the
generated views and REST APIs expose, the answer must follow ``app.roles``:

* granted (``actions_of(role, model)``; the admin: every available action) -> the
  route opens (no 401/403, no redirect to the login page);
* not granted, signed in -> 403 (the Chinese page, not a redirect to the login page);
* anonymous -> HTML redirects to /login/, the REST API answers 401;
* a route the entity does not have (add on an append-only log, import of an entity
  that is not importable...) -> 404/405 for everyone;
* a workflow transition (POST /<t>/transition/<name>/<pk>) opens to whoever may show
  the row and fire that transition.

Rows are taken from the large estate (estate 1), which every scoped demo user sees,
so that estate scoping never gets in the way of the permission being tested.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Any

import pytest

from app import roles
from app.extensions import db
from models.base import Entity, Menu, declared_entities, file_columns
from tests.support import (
    ANONYMOUS,
    SignedInClients,
    in_db,
    absence_problem,
    allowance_problem,
    expect,
    refusal_problem,
    scope_ids,
    text_of,
)

#: demo user -> role (None: not signed in)
ROLES: dict[str, str | None] = {
    "admin": roles.ADMIN,
    "manager_a": roles.MANAGER,
    "staff_a": roles.STAFF,
    "committee_a": roles.COMMITTEE,
    "official_jd": roles.OFFICIAL,
    ANONYMOUS: None,
}

ENTITIES = declared_entities()
LARGE_ESTATE = 1


def granted(user: str, model: type[Entity]) -> frozenset[str]:
    """What the matrix grants this user on this entity (the admin: everything it offers)."""
    role = ROLES[user]
    if role is None:
        return frozenset()
    if role == roles.ADMIN:
        return roles.available_actions(model)
    return roles.actions_of(role, model)


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # {t}: the table name, {pk}: a row of the large estate
    needs: frozenset[str]  # any one of these actions opens it
    exists: Callable[[type[Entity]], bool] = lambda model: True
    json: Any = None
    #: what a permitted user must get besides "not refused" (None: anything)
    when_allowed: tuple[int, ...] | None = None
    #: True: every one of ``needs`` is required (a workflow transition: show and itself)
    needs_all: bool = False

    def url(self, model: type[Entity], pk: int) -> str:
        return self.path.format(t=model.__tablename__, pk=pk)


def _has(action: str) -> Callable[[type[Entity]], bool]:
    return lambda model: action in model.Admin.actions


def _importable(model: type[Entity]) -> bool:
    return model.Admin.importable


def _holds_documents(model: type[Entity]) -> bool:
    return bool(file_columns(model))


#: a well-formed stored name that no row holds: a permitted user gets 404, others 403
UNKNOWN_DOCUMENT = "0123456789abcdef0123456789abcdef.pdf"


READ_API = frozenset({"list", "show"})

#: every route of a generated view and API; the deletes come last (they may succeed)
ROUTES = (
    Route("list", "GET", "/{t}/list/", frozenset({"list"})),
    Route("show", "GET", "/{t}/show/{pk}", frozenset({"show"})),
    Route("add", "GET", "/{t}/add", frozenset({"add"}), _has("add")),
    Route("edit", "GET", "/{t}/edit/{pk}", frozenset({"edit"}), _has("edit")),
    Route("export", "GET", "/{t}/export/", frozenset({"export"})),
    Route("import", "GET", "/{t}/import/", frozenset({"import"}), _importable),
    Route("lookup", "GET", "/{t}/lookup/", frozenset({"list"})),
    Route("history", "GET", "/{t}/history/{pk}", frozenset({"show"})),
    Route("download", "GET", "/{t}/download/" + UNKNOWN_DOCUMENT, frozenset({"download"}), _holds_documents,
          when_allowed=(404,)),
    Route("REST list", "GET", "/api/v1/{t}/", READ_API),
    Route("REST get", "GET", "/api/v1/{t}/{pk}", READ_API),
    Route("REST info", "GET", "/api/v1/{t}/_info", READ_API),
    Route("REST post", "POST", "/api/v1/{t}/", frozenset({"add"}), _has("add"), json={}, when_allowed=(400, 422)),
    Route("REST put", "PUT", "/api/v1/{t}/{pk}", frozenset({"edit"}), _has("edit"), json={}),
    Route("delete", "POST", "/{t}/delete/{pk}", frozenset({"delete"}), _has("delete")),
    Route("REST delete", "DELETE", "/api/v1/{t}/{pk}", frozenset({"delete"}), _has("delete")),
)


def transition_routes(model: type[Entity]) -> tuple[Route, ...]:
    """POST /<t>/transition/<name>/<pk>: one per transition of the entity's workflow."""
    return tuple(
        Route(f"transition {name}", "POST", f"/{{t}}/transition/{name}/{{pk}}", frozenset({"show", name}), needs_all=True)
        for name in sorted(roles.transitions_of(model))
    )


def routes_of(model: type[Entity]) -> tuple[Route, ...]:
    """Every route above, the entity's workflow transitions before the deletes."""
    deletes = tuple(r for r in ROUTES if "delete" in r.name)
    return tuple(r for r in ROUTES if r not in deletes) + transition_routes(model) + deletes


def expected(user: str, model: type[Entity], route: Route) -> str:
    """"absent", "allowed" or "refused"."""
    if not route.exists(model):
        return "absent"
    grants = granted(user, model)
    allowed = route.needs <= grants if route.needs_all else bool(route.needs & grants)
    return "allowed" if allowed else "refused"


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clients(app):
    """One signed-in client per demo user for the whole module; 500s come back as pages."""
    clients = SignedInClients(app)
    yield clients
    clients.close()


@pytest.fixture(scope="module")
def rows(app):
    """model -> the id of a row of the large estate (any row for unscoped entities)."""
    with app.app_context():
        found = {}
        for model in ENTITIES:
            ids = scope_ids(model, [LARGE_ESTATE]) or scope_ids(model, None)
            found[model] = min(ids) if ids else None
        db.session.remove()
    return found


# -- the matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ENTITIES, ids=lambda m: m.__name__)
@pytest.mark.parametrize("user", list(ROLES))
def test_each_route_answers_as_the_role_matrix_says(app, clients, rows, user, model):
    client = clients(user)
    pk = rows[model] or 1
    problems = []
    for route in routes_of(model):
        response = client.open(route.url(model, pk), method=route.method, json=route.json)
        want = expected(user, model, route)
        if want == "absent":
            problem = absence_problem(response)
        elif want == "refused":
            problem = refusal_problem(response, logged_in=user != ANONYMOUS)
        else:
            problem = allowance_problem(response)
            if problem is None and response.status_code >= 500:
                problem = f"{route.method} {route.url(model, pk)} answered {response.status_code} (server error)"
            elif problem is None and route.when_allowed and response.status_code not in route.when_allowed:
                problem = f"{route.method} {route.url(model, pk)} answered {response.status_code}, expected {route.when_allowed}"
        if problem:
            problems.append(f"{route.name} ({want}): {problem}")
    assert not problems, f"{user} on {model.__name__}:\n" + "\n".join(problems)


def test_the_matrix_grants_something_to_every_role_and_refuses_something_to_every_non_admin():
    """Guards the test itself: a matrix of all-allowed or all-refused proves nothing."""
    for user in ROLES:
        verdicts = {expected(user, m, r) for m in ENTITIES for r in routes_of(m)}
        if user == ANONYMOUS:
            assert "allowed" not in verdicts
        elif user == "admin":
            assert "refused" not in verdicts
        else:
            assert {"allowed", "refused"} <= verdicts, user


# -- the lookup answers for every entity (it used to 500 where Admin.lookup_columns named no column) --

@pytest.mark.parametrize("model", ENTITIES, ids=lambda m: m.__name__)
def test_the_lookup_of_every_entity_answers_the_admin(app, clients, model):
    response = clients("admin").get(f"/{model.__tablename__}/lookup/?q=1")
    expect(response, 200)
    assert "results" in response.get_json()


# -- menus -----------------------------------------------------------------------------------------


def _sidebar(page: str) -> str:
    start = page.find('<nav class="app-sidebar"')
    return page[start:page.find("</nav>", start)] if start >= 0 else ""


def navbar_links(page: str) -> dict[str, str]:
    """href -> text of every entry of the sidebar's menus (the 工作台 link aside)."""
    menu = _sidebar(page)
    links = re.findall(r'<li><a href="([^"]+)">(.*?)</a></li>', menu, re.S)
    return {href: unescape(re.sub(r"<[^>]+>|&nbsp;", " ", text)).strip() for href, text in links
            if 'class="nav-top"' not in menu or href != "/"}


def menu_categories(page: str) -> set[str]:
    found = re.findall(r'<details class="nav-group">\s*<summary>(.*?)</summary>', _sidebar(page), re.S)
    return {unescape(re.sub(r"<[^>]+>|&nbsp;", " ", t)).strip() for t in found}


@pytest.mark.parametrize("user", list(ROLES))
def test_the_menu_shows_exactly_the_entities_the_user_may_list(app, clients, user):
    response = clients(user).get("/")
    expect(response, 200)
    links = navbar_links(text_of(response))
    may_list = {m for m in ENTITIES if "list" in granted(user, m)}

    shown = {m for m in ENTITIES if f"/{m.__tablename__}/list/" in links}
    assert {m.__name__ for m in shown} == {m.__name__ for m in may_list}
    for model in may_list:
        assert links[f"/{model.__tablename__}/list/"] == model.Admin.label
    hidden_labels = {m.Admin.label for m in ENTITIES if m not in may_list} - {m.Admin.label for m in may_list}
    assert not hidden_labels & set(links.values()), "a menu entry names an entity the user may not open"
    # a category is shown exactly when it holds something the user may open
    categories = {label for label, _icon in Menu.ORDER}
    wanted = {m.Admin.menu[0] for m in may_list}
    assert menu_categories(text_of(response)) & categories == wanted


def test_the_menu_follows_a_changed_role_at_the_next_request(app, clients):
    """The menu is rendered once per set of grants (views/navbar.py): a role taken away
    takes its entries with it from the next page on, and the same grants give it back."""
    client = clients("staff_a")
    before = navbar_links(text_of(client.get("/")))
    assert "/unit/list/" in before

    def set_roles(names: list[str]) -> None:
        sm = app.appbuilder.sm
        user = sm.find_user(username="staff_a")
        user.roles = [sm.find_role(name) for name in names]
        db.session.commit()

    in_db(app, lambda: set_roles([roles.COMMITTEE]))
    after = navbar_links(text_of(client.get("/")))
    assert after != before
    assert after == navbar_links(text_of(clients("committee_a").get("/")))
    in_db(app, lambda: set_roles([roles.STAFF]))
    assert navbar_links(text_of(client.get("/"))) == before


@pytest.mark.parametrize("user, offered", [
    ("manager_a", {"交存", "续交", "增值收益", "公共收益转入", "过户"}),
    ("committee_a", {"退还"}),
    ("admin", {"交存", "续交", "增值收益", "公共收益转入", "过户", "退还"}),
])
def test_the_fund_entry_form_offers_only_the_kinds_the_role_records(app, user, offered):
    import re

    from tests.support import client_of

    page = client_of(app, user).get("/fund_entry/add").get_data(as_text=True)
    select = re.search(r'<select[^>]*id="kind"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert set(re.findall(r">([^<]+)</option>", select)) - {"（未填写）"} == offered
