"""Two people doing the same thing at the same moment: exactly one effect, and a clear
Chinese message for the other. Driven against a real gunicorn (several worker
processes) on PostgreSQL with parallel HTTP requests (tests/live.py).

A new scenario: pick the row, log in the two users, ``race`` their two clicks on the
page they would use, then count the effects in the database.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from app import roles
from app.extensions import db
from models.access import UserScope
from models.fees import Bill, FeeStandard, Payment
from models.workflow import WorkflowEvent
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


def messages(pages) -> list[tuple[str, str]]:
    for page in pages:
        assert not isinstance(page, Exception), page
        assert page.status_code == 200, f"{page.request.method} {page.url}: {page.status_code}"
    return sorted(message for page in pages for message in flashed(page.text))


def test_two_committee_members_approving_the_same_standard_approve_it_once(app, live_server):
    standard_id = in_db(app, lambda: db.session.scalar(
        select(FeeStandard.id).where(FeeStandard.estate_id == LARGE_ESTATE, FeeStandard.state == "submitted")))
    add_user(app, "committee_b", roles.COMMITTEE)
    page = f"/fee_standard/show/{standard_id}"
    approve = f"/fee_standard/transition/approve/{standard_id}"

    pages = race(*(live_server.click(live_server.user(name), page, approve) for name in ("committee_a", "committee_b")))

    assert messages(pages) == [("danger", "当前状态为「已批准」，不能执行「审核通过」"), ("success", "已审核通过")]
    approvals = in_db(app, lambda: db.session.scalar(select(func.count()).select_from(WorkflowEvent).where(
        WorkflowEvent.table_name == "fee_standard", WorkflowEvent.record_id == standard_id,
        WorkflowEvent.transition == "approve")))
    assert approvals == 1


def test_two_cashiers_settling_the_same_bill_record_one_payment(app, live_server):
    bill_id, outstanding = in_db(app, lambda: db.session.execute(
        select(Bill.id, Bill.outstanding).where(Bill.estate_id == LARGE_ESTATE, Bill.paid == 0,
                                                Bill.outstanding > 0).order_by(Bill.id).limit(1)).one())
    page = f"/bill/show/{bill_id}"
    pay = f"/bill/pay/{bill_id}"
    form = {"amount": f"{outstanding:f}", "method": "cash", "paid_on": dt.date.today().isoformat()}

    pages = race(*(live_server.click(live_server.user(name), page, pay, form) for name in ("manager_a", "staff_a")))

    assert messages(pages) == [("danger", "该账单已结清，无需再缴费"), ("success", f"已登记缴费 {outstanding:f} 元")]
    paid, count = in_db(app, lambda: db.session.execute(
        select(Bill.paid, select(func.count()).select_from(Payment).where(Payment.bill_id == bill_id).scalar_subquery())
        .where(Bill.id == bill_id)).one())
    assert (paid, count) == (outstanding, 1)
