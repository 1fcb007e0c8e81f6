"""The daily reminder: at the configured hour (系统设置「每日提醒时间」, Beijing time) every person
who works in the product gets one message in their inbox listing what their 工作台 shows:
what is overdue or expiring in their scope and what waits for a step only they may take.

What counts, for whom, is declared once with the 工作台 (models/dashboard.py ``todo``: scoped,
shown only to those who may list it, and to those who may act on it where it says so), so the
reminder and the page never disagree. The text carries labels and counts, never a person's data.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.jobs import acting_as, every_minute, handler, submit, submit_once
from app import wechat
from app.outbox import owner_contacts, queue_messages, sms_provider
from models import clock
from models.jobs import Job, notify
from models.settings import Settings


@every_minute
def schedule_daily_reminders() -> None:
    """One reminder run per day, from the configured hour on (a consumer that was down at that
    hour sends it when it comes back the same day)."""
    from app.extensions import db

    session, now = db.session, clock.local_now()
    if now.hour < Settings.current(session).reminder_hour:
        return
    key = f"reminders:{now:%Y-%m-%d}"
    submit_once(session, key, lambda: submit(session, "reminders", f"{now:%Y年%m月%d日}待办提醒", user_id=None,
                                             unique_key=key))


def people_to_remind(session: Any) -> list[Any]:
    """Active accounts holding a role of the matrix (the administrator oversees, and is not
    reminded of every estate's overdue work orders)."""
    from app.roles import MATRIX
    from models.access import role_names

    sm = current_app.appbuilder.sm
    users = session.execute(select(sm.user_model).where(sm.user_model.active.is_(True))
                            .order_by(sm.user_model.id)).unique().scalars().all()
    return [user for user in users if role_names(user) & MATRIX.keys()]


def digest_of(user_id: int) -> list[str]:
    """What this person's 工作台 lists, as lines, computed as them (their scope and grants)."""
    from app.extensions import db
    from views.dashboard import workbench

    with current_app.app_context(), acting_as(user_id, "/"):
        found = workbench(db.session)
        return ([f"{item.label}：{item.count}" for item in found["urgent"]]
                + [f"{item.label}：{item.count}" for item in found["transitions"]])


def tell_owners_in_arrears(session: Any) -> int:
    """Owners of households in arrears (欠费催缴天数 past their month's end) get one message per
    address (mobile, WeChat) listing their units and the total, at most once every 欠费催缴天数 days."""
    import datetime as dt

    from models.base import ALL_ESTATES
    from models.estate import Building, Estate, Unit
    from models.fees import Bill, arrears_before
    from models.outbox import Delivery
    from models.people import UnitOwnership

    if not (sms_provider() or wechat.configured()):
        return 0
    days = Settings.current(session).arrears_notice_days
    contacts = owner_contacts()
    owed = (select(contacts.c.channel, contacts.c.address, Estate.id, Estate.name, Building.name.label("building"),
                   Unit.room_no, func.sum(Bill.outstanding).label("owed"))
            .join(Unit, Bill.unit_id == Unit.id).join(Building, Unit.building_id == Building.id)
            .join(Estate, Bill.estate_id == Estate.id)
            .join(UnitOwnership, UnitOwnership.unit_id == Unit.id)
            .join(contacts, contacts.c.owner_id == UnitOwnership.owner_id)
            .where(Bill.outstanding > 0, Bill.period < arrears_before(clock.today(), days))
            .group_by(contacts.c.channel, contacts.c.address, Estate.id, Estate.name, Building.name, Unit.id,
                      Unit.room_no)
            .order_by(contacts.c.channel, contacts.c.address, Estate.id, Building.name, Unit.room_no))
    recently = set(session.execute(select(Delivery.address).where(
        Delivery.template_key == "arrears_notice", Delivery.created_at > clock.utc_now() - dt.timedelta(days=days)
    )).scalars())
    letters: dict[tuple[str, str, int], dict[str, Any]] = {}
    for row in session.execute(owed, execution_options={ALL_ESTATES: True}):
        if row.address in recently:
            continue
        letter = letters.setdefault((row.channel, row.address, row.id), {"estate": row.name, "units": [], "amount": 0})
        letter["units"].append(f"{row.building} {row.room_no}")
        letter["amount"] += row.owed
    for (channel, address, estate_id), letter in letters.items():
        queue_messages(session, "arrears_notice", [(channel, address)], {
            "estate": letter["estate"], "units": "、".join(letter["units"]), "amount": f"{letter['amount']:.2f}"},
            estate_id=estate_id)
    return len(letters)


@handler("reminders")
def send_daily_reminders(session: Any, job: Job, progress: Any) -> str:
    texted = tell_owners_in_arrears(session)
    people = people_to_remind(session)
    told = 0
    for done, user in enumerate(people, 1):
        lines = digest_of(user.id)
        if lines:
            notify(session, user.id, f"今日待办提醒（{len(lines)} 项）", "；".join(lines)[:1000], link="/")
            # and by e-mail where the account has an address and SMTP is configured
            queue_messages(session, "daily_reminder", [("email", user.email)] if user.email else [],
                           {"count": len(lines), "items": "\n".join(lines)})
            told += 1
        progress(done, len(people))
    return f"已向 {told} 人发送待办提醒" + (f"，发出 {texted} 条业主欠费提醒" if texted else "")
