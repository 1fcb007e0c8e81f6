"""Dashboards: the 工作台 (home page), the jurisdiction overview and one estate's overview.

Thin on purpose: the numbers come from the registries of ``models.dashboard`` (SQL
aggregates, scoped by the data layer); this module picks what the user may see and
hands plain rows to the templates, where ECharts (served from app/static) draws them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import abort, current_app, request
from flask_appbuilder import AppBuilder, BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from app.roles import DASHBOARD_MENU, DASHBOARD_PAGES, DASHBOARD_VIEW, rows_acted_on
from models import clock
from models.base import Entity, declared_entities, row_id
from models.dashboard import (
    CHART_ESTATES, FIGURES, TABLE_ROWS, Context, Figure, kpi_values, waiting_items, waiting_transitions,
)
from models.estate import Estate
from models.settings import Settings


def _plain(value: Any) -> Any:
    """Chart data: exact decimals travel as strings, dates as ISO text."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def may_list(model: type[Entity] | str) -> bool:
    name = model if isinstance(model, str) else model.__name__
    return current_app.appbuilder.sm.has_access("can_list", f"{name}View")


def may_fire(model: type[Entity], transition: str) -> bool:
    return current_app.appbuilder.sm.has_access(f"can_{transition}", f"{model.__name__}View")


def context(session: Any, estate_id: int | None = None) -> Context:
    return Context(today=clock.today(), settings=Settings.current(session), estate_id=estate_id)


def visible(item: Figure, page: str) -> bool:
    return page in item.pages and (not item.needs or may_list(item.needs))


def panels(session: Any, ctx: Context, page: str) -> list[dict[str, Any]]:
    """The figures of a page the user may see, each with its rows and chart spec."""
    found = []
    for item in FIGURES.values():
        if visible(item, page):
            found.append(_panel(item, item.query(session, ctx), ctx))
    if ctx.estate_id is None:  # the jurisdiction: the rankings against a target come first
        found.sort(key=lambda panel: not (FIGURES[panel["key"]].rank_by and FIGURES[panel["key"]].kpi))
    return found


def _panel(item: Figure, rows: list[dict[str, Any]], ctx: Context, whole: bool = False) -> dict[str, Any]:
    """A figure's table, chart spec and notes. On the jurisdiction overview the table shows the
    first ``TABLE_ROWS`` rows (the worst, when ranked) and links to the figure's own page
    (``whole``), which lists every row; a chart shows at most ``CHART_ESTATES`` estates."""
    target = getattr(ctx.settings, item.kpi) if item.kpi else None
    columns, note, overview = item.columns, "", ctx.estate_id is None
    if item.rank_by and overview:
        rows = ranked(rows, item.rank_by)
        columns = (("rank", "排名（差→好）"), *item.columns)
    charted = _first_estates(rows, item.x) if overview and item.chart != "table" and item.x == "estate" else rows
    if len(charted) < len(rows):
        shown = len({row[item.x] for row in charted})
        note = f"图中为{'最差的' if item.rank_by else '前'} {shown} 个小区"
    listed = rows if whole or not overview else rows[:TABLE_ROWS]
    spec = {
        "chart": item.chart, "x": item.x, "y": [list(pair) for pair in item.y], "series": item.series,
        "stacked": item.stacked, "target": target, "targetLabel": "目标" if target is not None else None,
        "percent": item.percent_axis, "horizontal": bool(item.rank_by and overview),
        "rows": [{k: _plain(v) for k, v in row.items()} for row in charted] if item.chart != "table" else [],
    }
    return {"key": item.key, "title": item.title, "chart": item.chart, "columns": columns,
            "rows": listed, "total": len(rows), "spec": spec, "note": note,
            "searchable": whole and len(rows) > CHART_ESTATES,
            "headline": headline(item, rows, target) if item.rank_by and overview else ""}


def _first_estates(rows: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    """The rows of the first ``CHART_ESTATES`` estates in the rows' order (all of each one's rows)."""
    kept: set[Any] = set()
    found = []
    for row in rows:
        if row[field] not in kept:
            if len(kept) == CHART_ESTATES:
                continue
            kept.add(row[field])
        found.append(row)
    return found


def headline(item: Figure, rows: list[dict[str, Any]], target: Any) -> str:
    """The one line an official reads first: the worst estate, its rate, against the target."""
    worst = rows[0] if rows and rows[0][item.rank_by] is not None else None
    if worst is None:
        return ""
    rate = f"{worst[item.rank_by]}%"
    below = sum(1 for row in rows if row[item.rank_by] is not None and target is not None and row[item.rank_by] < target)
    against = f"；低于目标 {target}% 的小区 {below} 个" if target is not None else ""
    return f"最差：{worst[item.x]} {rate}（共 {len(rows)} 个小区{against}）"


def ranked(rows: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    """Worst first (lowest rate), estates without a rate last; each row gets its place."""
    found = sorted(rows, key=lambda row: (row[field] is None, row[field] if row[field] is not None else 0))
    return [{**row, "rank": place} for place, row in enumerate(found, start=1)]


def workbench(session: Any) -> dict[str, Any]:
    """What waits for the signed-in user: overdue and expiring things, then transitions."""
    ctx = context(session)
    return {
        "urgent": waiting_items(session, ctx, may_list, may_fire),
        "transitions": waiting_transitions(session, declared_entities(), may_fire, rows_acted_on),
        "pages": [(page, label) for page, label in DASHBOARD_PAGES.items()
                  if current_app.appbuilder.sm.has_access(f"can_{page}", DASHBOARD_VIEW)],
    }


class DashboardView(BaseView):
    route_base = "/dashboard"
    class_permission_name = DASHBOARD_VIEW
    base_permissions = [f"can_{page}" for page in DASHBOARD_PAGES]
    default_view = "estate"

    def _page(self, title: str, page: str, ctx: Context, **extra: Any):
        session = self.appbuilder.session
        return self.render_template(
            "dashboard/page.html", title=title, kpis=kpi_values(session, ctx, may_list),
            figures=panels(session, ctx, page), today=ctx.today, **extra,
        )

    @expose("/jurisdiction/<key>/")
    @has_access
    @permission_name("jurisdiction")
    def jurisdiction_figure(self, key: str):
        """One figure of the overview with every row (every estate of the jurisdiction)."""
        item = FIGURES.get(key)
        if item is None or not visible(item, "jurisdiction"):
            abort(404)
        session = self.appbuilder.session
        ctx = context(session)
        return self.render_template(
            "dashboard/page.html", title=f"{DASHBOARD_PAGES['jurisdiction']} · {item.title}", kpis=[],
            figures=[_panel(item, item.query(session, ctx), ctx, whole=True)], today=ctx.today,
            back=DASHBOARD_PAGES["jurisdiction"])

    @expose("/jurisdiction/")
    @has_access
    @permission_name("jurisdiction")
    def jurisdiction(self):
        """Every estate of the jurisdiction side by side (the scope decides which)."""
        return self._page(DASHBOARD_PAGES["jurisdiction"], "jurisdiction", context(self.appbuilder.session))

    @expose("/estate/")
    @has_access
    @permission_name("estate")
    def estate(self):
        """One estate (chosen among those in scope; another estate's id answers 404)."""
        session = self.appbuilder.session
        estates = session.execute(select(Estate.id, Estate.name).order_by(Estate.code)).all()
        wanted = request.args.get("estate", "")
        if wanted:
            if row_id(wanted) not in {e.id for e in estates}:
                abort(404)
            chosen = row_id(wanted)
        elif estates:
            chosen = estates[0].id
        else:
            abort(404)
        name = next(e.name for e in estates if e.id == chosen)
        return self._page(f"{DASHBOARD_PAGES['estate']} · {name}", "estate", context(session, chosen),
                          estates=estates, chosen=chosen)


def register(appbuilder: AppBuilder) -> None:
    appbuilder.add_view(
        DashboardView, DASHBOARD_PAGES["jurisdiction"], href="/dashboard/jurisdiction/", icon="fa-bar-chart",
        label=DASHBOARD_PAGES["jurisdiction"], category=DASHBOARD_MENU, category_icon="fa-dashboard",
        category_label=DASHBOARD_MENU,
    )
    appbuilder.add_link(
        DASHBOARD_PAGES["estate"], href="/dashboard/estate/", icon="fa-area-chart",
        label=DASHBOARD_PAGES["estate"], category=DASHBOARD_MENU,
    )
