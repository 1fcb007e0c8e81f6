"""One clock: every "today" and "now" is Beijing's, whatever zone the server is set to.

The suite runs in UTC with the clock started at 23:30 UTC (tests/conftest.py): the server's
own date is still yesterday while Beijing is at 07:30 of the next day.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from app.extensions import db
from models import clock
from models.estate import Estate
from models.fees import FeeItem, FeeStandard, FeeStandardLine, in_force
from models.saved_filters import SavedFilter
from tests.support import login


def test_the_servers_date_is_still_yesterday_while_beijing_has_moved_on():
    beijing = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)
    assert clock.today() == beijing.date()
    assert dt.date.today() == clock.today() - dt.timedelta(days=1)


def test_now_is_beijing_wall_time():
    assert clock.now().utcoffset() == dt.timedelta(hours=8)
    assert abs(clock.local_now() - (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).replace(tzinfo=None)) \
        < dt.timedelta(seconds=5)


def test_an_unknown_zone_fails_at_start_up():
    with pytest.raises(Exception):
        clock.configure("Mars/Olympus_Mons")
    assert clock.zone().key == "Asia/Shanghai"


def _standard(estate: Estate, effective_from: dt.date) -> FeeStandard:
    item = db.session.execute(select(FeeItem).where(FeeItem.code == "WYF")).scalar_one()
    standard = FeeStandard(
        estate=estate, title="北京时间零点生效", company_name="测试物业", service_content="清洁绿化",
        service_standard="二级", basis="业主大会决议", effective_from=effective_from, state="published",
        published_on=effective_from - dt.timedelta(days=40),
    )
    standard.lines = [FeeStandardLine(item=item, billing_basis="per_area", unit_price=Decimal("3.10"),
                                      price_form="market")]
    db.session.add(standard)
    db.session.flush()
    return standard


def test_a_standard_effective_today_in_beijing_is_in_force_before_the_servers_midnight(app, ctx):
    estate = db.session.execute(select(Estate).order_by(Estate.id)).scalars().first()
    standard = _standard(estate, clock.today())
    assert in_force(db.session, estate.id, clock.today()).id == standard.id
    assert standard.phase(db.session) == "已生效"
    db.session.rollback()


def test_the_public_notice_shows_the_standard_of_beijings_today_as_current(app, client):
    with app.app_context():
        estate = db.session.execute(select(Estate).order_by(Estate.id)).scalars().first()
        _standard(estate, clock.today())
        db.session.commit()
        estate_id = estate.id
    page = client.get(f"/public/estate/{estate_id}/fees").get_data(as_text=True)
    heading = re.search(r"北京时间零点生效（第 \d+ 版）\s*<span[^>]*>([^<]+)</span>", page)
    assert heading and heading.group(1) == "现行标准"


def test_system_stamps_are_stored_in_utc_and_read_in_beijing_time(app, ctx):
    user_id = db.session.scalar(text("SELECT id FROM ab_user ORDER BY id LIMIT 1"))
    saved = SavedFilter(user_id=user_id, view_name="UnitView", name="时区测试", query="_flt_0_status=sold")
    db.session.add(saved)
    db.session.flush()
    stored = db.session.scalar(text("SELECT created_at FROM saved_filter WHERE id = :id"), {"id": saved.id})
    if isinstance(stored, str):  # SQLite returns the text
        stored = dt.datetime.fromisoformat(stored)
    assert abs(stored - dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)) < dt.timedelta(seconds=5)
    db.session.expire(saved)
    assert saved.created_at.utcoffset() == dt.timedelta(hours=8)
    db.session.rollback()


def test_list_pages_show_a_ballots_time_in_beijing_time(app, client):
    from models.fund_vote import Ballot

    with app.app_context():
        ballot = db.session.execute(select(Ballot).order_by(Ballot.id)).scalars().first()
        if ballot is None:
            pytest.fail("the demo data has ballots")
        shown = ballot.cast_at.strftime("%Y-%m-%d %H:%M")
        raw = db.session.scalar(text("SELECT cast_at FROM ballot WHERE id = :id"), {"id": ballot.id})
        raw = dt.datetime.fromisoformat(raw) if isinstance(raw, str) else raw
        estate_id = ballot.estate_id
    assert ballot.cast_at.replace(tzinfo=None) - raw == dt.timedelta(hours=8)
    login(client, "admin")
    page = client.get(f"/ballot/show/{ballot.id}").get_data(as_text=True)
    assert shown in page and estate_id
    assert re.search(re.escape(raw.strftime("%Y-%m-%d %H:%M")), page) is None


def test_a_new_records_date_defaults_to_beijings_today(app):
    """采集日期 of a new 网格事件 is filled in with today, Beijing's (the server's is yesterday)."""
    from tests.support import client_of

    page = client_of(app, "official_jd").get("/grid_event/add").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="collected_on"[^>]*>', page).group(0)
    assert f'value="{clock.today():%Y-%m-%d}"' in field
