"""The navigation: a left sidebar, rendered once per set of permissions, roles and language.

The menu has ~80 entries, each with a permission check and a translated label: rendered
on every page it cost a third of a list page's time. It depends only on what the user
may open, their roles (which menus lead, app.roles.NAVIGATION), the language and the menu
itself, so it is kept per such key and shared; a changed role gives another key at the
next request. The current page is marked in the browser (static/js/sidebar.js).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request, url_for
from flask_babel import get_locale
from markupsafe import Markup

#: rendered menus kept (one per distinct set of grants and language in use)
KEPT = 256


def install(app: Flask) -> None:
    """``sidebar_menu()`` for the layout: rendered at most once per key."""
    template = app.jinja_env.get_template("nav/sidebar.html")
    rendered: dict[Any, Markup] = {}

    def sidebar_menu() -> Markup:
        from app.roles import navigation_of
        from models.access import role_names

        appbuilder = current_app.appbuilder
        menu = appbuilder.menu
        user = g.get("user")
        if user is None or not user.is_authenticated or getattr(user, "id", None) is None:
            return Markup("")  # the login page has no menu
        pairs, builtin = appbuilder.sm._granted(user)
        roles = tuple(sorted(role_names(user)))
        shape = tuple((item.name, tuple(child.name for child in item.childs or ())) for item in menu.get_list())
        key = (str(get_locale()), pairs, tuple(role.name for role in builtin), roles, shape)
        found = rendered.get(key)
        if found is None:
            if len(rendered) >= KEPT:
                rendered.clear()
            visible = app.jinja_env.filters["is_menu_visible"]
            groups = [item for item in menu.get_list() if item.childs and visible(item)]
            wanted = navigation_of(roles)
            primary = [item for label in wanted for item in groups if item.label == label] if wanted else groups
            others = [item for item in groups if item not in primary]
            found = rendered[key] = Markup(template.render(menu=menu, primary=primary, others=others,
                                                           appbuilder=appbuilder))
        return found

    app.jinja_env.globals["sidebar_menu"] = sidebar_menu
    app.jinja_env.globals["breadcrumbs"] = breadcrumbs


def breadcrumbs(title: str | None) -> list[tuple[str, str | None]]:
    """工作台 › 菜单 › 列表 › this page: where the user is and the way back, on every page."""
    from views.registry import VIEWS

    user = g.get("user")
    if user is None or not user.is_authenticated or request.endpoint is None:
        return []
    index = current_app.appbuilder.get_url_for_index
    view_name, _, method = request.endpoint.partition(".")
    if request.path == index or view_name in ("IndexView", "HomeView"):
        return []
    trail: list[tuple[str, str | None]] = [("工作台", index)]
    model = next((m for m, view in VIEWS.items() if view.__name__ == view_name), None)
    if model is not None:
        listing = f"{model.Admin.label}列表"
        trail.append((model.Admin.menu[0], None))
        trail.append((listing, url_for(f"{view_name}.list") if method != "list" else None))
        if method != "list" and title and title != listing:
            trail.append((title, None))
        return trail
    if title:
        trail.append((title, None))
    return trail
