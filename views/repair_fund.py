"""Repair fund pages: the application's page (列支范围, payment preview, links), the live
tally with paper-ballot entry, the printable ballots, ledger corrections, first deposits,
续交预警 and each unit's 分户账.

Each endpoint adapts a domain service of ``models.repair_fund``; the data layer scopes
every query, so a row of another estate is simply not found (404).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from functools import cache
from types import SimpleNamespace
from typing import Any

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import bindparam, case, func, or_, select, true
from sqlalchemy.orm import joinedload

from models import clock
from models.base import batches, row_id, small_number
from models.errors import Refused
from models.estate import Building, Estate, Unit, reading_key, reading_order
from models.fund_vote import BALLOT_CHOICES, MATTERS, Ballot, VoteResult, VoteRoll, VoteTally, percent_text
from models.owners_assembly import deciding_meeting
from models.repair_fund import (
    CATEGORIES, ENTRY_KINDS, STATES, FundApplication, FundEntry, FundPayment, balances, cast_ballot,
    covered_by, current_tally, deposit_first, in_electorate, planned_shares, reverse_entry, top_up_warnings,
)
from models.settings import Settings, setting_in_estates
from views.registry import extends

#: states in which the cost is settled and the payment is still to come
BEFORE_PAYMENT = ("settled", "transfer_requested", "filed")
#: rows of the tally page's unit search (Select2 pages through the rest)
LOOKUP_PAGE = 20


def _m2(hundredths: int) -> str:
    """0.01 ㎡ counts (the tally's unit) as ㎡ with two decimals."""
    return f"{Decimal(hundredths).scaleb(-2):.2f}"


def tally_rows(t) -> list[tuple[str, str, int]]:
    """The tally's figures as (row, area in ㎡, persons) for its table."""
    rows = [("总数", t.total_area, t.total_heads), ("参与表决", t.participating_area, t.participating_heads),
            ("同意", t.yes_area, t.yes_heads), ("反对", t.no_area, t.no_heads),
            ("弃权", t.abstain_area, t.abstain_heads)]
    if t.silent_area or t.silent_heads:
        rows.append(("未反馈视为同意", t.silent_area, t.silent_heads))
    return [(label, _m2(area), heads) for label, area, heads in rows]


def threshold_bars(t) -> list[dict[str, Any]]:
    """The four thresholds: progress against the whole, the line to reach, met or not."""
    rule = t.rule
    per_participants = rule.base == "participating"
    approval = ("过" if rule.strict else "达到") + f" {rule.approval}" + ("" if rule.strict else " 以上")
    base_area = t.participating_area if per_participants else t.total_area
    base_heads = t.participating_heads if per_participants else t.total_heads
    base_name = "参与表决" if per_participants else "全体业主"
    specs = (
        ("参与表决面积", t.participating_area, t.total_area, "总面积", f"达到 {rule.quorum} 以上", rule.quorum,
         t.quorum_area_met, True),
        ("参与表决人数", t.participating_heads, t.total_heads, "总人数", f"达到 {rule.quorum} 以上", rule.quorum,
         t.quorum_heads_met, False),
        ("同意面积", t.yes_area, base_area, f"{base_name}面积", approval, rule.approval, t.approval_area_met, True),
        ("同意人数", t.yes_heads, base_heads, f"{base_name}人数", approval, rule.approval, t.approval_heads_met, False),
    )
    bars = []
    for label, part, whole, of, need, line, met, area in specs:
        share = t.share(part, whole)
        bars.append({
            "label": label, "part": _m2(part) if area else str(part), "whole": _m2(whole) if area else str(whole),
            "unit": "㎡" if area else "人", "of": of, "need": need, "met": met,
            "percent": percent_text(share), "width": percent_text(min(share, Fraction(1))),
            "line": percent_text(line),
        })
    return bars


def unvoted_units(session, roll: type, of_vote: Any, voted: Any):
    """Select2's search over the units of a vote's roll whose person has not voted yet: each
    word typed matches the building, the room or the owner's name, as every picker."""
    words = request.args.get("q", "")[:100].split()[:5]
    page = request.args.get("page", "1")
    page = small_number(page, 10_000) or 1
    query = (
        select(roll.unit_id, Building.name, Unit.room_no, roll.voter_name)
        .join(Unit, Unit.id == roll.unit_id).join(Building, Building.id == Unit.building_id)
        .where(of_vote, roll.person.not_in(voted))
    )
    for word in words:
        query = query.where(or_(*(c.icontains(word, autoescape=True)
                                  for c in (Building.name, Unit.room_no, roll.voter_name))))
    rows = session.execute(query.order_by(*reading_order())
                           .offset((page - 1) * LOOKUP_PAGE).limit(LOOKUP_PAGE + 1)).all()
    results = [{"id": unit_id, "text": f"{building} {room}（{name}）"}
               for unit_id, building, room, name in rows[:LOOKUP_PAGE]]
    return jsonify(results=results, pagination={"more": len(rows) > LOOKUP_PAGE})


def record_paper_ballot(session, cast: Callable[[int, str], Any], covered: Callable[[Any, Any], tuple[int, Any]],
                        said: Callable[[Any, int, Decimal], str]) -> None:
    """录入纸质表决票, for either vote: the unit of the form and its scan (required, and kept
    only when the ballot is recorded); ``cast(unit_id, scan)`` writes the ballot, the outcome
    is flashed with the units and area it counts for."""
    from views.uploads import discard_upload, save_upload

    unit, scan = request.form.get("unit", ""), None
    try:
        if row_id(unit) is None:
            raise Refused("请选择房屋")
        if not request.files.get("scan"):
            raise Refused("纸质表决票须上传扫描件")
        scan = save_upload(request.files["scan"])
        ballot = cast(row_id(unit), scan)
        units, area = covered(session, ballot)
        session.commit()
    except Refused as refused:
        session.rollback()
        discard_upload(scan)  # a refused ballot leaves no file behind
        flash(str(refused), "danger")
    else:
        flash(said(ballot, units, area), "success")


def ballot_slips(session, roll: type, of_vote: Any) -> list[dict[str, Any]]:
    """The printed 表决票: one slip per person of a vote's roll with all of their units, in
    reading order of each person's first unit."""
    entries = session.execute(
        select(roll).options(joinedload(roll.unit).joinedload(Unit.building)).where(of_vote)
        .join(Unit, Unit.id == roll.unit_id).join(Building, Building.id == Unit.building_id)
        .order_by(*reading_order())
    ).scalars().all()
    persons: dict[str, list[Any]] = {}
    for entry in entries:
        persons.setdefault(entry.person, []).append(entry)
    return [{"name": units[0].voter_name, "code": units[0].code, "units": units,
             "area": sum((u.area for u in units), Decimal("0.00"))} for units in persons.values()]


def _units(session, unit_ids) -> dict[int, Unit]:
    """The units by id, with what their names read (楼栋, 小区), in one query per 5000."""
    found: dict[int, Unit] = {}
    for chunk in batches(unit_ids):
        found.update({u.id: u for u in session.execute(
            select(Unit).options(joinedload(Unit.building).joinedload(Building.estate))
            .where(Unit.id.in_(chunk))).scalars()})
    return found


def _has(view_name: str, permission: str) -> bool:
    from flask import current_app

    return current_app.appbuilder.sm.has_access(permission, view_name)


# -- the ledger ----------------------------------------------------------------------

@extends(FundEntry)
class FundEntryActions:
    list_buttons = (
        ("首期交存", "deposit", "can_deposit", "fa-plus-circle"),
        ("续交预警", "top_up", "can_list", "fa-exclamation-triangle"),
    )
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
        rates = setting_in_estates(session, "fund_deposit_rate", [e.id for e in estates])
        form = {"estate": request.form.get("estate", ""), "day": request.form.get("day", clock.today().isoformat())}
        if request.method == "POST":
            estate = session.get(Estate, row_id(form["estate"]) or 0)
            if estate is not None and estate.id not in {e.id for e in estates}:
                estate = None  # another estate's id reads like no estate at all
            try:
                if estate is None:
                    raise Refused("请选择小区")
                try:
                    day = dt.date.fromisoformat(form["day"])
                except ValueError:
                    raise Refused("交存日期格式不正确") from None
                count = deposit_first(session, estate, rates[estate.id], day)
                session.commit()
            except Refused as refused:
                session.rollback()
                flash(str(refused), "danger")
            else:
                flash(f"已为{estate.name}的 {count} 套房屋记入首期交存" if count else "该小区所有房屋均已首期交存",
                      "success")
                return redirect(url_for(f"{self.endpoint}.list"))
        return self.render_template("fund/deposit.html", title="首期交存", estates=estates, form=form, rates=rates)

    @expose("/top_up/")
    @has_access
    @permission_name("list")
    def top_up(self):
        """续交预警: units of the user's estates whose balance fell below the threshold."""
        session = self.datamodel.session
        percent = Settings.current(session).fund_top_up_percent
        found = top_up_warnings(session, percent)
        units = _units(session, [r.unit_id for r in found])
        rows = [
            {"unit": units[r.unit_id], "first": Decimal(r.first_deposit), "balance": Decimal(r.balance),
             "percent": percent_text(Fraction(Decimal(r.balance)) / Fraction(Decimal(r.first_deposit)))}
            for r in found if r.unit_id in units  # the scope hides other estates' units
        ]
        return self.render_template("fund/top_up.html", title="续交预警", rows=rows, threshold=percent)

    def render_template(self, template: str, **kwargs: Any):
        if template == self.show_template and "pk" in kwargs:
            entry = self.shown(kwargs["pk"])
            if entry is not None:
                session = self.datamodel.session
                kwargs["extra_panel"] = "fund/entry_panel.html"
                kwargs["entry"] = entry
                kwargs["reversed_by"] = session.execute(
                    select(FundEntry).where(FundEntry.reverses_id == entry.id)).scalar_one_or_none()
                kwargs["may_reverse"] = (self.may_fire("reverse") and entry.reverses_id is None
                                         and entry.kind != "use" and kwargs["reversed_by"] is None)
                kwargs["kinds"] = ENTRY_KINDS
        return super().render_template(template, **kwargs)


@extends(Unit)
class UnitFundActions:
    show_buttons = (("维修资金分户账", "fund_ledger", "can_show", "fa-book"),)

    @expose("/fund_ledger/<int:pk>")
    @has_access
    @permission_name("show")
    def fund_ledger(self, pk: int):
        """分户账: every entry of one unit, oldest first, with the running balance."""
        unit = self.datamodel.get(pk, self._base_filters)
        if unit is None:
            abort(404)
        if not _has("FundEntryView", "can_list"):
            abort(403)
        session = self.datamodel.session
        entries = session.execute(
            select(FundEntry).options(joinedload(FundEntry.application))
            .where(FundEntry.unit_id == unit.id).order_by(FundEntry.occurred_on, FundEntry.id)
        ).scalars().all()
        running, rows = Decimal("0.00"), []
        for entry in entries:
            running += entry.amount
            rows.append({"entry": entry, "balance": running})
        first = sum((e.amount for e in entries if e.kind == "deposit"), Decimal("0.00"))
        return self.render_template("fund/unit_ledger.html", title=f"{unit} · 维修资金分户账", unit=unit, rows=rows,
                                    balance=running, first=first, kinds=ENTRY_KINDS)


# -- use applications and the vote ---------------------------------------------------

@extends(FundApplication)
class FundApplicationActions:
    show_buttons = (
        ("表决与计票", "tally", "can_show", "fa-bar-chart"),
        ("打印表决票与名册", "print_ballots", "can_ballot", "fa-print"),
    )

    def _application(self, pk: int) -> FundApplication:
        app = self.datamodel.get(pk, self._base_filters)
        if app is None:
            abort(404)
        return app

    @expose("/tally/<int:pk>")
    @has_access
    @permission_name("show")
    def tally(self, pk: int):
        """The live tally: area and headcount, each threshold with its progress."""
        session = self.datamodel.session
        app = self._application(pk)
        meeting = deciding_meeting(session, app)  # the whole estate decides it with a meeting's agenda
        # the roll opens with the application's own vote
        counted = current_tally(session, app) if app.rule_quorum and meeting is None else None
        result = session.execute(select(VoteResult).where(VoteResult.application_id == app.id)).scalar_one_or_none()
        return self.render_template(
            "fund/tally.html", title=f"{app.title} · 表决与计票", app=app, tally=counted, result=result, meeting=meeting,
            rows=tally_rows(counted) if counted else [], bars=threshold_bars(counted) if counted else [],
            roll=counted.units if counted else 0,
            choices=BALLOT_CHOICES, states=STATES,
            may_record=app.state == "voting" and self.may_fire("ballot"),
        )

    @expose("/roll_lookup/<int:pk>")
    @has_access
    @permission_name("ballot")
    def roll_lookup(self, pk: int):
        """Select2 search over the units of the roll that have not voted yet."""
        app = self._application(pk)
        return unvoted_units(self.datamodel.session, VoteRoll, VoteRoll.application_id == app.id,
                             select(Ballot.person).where(Ballot.application_id == app.id))

    @expose("/ballot/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("ballot")
    def ballot(self, pk: int):
        """录入纸质表决票: the unit, the owner's choice and the scanned form."""
        session = self.datamodel.session
        app = self._application(pk)
        record_paper_ballot(
            session,
            lambda unit_id, scan: cast_ballot(session, app, unit_id, request.form.get("choice", ""), channel="paper",
                                              recorded_by=g.user.username, scan=scan),
            covered_by,
            lambda ballot, units, area: f"已录入表决票：「{BALLOT_CHOICES.label(ballot.choice)}」计入该业主在名册中的全部 "
                                        f"{units} 套房屋（{area} ㎡），计为一人",
        )
        return redirect(url_for(f"{self.endpoint}.tally", pk=pk))

    @expose("/print_ballots/<int:pk>")
    @has_access
    @permission_name("ballot")
    def print_ballots(self, pk: int):
        """表决票与名册 for printing (A4): one slip per person listing all of their units, with
        the person's 电子投票码; committee only."""
        app = self._application(pk)
        slips = ballot_slips(self.datamodel.session, VoteRoll, VoteRoll.application_id == app.id)
        return self.render_template("fund/print_ballots.html", title=f"{app.title} · 表决票", app=app, slips=slips,
                                    estate=app.estate, subject=app.title,
                                    back_url=url_for(f"{self.endpoint}.tally", pk=app.id),
                                    choices=BALLOT_CHOICES, matters=MATTERS, today=clock.today())

    def render_template(self, template: str, **kwargs: Any):
        if template == self.show_template and "pk" in kwargs:
            app = self.shown(kwargs["pk"])
            if app is not None:
                kwargs.update(self._panel(app))
        return super().render_template(template, **kwargs)

    def _panel(self, app: FundApplication) -> dict[str, Any]:
        """The application's page: its 列支范围, the way to the vote, the payment preview."""
        session = self.datamodel.session
        figures = _figures(session, app)
        panel: dict[str, Any] = {
            "extra_panel": "fund/application_panel.html", "fund_app": app, "categories": CATEGORIES,
            **figures, "may_add_scope": app.state in ("draft", "returned") and _has("FundScopeView", "can_add"),
            "preview": None,
        }
        if app.state in BEFORE_PAYMENT and app.actual_cost and figures["scope_units"]:
            shares = planned_shares(session, app)
            current = balances(session, shares)
            units = _units(session, shares)
            rows = [{"unit": units[u], "share": share, "balance": current[u], "short": current[u] < share}
                    for u, share in shares.items()]
            rows.sort(key=lambda r: (not r["short"], *reading_key(r["unit"])))
            panel["preview"] = {"rows": rows, "total": sum(shares.values(), Decimal("0.00")),
                                "short": sum(1 for r in rows if r["short"])}
        return panel


@cache
def _figures_statement() -> Any:
    """_figures' query, built once: every view of an application's page runs it, and building
    it and its cache key again cost more than the database's part."""
    app = SimpleNamespace(id=bindparam("application"), estate_id=bindparam("estate"))
    scope = select(func.count().label("units"), func.coalesce(func.sum(Unit.floor_area), 0).label("area")) \
        .where(in_electorate(app)).subquery()
    # the roll and the ballots as the database keeps them counted (one ballot per person)
    kept = select(func.coalesce(func.sum(VoteTally.units), 0).label("roll"),
                  func.coalesce(func.sum(case((VoteTally.choice != "", VoteTally.persons), else_=0)), 0).label("ballots")) \
        .where(VoteTally.application_id == app.id).subquery()
    return (select(scope.c.units, scope.c.area, kept.c.roll, kept.c.ballots, VoteResult, FundPayment)
            .select_from(FundApplication).join(scope, true()).join(kept, true())
            .outerjoin(VoteResult, VoteResult.application_id == FundApplication.id)
            .outerjoin(FundPayment, FundPayment.application_id == FundApplication.id)
            .where(FundApplication.id == app.id))


def _figures(session: Any, app: FundApplication) -> dict[str, Any]:
    """The 列支范围's size and area, the roll and ballots, the result and the payment: one query
    (a page has a budget of 8)."""
    row = session.execute(_figures_statement(), {"application": app.id, "estate": app.estate_id}).one()
    units, area, roll, ballots, result, payment = row
    return {"scope_units": units, "scope_area": Decimal(area or 0).quantize(Decimal("0.01")),
            "roll_size": roll, "ballots": ballots, "result": result, "payment": payment}
