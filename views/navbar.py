"""The navigation menu, rendered once per set of permissions and language.

FAB renders the menu on every page: ~80 entries, each with a permission check and a
translated label, about a third of a list page's time. The result depends only on
what the user may open, the language and the menu itself, so it is kept per
(permissions, language, menu) and shared by every user with the same grants; a
changed role gives another key at the next request.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from flask_babel import get_locale
from markupsafe import Markup

#: rendered menus kept (one per distinct set of grants and language in use)
KEPT = 256


def install(app: Flask) -> None:
    """``navbar_menu()`` for app/templates/appbuilder/navbar_menu.html: FAB's own menu
    template (read from FAB's blueprint, not copied), rendered at most once per key."""
    source = app.blueprints["appbuilder"].jinja_loader.get_source(app.jinja_env, "appbuilder/navbar_menu.html")[0]
    template = app.jinja_env.from_string(source)
    rendered: dict[Any, Markup] = {}

    def navbar_menu() -> Markup:
        appbuilder = current_app.appbuilder
        menu = appbuilder.menu
        user = g.get("user")
        if user is None or not user.is_authenticated or getattr(user, "id", None) is None:
            return Markup(template.render(menu=menu))  # the login page: nothing to share
        pairs, builtin = appbuilder.sm._granted(user)
        shape = tuple((item.name, tuple(child.name for child in item.childs or ())) for item in menu.get_list())
        key = (str(get_locale()), pairs, tuple(role.name for role in builtin), shape)
        found = rendered.get(key)
        if found is None:
            if len(rendered) >= KEPT:
                rendered.clear()
            found = rendered[key] = Markup(template.render(menu=menu))
        return found

    app.jinja_env.globals["navbar_menu"] = navbar_menu
