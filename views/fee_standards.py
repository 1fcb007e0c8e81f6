"""Fee standards: the prices side by side with the standard they replace, on the review page
and on a page of their own."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name

from models.fees import FeeStandard
from views.registry import extends


@extends(FeeStandard)
class FeeStandardActions:
    #: buttons on a standard's page: (label, endpoint, permission, icon)
    show_buttons = (("与现行标准对比价格", "compare", "can_show", "fa-columns"),)

    @expose("/compare/<int:pk>")
    @has_access
    @permission_name("show")
    def compare(self, pk: int):
        standard = self.datamodel.get(pk, self._base_filters)
        if standard is None:
            abort(404)
        previous, rows = standard.price_changes(self.datamodel.session)
        return self.render_template("fees/compare.html", title="收费标准版本对比",
                                    standard=standard, previous=previous, rows=rows)

    def render_template(self, template: str, **kwargs: Any):
        # the reviewer sees the prices and what they change above the decision buttons
        if template == self.show_template and "pk" in kwargs:
            standard = self.shown(kwargs["pk"])
            if standard is not None:
                previous, rows = standard.price_changes(self.datamodel.session)
                kwargs.update(extra_panel="fees/price_review.html", standard=standard, previous=previous, rows=rows)
        return super().render_template(template, **kwargs)
