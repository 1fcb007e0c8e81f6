"""业主大会 pages: a meeting's live count per matter with paper-ballot entry, and the
printable ballots (one per person, every matter of the agenda, every unit of the person).

Each endpoint adapts a service of ``models.owners_assembly``; the data layer scopes every
query, so another estate's meeting is simply not found (404).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import clock
from models.errors import Refused
from models.estate import Building, Unit, reading_order
from models.fund_vote import BALLOT_CHOICES, MATTERS
from models.owners_assembly import (
    STATES, MatterResult, MeetingBallot, MeetingRoll, OwnersMeeting, cast_agenda, covered_by, tally_of,
)
from views.registry import extends
from views.repair_fund import tally_rows, threshold_bars, unvoted_units


def agenda_choices(meeting: OwnersMeeting, form: Any) -> dict[int, str]:
    """The choice on each matter as a form sends it (``choice_<matter id>``)."""
    return {m.id: form.get(f"choice_{m.id}", "") for m in meeting.matters}


@extends(OwnersMeeting)
class OwnersMeetingActions:
    show_buttons = (
        ("表决与计票", "tally", "can_show", "fa-bar-chart"),
        ("打印表决票与名册", "print_ballots", "can_ballot", "fa-print"),
    )

    def _meeting(self, pk: int) -> OwnersMeeting:
        meeting = self.datamodel.get(pk, self._base_filters)
        if meeting is None:
            abort(404)
        return meeting

    @expose("/tally/<int:pk>")
    @has_access
    @permission_name("show")
    def tally(self, pk: int):
        """Each matter's live count (or its stored result) with its thresholds."""
        session = self.datamodel.session
        meeting = self._meeting(pk)
        opened = meeting.state in ("voting", "counted")
        results = {r.matter_id: r for r in session.execute(
            select(MatterResult).where(MatterResult.meeting_id == meeting.id)).scalars()}
        matters = []
        for matter in meeting.matters:
            counted = tally_of(session, matter) if opened else None
            matters.append({"matter": matter, "kind": MATTERS.label(matter.matter), "tally": counted,
                            "result": results.get(matter.id),
                            "rows": tally_rows(counted) if counted else [],
                            "bars": threshold_bars(counted) if counted else []})
        first = matters[0]["tally"] if matters and opened else None
        return self.render_template(
            "assembly/tally.html", title=f"{meeting.title} · 表决与计票", meeting=meeting, matters=matters,
            first=first, choices=BALLOT_CHOICES, states=STATES,
            may_record=meeting.state == "voting" and self.may_fire("ballot"),
        )

    @expose("/roll_lookup/<int:pk>")
    @has_access
    @permission_name("ballot")
    def roll_lookup(self, pk: int):
        """Select2 search over the units of the roll whose person has not voted yet."""
        meeting = self._meeting(pk)
        return unvoted_units(self.datamodel.session, MeetingRoll, MeetingRoll.meeting_id == meeting.id,
                             select(MeetingBallot.person).where(MeetingBallot.meeting_id == meeting.id))

    @expose("/ballot/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("ballot")
    def ballot(self, pk: int):
        """录入纸质表决票: the unit, the owner's choice on every matter, the scanned form."""
        from views.uploads import discard_upload, save_upload

        session = self.datamodel.session
        meeting = self._meeting(pk)
        unit, scan = request.form.get("unit", ""), None
        try:
            if not unit.isdigit():
                raise Refused("请选择房屋")
            if not request.files.get("scan"):
                raise Refused("纸质表决票须上传扫描件")
            scan = save_upload(request.files["scan"])
            ballot = cast_agenda(session, meeting, int(unit), agenda_choices(meeting, request.form), channel="paper",
                                 recorded_by=g.user.username, scan=scan)
            units, area = covered_by(session, ballot)
            session.commit()
        except Refused as refused:
            session.rollback()
            discard_upload(scan)  # a refused ballot leaves no file behind
            flash(str(refused), "danger")
        else:
            flash(f"已录入表决票：对 {len(meeting.matters)} 个事项的表决意见计入该业主在名册中的全部 {units} 套房屋"
                  f"（{area} ㎡），计为一人", "success")
        return redirect(url_for(f"{self.endpoint}.tally", pk=pk))

    @expose("/print_ballots/<int:pk>")
    @has_access
    @permission_name("ballot")
    def print_ballots(self, pk: int):
        """表决票与名册 for printing (A4): one slip per person with every matter of the agenda and
        every unit of the person, and the person's 电子投票码; committee only."""
        session = self.datamodel.session
        meeting = self._meeting(pk)
        roll = session.execute(
            select(MeetingRoll).options(joinedload(MeetingRoll.unit).joinedload(Unit.building))
            .where(MeetingRoll.meeting_id == meeting.id).join(Unit, Unit.id == MeetingRoll.unit_id)
            .join(Building, Building.id == Unit.building_id).order_by(*reading_order())
        ).scalars().all()
        persons: dict[str, list[MeetingRoll]] = {}
        for entry in roll:  # in reading order of each person's first unit
            persons.setdefault(entry.person, []).append(entry)
        slips = [{"name": units[0].voter_name, "code": units[0].code, "units": units,
                  "area": sum((u.area for u in units), Decimal("0.00"))} for units in persons.values()]
        return self.render_template("assembly/print_ballots.html", title=f"{meeting.title} · 表决票", meeting=meeting,
                                    slips=slips, choices=BALLOT_CHOICES, matters=MATTERS, today=clock.today())
