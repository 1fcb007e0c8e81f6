"""地方规定 as specifications: a district's own value of a setting applies to its estates only,
and never goes below the floor the law sets."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.estate import Building, Estate, Unit
from models.repair_fund import FUND_FLOW, FundEntry
from models.owners_assembly import MEETING_FLOW
from models.region import Community, District, Street
from models.settings import LocalSetting, settings_for
from models.workflow import TransitionRefused
from tests.support import client_of, in_db, text_of
from tests.test_committee_election import _election, _overdue_bill, _term
from tests.test_owners_meeting import DAY, TODAY, _estate, _meeting
from tests.test_repair_fund import _application
from tests.test_repair_fund import _estate as _first_estate


def _district_of(estate: Estate) -> int:
    return db.session.scalar(select(Street.district_id).join(Community, Community.street_id == Street.id)
                             .where(Community.id == estate.community_id))


def _local(district_id: int, setting: str, value: str) -> None:
    """The district's rule for the setting (replacing the one it may have)."""
    row = db.session.execute(select(LocalSetting).where(LocalSetting.district_id == district_id,
                                                        LocalSetting.setting == setting)).scalar_one_or_none()
    if row is None:
        row = LocalSetting(district_id=district_id, setting=setting)
        db.session.add(row)
    row.value, row.basis = value, "本市物业管理条例"
    db.session.flush()


def test_a_district_asking_twenty_days_notice_refuses_fifteen(ctx):
    estate, _units = _estate()
    _local(_district_of(estate), "assembly_notice_days", "20")
    meeting = _meeting(estate, "covenant", vote_from=TODAY + 15 * DAY)
    with pytest.raises(TransitionRefused, match="须于会议召开 20 日以前通知全体业主"):
        MEETING_FLOW.fire(db.session, meeting, "announce")


def test_another_districts_rule_does_not_apply(ctx):
    estate, _units = _estate()
    other = District(name="测试区", code="110199")
    db.session.add(other)
    db.session.flush()
    _local(other.id, "assembly_notice_days", "20")
    meeting = _meeting(estate, "covenant", vote_from=TODAY + 15 * DAY)
    MEETING_FLOW.fire(db.session, meeting, "announce")
    assert meeting.state == "announced"
    assert settings_for(db.session, estate.id).assembly_notice_days == 15


def test_a_district_may_let_owners_with_overdue_fees_stand(ctx):
    estate, units = _estate()
    _overdue_bill(estate, units["B"][0])
    _local(_district_of(estate), "candidate_no_arrears", "否")
    meeting = _election(estate, 1, "B")
    assert [c.owner.name for c in meeting.matters[0].candidates] == ["业主B"]


def test_a_district_may_ask_for_filing_within_fifteen_days(ctx):
    estate, _units = _estate()
    _local(_district_of(estate), "committee_filing_days", "15")
    term = _term(estate, TODAY, "chair")
    assert term.filing_due == TODAY + 15 * DAY


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("assembly_notice_days", "14", "不得少于 15 天"),
    ("committee_filing_days", "31", "选举产生之日起 30 日内备案"),
    ("candidate_no_arrears", "也许", "请填写“是”或“否”"),
    ("fund_disclosure_months", "13", "须在 1 至 12 个月之间"),
    ("fund_publicity_days", "-1", "不能为负数"),
    ("fund_deposit_rate", "120.505", "最多两位小数"),
    ("fund_deposit_rate", "一百", "请填写金额"),
    ("fund_deposit_rate", "0", "必须大于 0"),
    ("first_assembly_years", "11", "须在 0 至 10 年之间"),
    ("first_assembly_units_percent", "101", "须在 0 至 100 之间"),
])
def test_a_local_rule_below_the_law_is_refused_and_writes_nothing(app, setting, value, message):
    def new_district():
        district = District(name="测试区", code="110199")
        db.session.add(district)
        db.session.commit()
        return district.id

    district = in_db(app, new_district)
    response = client_of(app, "admin").post("/api/v1/local_setting/", json={
        "district": district, "setting": setting, "value": value, "basis": "本市物业管理条例"})
    assert response.status_code == 400 and message in response.get_json()["message"]
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(LocalSetting).where(
        LocalSetting.district_id == district))) == 0


# -- the repair fund's settings a locality sets -------------------------------------------------

def test_a_districts_publicity_days_apply_to_its_fund_applications(ctx):
    estate = _first_estate()
    _local(_district_of(estate), "fund_publicity_days", "10")
    app = _application(estate)
    for step in ("submit", "approve"):
        FUND_FLOW.fire(db.session, app, step, None, "同意")
    # ten days counting today: the last is today + 9
    assert (app.publicity_from, app.publicity_until) == (TODAY, TODAY + 9 * DAY)


def test_a_districts_deposit_rate_is_offered_and_used_for_the_first_deposit(app):
    def build():
        estate = _first_estate()
        _local(_district_of(estate), "fund_deposit_rate", "120.50")
        new = Estate(community_id=estate.community_id, name="交存测试小区", code="JC0001", address="测试路 2 号")
        building = Building(estate=new, code="1", name="1号楼", floors=6)
        db.session.add_all([new, building])
        db.session.flush()
        db.session.add(Unit(estate_id=new.id, building_id=building.id, floor=1, room_no="101",
                            floor_area=Decimal("88.00")))
        db.session.commit()
        return new.id

    estate_id = in_db(app, build)
    admin = client_of(app, "admin")
    assert "交存测试小区（120.50 元/㎡）" in text_of(admin.get("/fund_entry/deposit/"))
    admin.post("/fund_entry/deposit/", data={"estate": str(estate_id), "day": TODAY.isoformat()})
    amounts = in_db(app, lambda: db.session.scalars(select(FundEntry.amount).where(
        FundEntry.estate_id == estate_id, FundEntry.kind == "deposit")).all())
    assert amounts == [Decimal("10604.00")]  # 88.00 ㎡ × 120.50 元/㎡
