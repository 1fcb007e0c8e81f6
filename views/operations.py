"""Operations: the 超时 filter of the service desk lists, and survey results.

The overdue filter is a search filter of the ``deadline`` column, so the 超时 list is an
ordinary filtered list: paging, ordering, further filters and the Excel export of "the
list as filtered" all keep it. The data layer scopes every query as everywhere else.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, redirect, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import permission_name

from models.clock import local_now
from models.service_orders import Complaint, RepairOrder, overdue_clause
from models.staff_quality import SCORES, Survey, respondent_count, survey_results
from views.registry import extends


class FilterOverdue(BaseFilter):
    """已超时: still open and strictly past the deadline, as of the moment the list is read."""

    name = "已超时（未办结）"
    arg_name = "overdue"

    def apply(self, query, value):
        return query.filter(overdue_clause(self.model, local_now()))


def overdue_filter_index(view: Any) -> int:
    """The position of the 超时 filter among the ``deadline`` column's filters (its URL code)."""
    filters = view._filters.get_search_filters()["deadline"]
    return next(i for i, f in enumerate(filters) if isinstance(f, FilterOverdue))


class ServiceDeskActions:
    #: buttons on the list: (label, endpoint, permission, icon)
    list_buttons = (("超时未办结", "overdue", "can_list", "fa-clock-o"),)

    def _init_properties(self) -> None:
        super()._init_properties()  # type: ignore[misc]
        overdue = FilterOverdue("deadline", self.datamodel)  # type: ignore[attr-defined]
        # the search form offers it, and "_flt_<n>_deadline" in a URL (the button, exports) applies it
        self._filters.get_search_filters()["deadline"].append(overdue)  # type: ignore[attr-defined]
        self._filters._all_filters["deadline"].append(overdue)  # type: ignore[attr-defined]

    @expose("/overdue/")
    @has_access
    @permission_name("list")
    def overdue(self):
        """超时: the list filtered to open requests past their deadline."""
        name = f"_flt_{overdue_filter_index(self)}_deadline"
        return redirect(url_for(f"{self.endpoint}.list", **{name: "是"}))  # type: ignore[attr-defined]


extends(RepairOrder)(type("RepairOrderActions", (ServiceDeskActions,), {}))
extends(Complaint)(type("ComplaintActions", (ServiceDeskActions,), {}))


@extends(Survey)
class SurveyActions:
    show_buttons = (("调查结果", "results", "can_show", "fa-bar-chart"),)

    @expose("/results/<int:pk>")
    @has_access
    @permission_name("show")
    def results(self, pk: int):
        survey = self.datamodel.get(pk, self._base_filters)  # type: ignore[attr-defined]
        if survey is None:
            abort(404)
        session = self.datamodel.session  # type: ignore[attr-defined]
        rows = survey_results(session, survey.id)
        return self.render_template(  # type: ignore[attr-defined]
            "operations/survey_results.html", title="满意度调查结果", survey=survey, rows=rows,
            levels=SCORES.pairs, respondents=respondent_count(session, survey.id), percent=_percent,
            average=_two_places,
        )


def _two_places(value) -> str:
    if value is None:
        return "—"
    return f"{(Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal('0.01'))}"


def _percent(value) -> str:
    """A Fraction as a percentage with one decimal (shown, never stored)."""
    if value is None:
        return "—"
    tenths = round(value * 1000)
    return f"{tenths // 10}.{tenths % 10}%"
