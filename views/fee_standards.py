"""Fee standards: the version history, old and new price per item side by side."""

from __future__ import annotations

from flask import abort
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name

from models.fees import BILLING_BASES, FeeStandard
from views.registry import extends


@extends(FeeStandard)
class FeeStandardActions:
    #: buttons on a standard's page: (label, endpoint, permission, icon)
    show_buttons = (("与上一版本对比价格", "compare", "can_show", "fa-columns"),)

    @expose("/compare/<int:pk>")
    @has_access
    @permission_name("show")
    def compare(self, pk: int):
        standard = self.datamodel.get(pk, self._base_filters)
        if standard is None:
            abort(404)
        previous = standard.previous(self.datamodel.session)
        old = {line.item_id: line for line in previous.lines} if previous else {}
        new = {line.item_id: line for line in standard.lines}
        items = {line.item_id: line.item for line in [*old.values(), *new.values()]}
        rows = [
            {"item": items[i], "basis": BILLING_BASES.label((new.get(i) or old.get(i)).billing_basis),
             "old": old[i].unit_price if i in old else None, "new": new[i].unit_price if i in new else None}
            for i in sorted(items, key=lambda i: items[i].code)
        ]
        return self.render_template("fees/compare.html", title="收费标准版本对比",
                                    standard=standard, previous=previous, rows=rows)
