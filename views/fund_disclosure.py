"""维修资金公开 (第30条) for signed-in users: per estate and period, within the user's scope.

Whoever may read the fund accounts may read their disclosure (the role matrix grants
``can_list`` on FundAccount). The figures come from ``models.repair_fund_disclosure``;
the data layer scopes every query, so another estate's id is simply not found (404).
"""

from __future__ import annotations

import datetime as dt

from flask import abort, render_template, request
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from models import clock
from models.estate import Estate
from models.repair_fund import ENTRY_KINDS, FundAccount
from models.repair_fund_disclosure import Period, disclose, parse_period, period_of, periods
from models.settings import settings_for
from views.registry import extends


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        return None


@extends(FundAccount)
class FundDisclosurePages:
    list_buttons = (("资金使用情况公开", "disclosure", "can_list", "fa-bullhorn"),)

    def _report(self):
        """(estates, estate, choices, period, error) from the query string."""
        session = self.datamodel.session
        estates = session.execute(select(Estate).order_by(Estate.code)).scalars().all()
        if not estates:
            return estates, None, [], None, None
        wanted = request.args.get("estate", "")
        estate = next((e for e in estates if str(e.id) == wanted), None) if wanted else estates[0]
        if estate is None:
            abort(404)  # not an estate of this user: as if it did not exist
        months = settings_for(session, estate.id).fund_disclosure_months
        today = clock.today()
        choices = periods(session, estate.id, months, today)
        start, end = _date(request.args.get("start")), _date(request.args.get("end"))
        error = None
        if request.args.get("start") or request.args.get("end"):
            if start is None or end is None:
                error, period = "请填写完整的起止日期", choices[0]
            elif end < start:
                error, period = "结束日期不能早于开始日期", choices[0]
            else:
                period = Period(start, end)
        else:
            period = parse_period(request.args.get("period"), months) or period_of(today, months)
        return estates, estate, choices, period, error

    @expose("/disclosure/")
    @has_access
    @permission_name("list")
    def disclosure(self):
        estates, estate, choices, period, error = self._report()
        report = disclose(self.datamodel.session, estate.id, period) if estate is not None else None
        return self.render_template(
            "fund_disclosure/admin.html", title="维修资金使用情况公开", estates=estates, estate=estate,
            choices=choices, period=period, report=report, error=error, kinds=ENTRY_KINDS, args=request.args,
        )

    @expose("/disclosure/print/")
    @has_access
    @permission_name("list")
    def disclosure_print(self):
        """The same report alone on the page, laid out for A4 paper."""
        _estates, estate, _choices, period, error = self._report()
        if estate is None or error:
            abort(404)
        report = disclose(self.datamodel.session, estate.id, period)
        return render_template("fund_disclosure/print.html", estate=estate, report=report, today=clock.today())
