"""The landing page after login: the 工作台 (what waits for the signed-in user)."""

from __future__ import annotations

from flask import g
from flask_appbuilder import IndexView, expose


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        from views.dashboard import workbench

        user = getattr(g, "user", None)
        waiting = workbench(self.appbuilder.session) if user is not None and user.is_authenticated else None
        return self.render_template(self.index_template, appbuilder=self.appbuilder, waiting=waiting)
