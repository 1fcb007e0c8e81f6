"""The totals the database keeps (models.base.Derived) always equal the sums of their rows.

Hypothesis draws sequences of writes by every route that changes bills or the fund ledger
(the ORM, a payment, a bill run's INSERT ... SELECT, raw SQL updates, moves and deletes);
after each sequence the kept totals must equal a GROUP BY over the source rows. Each
sequence runs in a savepoint and is rolled back, the triggers' work included."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import Date, bindparam, case, func, select, text, type_coerce

from app.extensions import db
from models import clock
from models.base import Money
from models.fees import Bill, BillMonthTotal, record_payment
from models.repair_fund import INFLOWS, FundEntry, FundEstateTotal, FundUnitTotal, reverse_entry

TODAY = clock.today()
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: a write to the bills: (kind, which bill (index into the first 30), a number)
bill_writes = st.lists(st.tuples(
    st.sampled_from(["pay", "reprice", "move", "copy", "delete"]), st.integers(0, 29), st.integers(1, 50_000)),
    min_size=1, max_size=12)
#: a write to the ledger: (kind, which unit (index into the first 10, or None: the estate's own), cents)
fund_writes = st.lists(st.tuples(
    st.sampled_from(["deposit", "top_up", "interest", "refund", "reverse"]),
    st.one_of(st.none(), st.integers(0, 9)), st.integers(1, 500_000)), min_size=1, max_size=12)


def _bill_sums():
    return db.session.execute(
        select(Bill.estate_id, Bill.period, func.sum(Bill.amount), func.sum(Bill.paid), func.sum(Bill.outstanding),
               func.count()).group_by(Bill.estate_id, Bill.period).order_by(Bill.estate_id, Bill.period)).all()


def _bill_totals():
    total = BillMonthTotal
    return db.session.execute(
        select(total.estate_id, total.period, total.due, total.paid, total.outstanding, total.bills)
        .order_by(total.estate_id, total.period)).all()


def _apply_bill_write(bills: list[Bill], kind: str, index: int, number: int) -> None:
    bill = bills[index % len(bills)]
    db.session.refresh(bill)
    cents = Decimal(number).scaleb(-2)
    later = bill.period.replace(year=bill.period.year + 1 + number % 3, month=1 + number % 12)
    same_payer = (Bill.unit_id.is_not_distinct_from(bill.unit_id), Bill.space_id.is_not_distinct_from(bill.space_id),
                  Bill.item_id == bill.item_id, Bill.period == later)
    if kind == "pay" and bill.outstanding > 0:
        record_payment(db.session, bill, min(cents, bill.outstanding), "cash", TODAY)
    elif kind == "reprice":  # raw SQL, as a correction script would write it
        db.session.execute(text("UPDATE bill SET amount = paid + :extra, outstanding = :extra WHERE id = :id")
                           .bindparams(bindparam("extra", type_=Money)), {"extra": cents, "id": bill.id})
    elif kind == "move" and not db.session.scalar(select(func.count()).where(*same_payer)):
        db.session.execute(text("UPDATE bill SET period = :later WHERE id = :id")
                           .bindparams(bindparam("later", type_=Date)), {"later": later, "id": bill.id})
    elif kind == "copy" and not db.session.scalar(select(func.count()).where(*same_payer)):
        db.session.add(Bill(estate_id=bill.estate_id, unit_id=bill.unit_id, space_id=bill.space_id,
                            item_id=bill.item_id, standard_id=bill.standard_id, period=later, quantity=bill.quantity,
                            unit_price=bill.unit_price, amount=cents, paid=Decimal("0.00"), outstanding=cents))
    elif kind == "delete":
        db.session.execute(text("DELETE FROM payment WHERE bill_id = :id"), {"id": bill.id})
        db.session.execute(text("DELETE FROM bill WHERE id = :id"), {"id": bill.id})
        bills.remove(bill)
        if not bills:
            bills.extend(db.session.scalars(select(Bill).order_by(Bill.id).limit(30)))
    db.session.flush()


@EXAMPLES
@given(writes=bill_writes)
def test_bill_month_totals_equal_the_bills_sums_after_any_writes(ctx, writes):
    savepoint = db.session.begin_nested()
    try:
        bills = list(db.session.scalars(select(Bill).order_by(Bill.id).limit(30)))
        assert bills, "the demo data has bills"
        for write in writes:
            _apply_bill_write(bills, *write)
        db.session.flush()
        assert _bill_totals() == _bill_sums()
    finally:
        savepoint.rollback()


def test_a_months_last_bill_deleted_leaves_no_total_of_that_month(ctx):
    bill = db.session.scalars(select(Bill).order_by(Bill.id)).first()
    bill_id, estate_id, lonely = bill.id, bill.estate_id, bill.period.replace(year=bill.period.year + 5)
    db.session.execute(text("DELETE FROM payment WHERE bill_id = :id"), {"id": bill_id})
    db.session.execute(text("UPDATE bill SET period = :p WHERE id = :id").bindparams(bindparam("p", type_=Date)),
                       {"p": lonely, "id": bill_id})
    assert db.session.get(BillMonthTotal, (estate_id, lonely)).bills == 1
    db.session.execute(text("DELETE FROM bill WHERE id = :id"), {"id": bill_id})
    db.session.expire_all()
    assert db.session.get(BillMonthTotal, (estate_id, lonely)) is None


def test_a_payment_moves_paid_and_outstanding_of_its_month_by_its_amount(ctx):
    bill = db.session.scalars(select(Bill).where(Bill.outstanding >= Decimal("10.00")).order_by(Bill.id)).first()
    before = db.session.get(BillMonthTotal, (bill.estate_id, bill.period))
    due, paid, outstanding = before.due, before.paid, before.outstanding
    record_payment(db.session, bill, Decimal("7.35"), "cash", TODAY)
    db.session.flush()
    db.session.expire_all()
    after = db.session.get(BillMonthTotal, (bill.estate_id, bill.period))
    assert (after.due, after.paid, after.outstanding) == (due, paid + Decimal("7.35"), outstanding - Decimal("7.35"))


def _ledger_sum(condition=None):
    amount = FundEntry.amount if condition is None else case((condition, FundEntry.amount), else_=0)
    return type_coerce(func.sum(amount), Money)


def _fund_sums():
    unit_key = func.coalesce(FundEntry.unit_id, 0)
    return db.session.execute(
        select(FundEntry.estate_id, unit_key, _ledger_sum(FundEntry.kind.in_(INFLOWS)),
               _ledger_sum(FundEntry.amount < 0), _ledger_sum(), _ledger_sum(FundEntry.kind == "deposit"))
        .group_by(FundEntry.estate_id, unit_key).order_by(FundEntry.estate_id, unit_key)).all()


def _fund_totals():
    total = FundUnitTotal
    return db.session.execute(
        select(total.estate_id, total.unit_key, total.inflow, total.used, total.balance, total.first_deposit)
        .order_by(total.estate_id, total.unit_key)).all()


def _fund_estate_sums():
    return db.session.execute(
        select(FundEntry.estate_id, _ledger_sum(FundEntry.kind.in_(INFLOWS)), _ledger_sum(FundEntry.amount < 0),
               _ledger_sum()).group_by(FundEntry.estate_id).order_by(FundEntry.estate_id)).all()


def _fund_estate_totals():
    total = FundEstateTotal
    return db.session.execute(
        select(total.estate_id, total.inflow, total.used, total.balance).order_by(total.estate_id)).all()


def _balance(unit) -> Decimal:
    return db.session.scalar(select(type_coerce(func.coalesce(func.sum(FundEntry.amount), 0), Money))
                             .where(FundEntry.unit_id == unit.id))


@EXAMPLES
@given(writes=fund_writes)
def test_fund_unit_and_estate_totals_equal_the_ledger_sums_after_any_entries(ctx, writes):
    from models.estate import Unit

    savepoint = db.session.begin_nested()
    try:
        units = list(db.session.scalars(select(Unit).order_by(Unit.id).limit(10)))
        for kind, index, number in writes:
            unit = None if index is None else units[index % len(units)]
            estate_id = units[0].estate_id if unit is None else unit.estate_id
            amount = Decimal(number).scaleb(-2)
            if kind == "reverse":  # 冲正 of the latest refund: the money comes back
                original = db.session.scalars(select(FundEntry).where(
                    FundEntry.kind == "refund", FundEntry.reverses_id.is_(None),
                    ~FundEntry.id.in_(select(FundEntry.reverses_id).where(FundEntry.reverses_id.is_not(None))))
                    .order_by(FundEntry.id.desc())).first()
                if original is not None:
                    reverse_entry(db.session, original, "录入错误")
            elif kind in ("deposit", "top_up", "refund") and unit is None:
                continue  # these belong to a 分户账
            elif kind == "refund":  # never below zero (the ledger refuses it)
                amount = min(amount, _balance(unit))
                if amount > 0:
                    db.session.add(FundEntry(estate_id=estate_id, unit=unit, kind=kind, occurred_on=TODAY,
                                             amount=-amount))
            else:
                db.session.add(FundEntry(estate_id=estate_id, unit=unit, kind=kind, occurred_on=TODAY, amount=amount))
            db.session.flush()
        assert _fund_totals() == _fund_sums()
        assert _fund_estate_totals() == _fund_estate_sums()
    finally:
        savepoint.rollback()
