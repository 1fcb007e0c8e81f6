"""业主大会 pages: a meeting's live count per matter with paper-ballot entry, and the
printable ballots (one per person, every matter of the agenda, every unit of the person).

Each endpoint adapts a service of ``models.owners_assembly``; the data layer scopes every
query, so another estate's meeting is simply not found (404).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask import abort, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from models import clock
from models.election import (
    NOMINATIONS, OUTCOMES, CandidateResult, approvals_of, elect, election_tallies, election_words,
)
from models.fund_vote import BALLOT_CHOICES, MATTERS, percent_text
from models.owners_assembly import (
    STATES, MatterResult, MeetingBallot, MeetingMatter, MeetingRoll, OwnersMeeting, cast_agenda, covered_by, tally_of,
)
from views.registry import extends
from views.repair_fund import ballot_slips, record_paper_ballot, tally_rows, threshold_bars, unvoted_units


def agenda_choices(meeting: OwnersMeeting, form: Any) -> dict[int, str]:
    """The choice on each yes/no matter as a form sends it (``choice_<matter id>``)."""
    return {m.id: form.get(f"choice_{m.id}", "") for m in meeting.matters if not m.is_election}


def agenda_approvals(meeting: OwnersMeeting, form: Any) -> dict[int, list[int]]:
    """The candidates each election of the agenda approves (``approve_<matter id>``)."""
    return {m.id: approvals_of(form, m) for m in meeting.matters if m.is_election}


def standings_of(session: Any, matter: MeetingMatter, options: dict | None = None) -> dict[str, Any]:
    """An election's candidates with their count, rank and outcome: stored once counted,
    else live (with the quorum bars, the same for every candidate)."""
    stored = {r.candidate_id: r for r in session.execute(
        select(CandidateResult).where(CandidateResult.matter_id == matter.id), execution_options=options or {}
    ).scalars()}
    live = None
    if stored:
        placed = {cid: (r.rank, r.outcome) for cid, r in stored.items()}
        figures = {cid: (r.yes_heads, r.participating_heads, r.yes_area, r.participating_area, r.passed)
                   for cid, r in stored.items()}
    else:
        tallies = election_tallies(session, matter)
        placed = {s.candidate_id: (s.rank, s.outcome) for s in elect(tallies, matter.seats, matter.alternates or 0)}
        figures = {cid: (t.yes_heads, t.participating_heads, Decimal(t.yes_area).scaleb(-2),
                         Decimal(t.participating_area).scaleb(-2), t.passed) for cid, t in tallies.items()}
        live = next(iter(tallies.values()), None)
    rows = []
    for c in matter.candidates:
        yes_heads, heads, yes_area, area, passed = figures[c.id]
        rank, outcome = placed[c.id]
        rows.append({"candidate": c, "yes_heads": yes_heads, "yes_area": f"{yes_area:.2f}", "passed": passed,
                     "heads_share": percent_text(Fraction(yes_heads, heads) if heads else Fraction(0)),
                     "area_share": percent_text(Fraction(yes_area) / Fraction(area) if area else Fraction(0)),
                     "rank": rank, "code": outcome, "outcome": OUTCOMES.label(outcome)})
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["candidate"].position))
    words = election_words((outcome for _rank, outcome in placed.values()), matter.seats)
    return {"rows": rows, "final": bool(stored), "words": words,
            "tally": live, "bars": threshold_bars(live)[:2] if live else []}


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
            if matter.is_election:
                election = standings_of(session, matter) if opened else None
                matters.append({"matter": matter, "kind": MATTERS.label(matter.matter), "election": election,
                                "tally": election.get("tally") if election else None})
                continue
            counted = tally_of(session, matter) if opened else None
            matters.append({"matter": matter, "kind": MATTERS.label(matter.matter), "tally": counted,
                            "result": results.get(matter.id),
                            "rows": tally_rows(counted) if counted else [],
                            "bars": threshold_bars(counted) if counted else []})
        first = next((m["tally"] for m in matters if m.get("tally")), None) if opened else None
        return self.render_template(
            "assembly/tally.html", title=f"{meeting.title} · 表决与计票", meeting=meeting, matters=matters,
            first=first, choices=BALLOT_CHOICES, states=STATES, nominations=NOMINATIONS,
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
        session = self.datamodel.session
        meeting = self._meeting(pk)
        record_paper_ballot(
            session,
            lambda unit_id, scan: cast_agenda(
                session, meeting, unit_id, agenda_choices(meeting, request.form), channel="paper",
                recorded_by=g.user.username, scan=scan, approvals=agenda_approvals(meeting, request.form)),
            covered_by,
            lambda _ballot, units, area: f"已录入表决票：对 {len(meeting.matters)} 个事项的表决意见计入该业主在名册中的全部 "
                                         f"{units} 套房屋（{area} ㎡），计为一人",
        )
        return redirect(url_for(f"{self.endpoint}.tally", pk=pk))

    @expose("/print_ballots/<int:pk>")
    @has_access
    @permission_name("ballot")
    def print_ballots(self, pk: int):
        """表决票与名册 for printing (A4): one slip per person with every matter of the agenda and
        every unit of the person, and the person's 电子投票码; committee only."""
        meeting = self._meeting(pk)
        slips = ballot_slips(self.datamodel.session, MeetingRoll, MeetingRoll.meeting_id == meeting.id)
        return self.render_template("assembly/print_ballots.html", title=f"{meeting.title} · 表决票", meeting=meeting,
                                    slips=slips, estate=meeting.estate, subject=meeting.title,
                                    back_url=url_for(f"{self.endpoint}.tally", pk=meeting.id),
                                    choices=BALLOT_CHOICES, matters=MATTERS, today=clock.today())
