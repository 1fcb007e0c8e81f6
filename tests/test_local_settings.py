"""地方规定 as specifications: a district's own value of a setting applies to its estates only,
and never goes below the floor the law sets."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.estate import Estate
from models.owners_assembly import MEETING_FLOW
from models.region import Community, District, Street
from models.settings import LocalSetting, settings_for
from models.workflow import TransitionRefused
from tests.support import client_of, in_db
from tests.test_committee_election import _election, _overdue_bill, _term
from tests.test_owners_meeting import DAY, TODAY, _estate, _meeting


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
