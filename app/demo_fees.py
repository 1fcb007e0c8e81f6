"""Demo fees: the fee catalogue, each estate's standard in force, one upcoming and one
awaiting approval for the large estate, and past bills with realistic arrears."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import Integer, column, insert, select, update, values
from sqlalchemy.orm import Session

from app.audit import record_all
from models import clock
from models.base import Money
from models.estate import Estate
from models.fees import Bill, FeeItem, FeeStandard, FeeStandardLine, Payment, cents, generate_bills, month_start
from models.workflow import WorkflowEvent

ITEMS = (
    # name, code, basis
    ("物业服务费", "WYF", "per_area"),
    ("电梯运行维护费", "DTF", "per_area"),
    ("停车服务费", "TCF", "per_space"),
    ("装修垃圾清运费", "ZXLJ", "per_time"),
)
#: (item code, price form, unit price, base price, float %) per version of the standard
PRICES = {
    1: (("WYF", "guided", "2.65", "2.50", "10.00"), ("DTF", "market", "0.35", None, None),
        ("TCF", "market", "150.00", None, None), ("ZXLJ", "market", "300.00", None, None)),
    2: (("WYF", "guided", "2.75", "2.50", "10.00"), ("DTF", "market", "0.40", None, None),
        ("TCF", "market", "180.00", None, None), ("ZXLJ", "market", "300.00", None, None)),
    3: (("WYF", "guided", "2.70", "2.50", "10.00"), ("DTF", "market", "0.40", None, None),
        ("TCF", "market", "200.00", None, None), ("ZXLJ", "market", "320.00", None, None)),
}
FIRST_EFFECTIVE = dt.date(2025, 1, 1)
BILLED_MONTHS = 6
#: share of bills left unpaid / paid in part (收缴率 a little under the 98% target)
UNPAID, PARTIAL = 0.03, 0.02


def load_fees(session: Session, rng: random.Random, estate_ids: list[int], manager: str, committee: str,
              today: dt.date | None = None) -> dict[str, int]:
    today = today or clock.today()
    items = _catalogue(session)
    counts = {"收费项目": len(items), "收费标准": 0, "账单": 0, "缴费记录": 0}
    for index, estate_id in enumerate(estate_ids):
        estate = session.get(Estate, estate_id)
        published = FIRST_EFFECTIVE - dt.timedelta(days=37)
        _standard(session, estate, 1, items, "published", FIRST_EFFECTIVE, published, manager, committee)
        counts["收费标准"] += 1
        if index == 0:
            announced = today - dt.timedelta(days=3)
            upcoming = month_start(announced + relativedelta(months=1)) + relativedelta(months=1)
            _standard(session, estate, 2, items, "published", upcoming, announced, manager, committee)
            _standard(session, estate, 3, items, "submitted", upcoming + relativedelta(years=1), None,
                      manager, committee)
            counts["收费标准"] += 2
        session.flush()
        first = month_start(today) - relativedelta(months=BILLED_MONTHS)
        counts["账单"] += generate_bills(session, estate, first, BILLED_MONTHS)
    counts["缴费记录"] = _settle(session, rng, today)
    record_all(session, [(Bill, counts["账单"]), (Payment, counts["缴费记录"])], "演示数据 {count} 条")
    return counts


def _catalogue(session: Session) -> dict[str, FeeItem]:
    items = {code: FeeItem(name=name, code=code, billing_basis=basis) for name, code, basis in ITEMS}
    session.add_all(items.values())
    session.flush()
    return items


def _standard(session: Session, estate: Estate, version: int, items: dict[str, FeeItem], state: str,
              effective_from: dt.date, published_on: dt.date | None, manager: str, committee: str) -> None:
    standard = FeeStandard(
        estate=estate, version=version, title=f"{effective_from.year} 年度物业服务收费标准",
        company_name=estate.company.name if estate.company else "（未登记）",
        service_content="公共区域清洁、绿化养护、秩序维护、共用部位及共用设施设备日常运行维护、客户服务",
        service_standard="《住宅物业服务等级标准》二级", billing_mode="lump_sum",
        basis="业主大会决议及《物业服务合同》", effective_from=effective_from,
        state=state, published_on=published_on,
    )
    standard.lines = [
        FeeStandardLine(item=items[code], billing_basis=items[code].billing_basis, price_form=form,
                        unit_price=Decimal(price), base_price=Decimal(base) if base else None,
                        float_percent=Decimal(rate) if rate else None)
        for code, form, price, base, rate in PRICES[version]
    ]
    session.add(standard)
    session.flush()
    steps = [("submit", "draft", "submitted", manager, "")]
    if state == "published":
        steps += [("approve", "submitted", "approved", committee, "经业委会会议审议通过"),
                  ("publish", "approved", "published", manager, "")]
    # the last step falls on the day the standard records (its 公示日期), the others a day apart before
    last = published_on or clock.today() - dt.timedelta(days=1)
    when = dt.datetime.combine(last, dt.time(9)) - dt.timedelta(days=len(steps) - 1)
    session.execute(insert(WorkflowEvent), [
        dict(table_name=FeeStandard.__tablename__, record_id=standard.id, transition=name, from_state=a,
             to_state=b, comment=comment, user_id=None, username=user, created_at=when + dt.timedelta(days=i))
        for i, (name, a, b, user, comment) in enumerate(steps)
    ])


def _settle(session: Session, rng: random.Random, today: dt.date) -> int:
    """Most bills paid in full, a few in part, a few not at all (欠费)."""
    bills = session.execute(select(Bill.id, Bill.estate_id, Bill.amount, Bill.period).order_by(Bill.id)).all()
    payments, balances = [], []
    methods = ("wechat", "alipay", "bank", "cash", "pos")
    for bill_id, estate_id, amount, period in bills:
        roll = rng.random()
        if roll < UNPAID:
            continue
        paid = cents(amount * Decimal(rng.choice((30, 50, 70))) / 100) if roll < UNPAID + PARTIAL else amount
        day = min(period + dt.timedelta(days=rng.randint(3, 40)), today)
        payments.append(dict(estate_id=estate_id, bill_id=bill_id, amount=paid, method=rng.choice(methods),
                             paid_on=day, receipt_no=f"SJ{bill_id:08d}", note=None))
        balances.append((bill_id, paid, amount - paid))
    if payments:
        session.execute(insert(Payment), payments)
        _set_balances(session, balances)
    return len(payments)


#: rows per UPDATE: three parameters each, under SQLite's 32,766 and PostgreSQL's 65,535
BALANCE_CHUNK = 5000


def _set_balances(session: Session, balances: list[tuple[int, Decimal, Decimal]]) -> None:
    """One ``WITH balance AS (VALUES ...) UPDATE bill ... FROM balance`` per chunk rather than one
    statement per bill: the bill totals' statement-level trigger then runs once per chunk, not
    once per bill (on PostgreSQL ~0.2 ms per statement, minutes over a million bills)."""
    table = Bill.__table__
    for start in range(0, len(balances), BALANCE_CHUNK):
        rows = values(column("id", Integer), column("paid", Money), column("outstanding", Money),
                      name="balance").data(balances[start:start + BALANCE_CHUNK]).cte()
        session.connection().execute(
            update(table).where(table.c.id == rows.c.id).values(paid=rows.c.paid, outstanding=rows.c.outstanding))
