"""Repair fund pages: ledger corrections and first deposits, paper ballots, the live tally.

Each endpoint adapts a domain service of ``models.repair_fund``; the data layer scopes
every query, so a row of another estate is simply not found (404).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from models.errors import Refused
from models.estate import Estate
from models.fund_vote import BALLOT_CHOICES, Ballot, VoteResult, VoteRoll
from models.repair_fund import (
    FundApplication, FundEntry, current_tally, deposit_first, reverse_entry, cast_ballot,
)
from models.settings import Settings
from views.registry import extends


@extends(FundEntry)
class FundEntryActions:
    list_buttons = (("首期交存", "deposit", "can_deposit", "fa-plus-circle"),)
    show_buttons = ()

    @expose("/reverse/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("reverse")
    def reverse(self, pk: int):
        """冲正: a reversing entry pointing at the original, with the reason."""
        session = self.datamodel.session
        entry = self.datamodel.get(pk, self._base_filters)
        if entry is None:
            abort(404)
        try:
            correction = reverse_entry(session, entry, request.form.get("reason", ""))
            session.commit()
        except Refused as refused:
            session.rollback()
            flash(str(refused), "danger")
            return redirect(url_for(f"{self.endpoint}.show", pk=pk))
        flash("已冲正", "success")
        return redirect(url_for(f"{self.endpoint}.show", pk=correction.id))

    @expose("/deposit/", methods=["GET", "POST"])
    @has_access
    @permission_name("deposit")
    def deposit(self):
        """首期交存: 建筑面积 × 交存标准 for every unit of an estate that has not deposited."""
        session = self.datamodel.session
        estates = session.execute(select(Estate).order_by(Estate.code)).scalars().all()
        rate = Settings.current(session).fund_deposit_rate
        form = {"estate": request.form.get("estate", ""), "day": request.form.get("day", dt.date.today().isoformat())}
        if request.method == "POST":
            estate = session.get(Estate, int(form["estate"])) if form["estate"].isdigit() else None
            try:
                if estate is None:
                    raise Refused("请选择小区")
                try:
                    day = dt.date.fromisoformat(form["day"])
                except ValueError:
                    raise Refused("交存日期格式不正确") from None
                count = deposit_first(session, estate, rate, day)
                session.commit()
            except Refused as refused:
                session.rollback()
                flash(str(refused), "danger")
            else:
                flash(f"已为{estate.name}的 {count} 套房屋记入首期交存" if count else "该小区所有房屋均已首期交存",
                      "success")
                return redirect(url_for(f"{self.endpoint}.list"))
        return self.render_template("fund/deposit.html", title="首期交存", estates=estates, form=form, rate=rate)


@extends(FundApplication)
class FundApplicationActions:
    show_buttons = (("表决与计票", "tally", "can_show", "fa-bar-chart"),)

    @expose("/tally/<int:pk>")
    @has_access
    @permission_name("show")
    def tally(self, pk: int):
        """The live tally: area and headcount, each threshold with its progress."""
        session = self.datamodel.session
        app = self.datamodel.get(pk, self._base_filters)
        if app is None:
            abort(404)
        counted = current_tally(session, app) if app.rule_quorum else None
        result = session.execute(select(VoteResult).where(VoteResult.application_id == app.id)).scalar_one_or_none()
        # in the database: 10,000 ballot ids sent back as NOT IN parameters cost a query and most of the page
        voted = select(Ballot.id).where(Ballot.application_id == VoteRoll.application_id,
                                        Ballot.unit_id == VoteRoll.unit_id).exists()
        waiting = session.execute(
            select(VoteRoll).where(VoteRoll.application_id == app.id, ~voted).order_by(VoteRoll.unit_id).limit(500)
        ).scalars().all()
        return self.render_template(
            "fund/tally.html", title=f"{app.title} · 表决与计票", app=app, tally=counted, result=result,
            waiting=waiting, choices=BALLOT_CHOICES,
            may_record=app.state == "voting" and self.may_fire("ballot"),
        )

    @expose("/ballot/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("ballot")
    def ballot(self, pk: int):
        """录入纸质表决票: the unit, the owner's choice and the scanned form."""
        from views.uploads import save_upload

        session = self.datamodel.session
        app = self.datamodel.get(pk, self._base_filters)
        if app is None:
            abort(404)
        unit = request.form.get("unit", "")
        try:
            if not unit.isdigit():
                raise Refused("请选择房屋")
            scan = save_upload(request.files.get("scan"))
            cast_ballot(session, app, int(unit), request.form.get("choice", ""), channel="paper",
                        recorded_by=g.user.username, scan=scan)
            session.commit()
        except Refused as refused:
            session.rollback()
            flash(str(refused), "danger")
        else:
            flash("已录入表决票", "success")
        return redirect(url_for(f"{self.endpoint}.tally", pk=pk))

    def render_template(self, template: str, **kwargs: Any):
        return super().render_template(template, **kwargs)
