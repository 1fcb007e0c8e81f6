"""Two people doing the same thing at the same moment: exactly one effect, and a clear
Chinese message for the other. Driven against a real gunicorn (several worker
processes) on PostgreSQL with parallel HTTP requests (tests/live.py).

A new scenario is a few lines: pick the row, ``same_click`` with the users, the page they
would open and the form's action, then compare the messages and count the effects.
"""

from __future__ import annotations


from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from app import roles
from app.extensions import db
from models import clock
from models.access import UserScope
from models.errors import Refused
from models.fees import FEE_STANDARD_FLOW, Bill, FeeStandard, Payment, record_payment
from models.workflow import TransitionRefused, WorkflowEvent
from tests.live import race
from tests.support import flashed, in_db

LARGE_ESTATE = 1


def add_user(app, username: str, role: str, estate_id: int = LARGE_ESTATE) -> None:
    """A second person in the same role and estate as a demo account."""

    def create() -> None:
        sm = app.appbuilder.sm
        hashed = generate_password_hash(app.config["DEMO_PASSWORD"], method="pbkdf2:sha256:1000")
        user = sm.add_user(username, "测试", username, f"{username}@example.com", sm.find_role(role),
                           hashed_password=hashed)
        assert user, f"{username} could not be created"
        db.session.add(UserScope(user_id=user.id, estate_id=estate_id))
        db.session.commit()

    in_db(app, create)


def same_click(live_server, users: tuple[str, ...], page: str, action: str, data=None,
               files=None) -> list[tuple[str, str]]:
    """Each user opens ``page``; all submit its form to ``action`` at the same instant.
    Returns the (category, text) flash messages of the pages they land on, sorted."""
    pages = race(*(live_server.click(live_server.user(user), page, action, data, files) for user in users))
    for landed in pages:
        assert not isinstance(landed, Exception), landed
        assert landed.status_code == 200, f"{landed.request.method} {landed.url}: {landed.status_code}"
    return sorted(message for landed in pages for message in flashed(landed.text))


def test_two_committee_members_approving_the_same_standard_approve_it_once(app, live_server):
    standard_id = in_db(app, lambda: db.session.scalar(
        select(FeeStandard.id).where(FeeStandard.estate_id == LARGE_ESTATE, FeeStandard.state == "submitted")))
    add_user(app, "committee_b", roles.COMMITTEE)

    seen = same_click(live_server, ("committee_a", "committee_b"),
                      f"/fee_standard/show/{standard_id}", f"/fee_standard/transition/approve/{standard_id}")

    assert seen == [("danger", "当前状态为「已批准」，不能执行「审核通过」"), ("success", "已审核通过")]
    approvals = in_db(app, lambda: db.session.scalar(select(func.count()).select_from(WorkflowEvent).where(
        WorkflowEvent.table_name == "fee_standard", WorkflowEvent.record_id == standard_id,
        WorkflowEvent.transition == "approve")))
    assert approvals == 1


def test_two_cashiers_settling_the_same_bill_record_one_payment(app, live_server):
    bill_id, outstanding = in_db(app, lambda: db.session.execute(
        select(Bill.id, Bill.outstanding).where(Bill.estate_id == LARGE_ESTATE, Bill.paid == 0,
                                                Bill.outstanding > 0).order_by(Bill.id).limit(1)).one())
    form = {"amount": f"{outstanding:f}", "method": "cash", "paid_on": clock.today().isoformat()}

    seen = same_click(live_server, ("manager_a", "staff_a"), f"/bill/show/{bill_id}", f"/bill/pay/{bill_id}", form)

    assert seen == [("danger", "该账单已结清，无需再缴费"), ("success", f"已登记缴费 {outstanding:f} 元")]
    paid, count = in_db(app, lambda: db.session.execute(
        select(Bill.paid, select(func.count()).select_from(Payment).where(Payment.bill_id == bill_id).scalar_subquery())
        .where(Bill.id == bill_id)).one())
    assert (paid, count) == (outstanding, 1)


# -- the repair fund: approvals, ballots and payments

def fund_application(app, *path: str) -> int:
    """A repair-fund application of the large estate over its first building, moved along
    ``path`` (voting yes for every unit before the count)."""
    from decimal import Decimal

    from models.estate import Building
    from models.fund_vote import VoteRoll
    from models.repair_fund import FUND_FLOW, FundApplication, FundScope, cast_ballot, deposit_first
    from models.settings import Settings

    def create() -> int:
        Settings.current(db.session).fund_publicity_days = 0
        building = db.session.scalars(select(Building).where(Building.estate_id == LARGE_ESTATE)
                                      .order_by(Building.id)).first()
        deposit_first(db.session, building.estate, Decimal("100.00"), clock.today())
        application = FundApplication(
            estate_id=LARGE_ESTATE, title="并发测试", repair_part="屋面", budget=Decimal("1000.00"),
            contractor="测试维修公司", plan="十天", exclusion_declared=True, actual_cost=Decimal("900.00"),
            scope=[FundScope(building=building)])
        db.session.add(application)
        db.session.flush()
        for name in path:
            if name == "close_vote":
                for unit_id in db.session.scalars(select(func.min(VoteRoll.unit_id)).where(
                        VoteRoll.application_id == application.id).group_by(VoteRoll.person)):
                    cast_ballot(db.session, application, unit_id, "yes", channel="paper", recorded_by="测试",
                                scan="scan.pdf")
            FUND_FLOW.fire(db.session, application, name)
        db.session.commit()
        return application.id

    return in_db(app, create)


def test_two_committee_members_approving_the_same_fund_plan_approve_it_once(app, live_server):
    pk = fund_application(app, "submit")
    add_user(app, "committee_b", roles.COMMITTEE)

    seen = same_click(live_server, ("committee_a", "committee_b"),
                      f"/fund_application/show/{pk}", f"/fund_application/transition/approve/{pk}")

    assert seen == [("danger", "当前状态为「方案公示」，不能执行「审核通过并公示」"), ("success", "已审核通过并公示")]


def test_two_paper_ballots_of_the_same_person_record_one(app, live_server):
    from models.fund_vote import ONE_BALLOT, Ballot, VoteRoll

    pk = fund_application(app, "submit", "approve", "open_vote")
    unit_id = in_db(app, lambda: db.session.scalar(
        select(VoteRoll.unit_id).where(VoteRoll.application_id == pk).order_by(VoteRoll.unit_id).limit(1)))
    add_user(app, "committee_b", roles.COMMITTEE)
    scan = {"scan": ("scan.pdf", b"%PDF-1.4 ballot", "application/pdf")}

    seen = same_click(live_server, ("committee_a", "committee_b"), f"/fund_application/tally/{pk}",
                      f"/fund_application/ballot/{pk}", {"unit": str(unit_id), "choice": "yes"}, scan)

    assert [kind for kind, _message in seen] == ["danger", "success"]
    assert seen[0][1] == ONE_BALLOT and seen[1][1].startswith("已录入表决票：「同意」计入该业主")
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(Ballot).where(
        Ballot.application_id == pk, Ballot.unit_id == unit_id))) == 1


def test_two_paper_ballots_of_one_owner_through_two_of_their_units_record_one(app, live_server):
    """业主大会: the same person's slip entered twice at once, through different units."""
    import datetime as dt

    from sqlalchemy import update

    from models.fund_vote import ONE_BALLOT
    from models.owners_assembly import MEETING_FLOW, MeetingBallot, MeetingMatter, MeetingRoll, OwnersMeeting

    def open_meeting():
        today = clock.today()
        meeting = OwnersMeeting(estate_id=LARGE_ESTATE, title="并发测试会议", form="written",
                                vote_from=today + dt.timedelta(days=15), vote_until=today + dt.timedelta(days=29),
                                matters=[MeetingMatter(position=1, matter="covenant", title="修订管理规约")])
        db.session.add(meeting)
        db.session.flush()
        MEETING_FLOW.fire(db.session, meeting, "announce")
        db.session.execute(update(OwnersMeeting.__table__).where(OwnersMeeting.id == meeting.id).values(vote_from=today))
        db.session.expire(meeting, ["vote_from"])
        MEETING_FLOW.fire(db.session, meeting, "open_vote")
        db.session.commit()
        units: dict[str, list[int]] = {}
        for person, unit_id in db.session.execute(select(MeetingRoll.person, MeetingRoll.unit_id).where(
                MeetingRoll.meeting_id == meeting.id).order_by(MeetingRoll.unit_id)):
            units.setdefault(person, []).append(unit_id)
        return meeting.id, meeting.matters[0].id, next(ids for ids in units.values() if len(ids) >= 2)[:2]

    pk, matter_id, (first, second) = in_db(app, open_meeting)
    add_user(app, "committee_b", roles.COMMITTEE)
    page, action = f"/owners_meeting/tally/{pk}", f"/owners_meeting/ballot/{pk}"
    scan = {"scan": ("scan.pdf", b"%PDF-1.4 ballot", "application/pdf")}
    pages = race(*(live_server.click(live_server.user(user), page, action,
                                     {"unit": str(unit), f"choice_{matter_id}": "yes"}, scan)
                   for user, unit in (("committee_a", first), ("committee_b", second))))
    seen = sorted(message for landed in pages for message in flashed(landed.text))
    assert [kind for kind, _message in seen] == ["danger", "success"] and seen[0][1] == ONE_BALLOT
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(MeetingBallot).where(
        MeetingBallot.meeting_id == pk))) == 1


def test_two_officials_paying_the_same_application_pay_it_once(app, live_server):
    from models.repair_fund import FundEntry, FundPayment

    pk = fund_application(app, "submit", "approve", "open_vote", "close_vote", "start_work", "accept",
                          "settle", "request_transfer", "file")
    add_user(app, "official_b", roles.OFFICIAL)

    seen = same_click(live_server, ("official_jd", "official_b"),
                      f"/fund_application/show/{pk}", f"/fund_application/transition/pay/{pk}")

    assert seen == [("danger", "当前状态为「已划转」，不能执行「确认划转」"), ("success", "已确认划转")]
    payments, used = in_db(app, lambda: (
        db.session.scalar(select(func.count()).select_from(FundPayment).where(FundPayment.application_id == pk)),
        db.session.scalar(select(func.sum(FundEntry.amount)).where(FundEntry.application_id == pk))))
    assert (payments, -used) == (1, 900)


# -- the same rules in one process: a decision is taken on the row as committed, not on the
#    copy read before (also on SQLite, where the second writer simply comes later)

def _committed_elsewhere(app, change) -> None:
    """Another person's transaction, committed while ours holds an older copy."""
    from sqlalchemy.orm import Session

    with app.app_context(), Session(db.engine) as other:
        change(other)
        other.commit()


def test_a_transition_is_refused_by_the_state_someone_else_committed_meanwhile(app, ctx):
    standard = db.session.scalars(select(FeeStandard).where(FeeStandard.state == "submitted")).first()
    _committed_elsewhere(app, lambda other: FEE_STANDARD_FLOW.fire(other, other.get(FeeStandard, standard.id), "approve"))

    try:
        FEE_STANDARD_FLOW.fire(db.session, standard, "approve")
    except TransitionRefused as refused:
        assert str(refused) == "当前状态为「已批准」，不能执行「审核通过」"
    else:
        raise AssertionError("approved twice")


def test_a_payment_is_refused_when_someone_else_settled_the_bill_meanwhile(app, ctx):
    bill = db.session.scalars(select(Bill).where(Bill.paid == 0, Bill.outstanding > 0)).first()
    amount = bill.outstanding

    def settle(other) -> None:
        record_payment(other, other.get(Bill, bill.id), amount, "cash", clock.today())

    _committed_elsewhere(app, settle)

    try:
        record_payment(db.session, bill, amount, "cash", clock.today())
    except Refused as refused:
        assert str(refused) == "该账单已结清，无需再缴费"
    else:
        raise AssertionError("paid twice")


def test_two_administrators_deleting_each_other_at_the_same_moment_leave_one(app, live_server):
    """Each sees the other as the administrator who remains; they take turns, so the second
    is refused."""
    add_user(app, "admin_b", roles.ADMIN)
    ids = in_db(app, lambda: {name: app.appbuilder.sm.find_user(name).id for name in ("admin", "admin_b")})

    landed = race(live_server.click(live_server.user("admin"), "/users/list/", f"/users/delete/{ids['admin_b']}"),
                  live_server.click(live_server.user("admin_b"), "/users/list/", f"/users/delete/{ids['admin']}"))

    assert not any(isinstance(page, Exception) for page in landed), landed
    left = in_db(app, lambda: [name for name in ("admin", "admin_b") if app.appbuilder.sm.find_user(name)])
    assert len(left) == 1
