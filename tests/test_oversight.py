"""Oversight (监督考核): each state machine's allowed and refused transitions, the reopen
rules, grade and eligibility boundaries, the grid tree, and who may do what over HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from models import clock
from models.estate import Building, Estate, Unit
from models.oversight import (
    AssessmentItem, Grid, GridEvent, Inspection, IntegrityAssessment, RectificationNotice, StarRating,
    eligibility_problem, estate_managed_area, grade_for,
)
from models.settings import Settings
from models.workflow import Frozen, TransitionRefused, timeline
from tests.support import client_of, flashed, text_of

TODAY = clock.today()
LARGE_ESTATE = 1


def _grid(estate_id: int = LARGE_ESTATE) -> Grid:
    return db.session.execute(select(Grid).where(Grid.estate_id == estate_id, Grid.level == 2).limit(1)).scalar_one()


def _event(**values) -> GridEvent:
    event = GridEvent(grid=_grid(), title="楼道堆放杂物", collected_by="张三", collected_on=TODAY, **values)
    db.session.add(event)
    db.session.flush()
    return event


def _fire(item, name: str, comment: str = "") -> None:
    type(item).Admin.workflow.fire(db.session, item, name, None, comment)
    db.session.flush()


def _settings() -> Settings:
    return Settings.current(db.session)


# -- grid events -------------------------------------------------------------------------

def test_a_grid_event_goes_from_collection_to_a_satisfied_visit(ctx):
    event = _event(handler="李四")
    for name, comment in (("report", ""), ("dispatch", ""), ("handle", "已清理"), ("close", "")):
        _fire(event, name, comment)
    assert event.state == "closed" and event.handled_on == TODAY and event.visited_on == TODAY
    assert [e.transition for e in timeline(db.session, event)] == ["report", "dispatch", "handle", "close"]


def test_an_event_cannot_be_dispatched_before_it_is_reported(ctx):
    event = _event(handler="李四")
    with pytest.raises(TransitionRefused, match="当前状态为「已采集」，不能执行「派单」"):
        _fire(event, "dispatch")
    assert event.state == "collected"


def test_dispatch_needs_a_handler(ctx):
    event = _event()
    _fire(event, "report")
    with pytest.raises(TransitionRefused, match="派单前须填写处置人"):
        _fire(event, "dispatch")


def test_dispatch_without_a_deadline_gets_one_from_the_settings(ctx):
    event = _event(handler="李四")
    _fire(event, "report")
    _fire(event, "dispatch")
    assert event.deadline == TODAY + dt.timedelta(days=_settings().grid_event_days)


def test_dispatch_keeps_a_deadline_set_by_the_dispatcher(ctx):
    event = _event(handler="李四", deadline=TODAY + dt.timedelta(days=10))
    _fire(event, "report")
    _fire(event, "dispatch")
    assert event.deadline == TODAY + dt.timedelta(days=10)


def test_handling_needs_a_written_result_which_the_event_keeps(ctx):
    event = _event(handler="李四")
    _fire(event, "report")
    _fire(event, "dispatch")
    with pytest.raises(TransitionRefused, match="必须填写意见"):
        _fire(event, "handle")
    _fire(event, "handle", "已清理并拍照")
    assert event.result == "已清理并拍照"


def test_a_small_matter_is_solved_on_the_spot_without_dispatch(ctx):
    event = _event()
    _fire(event, "solve_on_spot", "当场清理小广告")
    assert event.state == "handled" and event.deadline is None


def _handled_event() -> GridEvent:
    event = _event(handler="李四")
    for name, comment in (("report", ""), ("dispatch", ""), ("handle", "已处置")):
        _fire(event, name, comment)
    return event


def test_an_unsatisfied_visit_reopens_the_event_with_a_fresh_deadline(ctx):
    event = _handled_event()
    event.deadline = TODAY - dt.timedelta(days=1)
    _fire(event, "reopen", "居民反映仍有杂物")
    assert event.state == "dispatched" and event.reopen_count == 1 and event.handled_on is None
    assert event.deadline == TODAY + dt.timedelta(days=_settings().grid_event_days)


def test_reopening_needs_the_residents_reason(ctx):
    event = _handled_event()
    with pytest.raises(TransitionRefused, match="必须填写意见"):
        _fire(event, "reopen")
    assert event.state == "handled"


def test_an_event_reopens_as_often_as_the_resident_is_unsatisfied(ctx):
    event = _handled_event()
    for _ in range(2):
        _fire(event, "reopen", "仍未解决")
        _fire(event, "handle", "再次处置")
    assert event.reopen_count == 2 and event.state == "handled"


@pytest.mark.parametrize("state", ["collected", "reported", "dispatched"])
def test_only_a_handled_event_can_be_reopened(ctx, state):
    event = _event(handler="李四")
    event.state = state
    db.session.flush()
    with pytest.raises(TransitionRefused, match="不能执行「回访不满意」"):
        _fire(event, "reopen", "不满意")


def test_a_closed_event_is_final(ctx):
    event = _handled_event()
    _fire(event, "close")
    with pytest.raises(TransitionRefused, match="不能执行「回访不满意」"):
        _fire(event, "reopen", "又不满意了")
    event.title = "改个标题"
    with pytest.raises(Frozen):
        db.session.flush()


def test_an_event_is_overdue_only_while_dispatched_past_its_deadline(ctx):
    event = _event(handler="李四", deadline=TODAY - dt.timedelta(days=1))
    assert not event.overdue()
    event.state = "dispatched"
    assert event.overdue()
    event.deadline = TODAY
    assert not event.overdue()


def test_an_event_belongs_to_its_grids_estate(ctx):
    assert _event().estate_id == LARGE_ESTATE


# -- the grid tree -----------------------------------------------------------------------------

def test_a_grid_takes_its_level_from_its_parent(ctx):
    child = Grid(estate_id=LARGE_ESTATE, parent=_grid(), number="T-01", name="三号楼网格", leader="王五",
                 phone="010-12345678")
    db.session.add(child)
    db.session.flush()
    assert child.level == 3


def test_a_grid_deeper_than_the_settings_allow_is_refused(ctx):
    parent = Grid(estate_id=LARGE_ESTATE, parent=_grid(), number="T-01", name="三级", leader="王五", phone="1")
    db.session.add(parent)
    db.session.flush()
    db.session.add(Grid(estate_id=LARGE_ESTATE, parent=parent, number="T-02", name="四级", leader="王五", phone="1"))
    with pytest.raises(Exception, match="网格最多 3 级"):
        db.session.flush()


def test_a_grid_cannot_sit_under_its_own_descendant(ctx):
    child = _grid()
    top = child.parent
    top.parent = child
    with pytest.raises(Exception, match="上级网格不能是本网格或其下级网格"):
        db.session.flush()


# -- integrity assessments -------------------------------------------------------------------

def _assessment(scores: list[tuple[int, str]]) -> IntegrityAssessment:
    assessment = IntegrityAssessment(estate_id=LARGE_ESTATE, period="测试期", assessors="刘监督员")
    assessment.items = [AssessmentItem(name=f"项目{i}", max_score=Decimal(full), score=Decimal(score))
                        for i, (full, score) in enumerate(scores)]
    db.session.add(assessment)
    db.session.flush()
    return assessment


@pytest.mark.parametrize("score, grade", [
    ("90.0", "excellent"), ("89.9", "good"), ("75.0", "good"), ("74.9", "pass"), ("60.0", "pass"), ("59.9", "fail"),
])
def test_the_grade_follows_the_score_at_the_settings_thresholds(ctx, score, grade):
    assert grade_for(Decimal(score), _settings()) == grade


def test_publishing_sums_the_items_in_sql_and_grades_the_total(ctx):
    assessment = _assessment([(60, "55.5"), (40, "34.5")])
    _fire(assessment, "publish")
    assert assessment.score == Decimal("90.0") and assessment.grade == "excellent"
    assert assessment.published_on == TODAY
    assert assessment.company_id == db.session.get(Estate, LARGE_ESTATE).company_id


def test_items_not_worth_100_points_cannot_be_published(ctx):
    assessment = _assessment([(60, "50"), (30, "30")])
    with pytest.raises(TransitionRefused, match="满分合计须为 100 分，当前为 90.0 分"):
        _fire(assessment, "publish")
    assert assessment.state == "draft" and assessment.score is None


def test_an_assessment_without_items_cannot_be_published(ctx):
    with pytest.raises(TransitionRefused, match="没有任何考核项目"):
        _fire(_assessment([]), "publish")


def test_a_published_assessment_and_its_items_are_frozen(ctx):
    assessment = _assessment([(100, "80")])
    _fire(assessment, "publish")
    assessment.items[0].score = Decimal("100")
    with pytest.raises(Frozen):
        db.session.flush()


# -- star ratings: eligibility by area ---------------------------------------------------------

def _estate_of_area(area: str | None, code: str = "TEST0001") -> Estate:
    first = db.session.get(Estate, LARGE_ESTATE)
    estate = Estate(community_id=first.community_id, name=f"测试小区{code}", code=code, address="测试路 1 号",
                    total_floor_area=Decimal(area) if area else None)
    db.session.add(estate)
    db.session.flush()
    return estate


def _draft(estate: Estate, project_type: str = "residential") -> StarRating:
    rating = StarRating(estate=estate, year=TODAY.year, project_type=project_type)
    db.session.add(rating)
    db.session.flush()
    return rating


def _apply(estate: Estate, project_type: str = "residential") -> StarRating:
    rating = _draft(estate, project_type)
    _fire(rating, "apply")
    return rating


def test_a_residential_project_of_exactly_50000_square_metres_may_apply(ctx):
    rating = _apply(_estate_of_area("50000.00"))
    assert rating.state == "applied" and rating.managed_area == Decimal("50000.00") and rating.applied_on == TODAY


def test_a_residential_project_one_hundredth_short_is_refused_with_the_numbers(ctx):
    rating = _draft(_estate_of_area("49999.99"))
    with pytest.raises(TransitionRefused, match="住宅型项目的物业管理面积须不少于 50000 ㎡，本小区为 49999.99 ㎡"):
        _fire(rating, "apply")
    assert rating.state == "draft" and rating.managed_area is None


def test_the_draft_tells_before_submission_whether_the_estate_qualifies(ctx):
    rating = _draft(_estate_of_area("49999.99"))
    assert "本小区为 49999.99 ㎡，不符合星级评定申报条件" in rating.workflow_notes(db.session)[0]


@pytest.mark.parametrize("area, eligible", [("20000.00", True), ("19999.99", False)])
def test_a_commercial_project_needs_20000_square_metres(ctx, area, eligible):
    problem = eligibility_problem(db.session, _estate_of_area(area).id, "commercial")
    assert (problem is None) == eligible
    if not eligible:
        assert "商务楼宇型项目的物业管理面积须不少于 20000 ㎡，本小区为 19999.99 ㎡" in problem


def test_without_a_declared_area_the_units_are_summed_in_sql(ctx):
    estate = _estate_of_area(None)
    building = Building(estate=estate, code="1", name="1号楼", floors=30)
    db.session.add(building)
    for i, area in enumerate(("30000.00", "19999.99", "0.01")):
        db.session.add(Unit(building=building, floor=1, room_no=f"1-{i}", floor_area=Decimal(area)))
    db.session.flush()
    assert estate_managed_area(db.session, estate.id) == Decimal("50000.00")
    assert eligibility_problem(db.session, estate.id, "residential") is None


def test_the_thresholds_are_settings(ctx):
    _settings().star_residential_area = 60000
    assert "须不少于 60000 ㎡" in eligibility_problem(db.session, _estate_of_area("50000.00").id, "residential")


def test_a_rating_needs_its_stars_before_it_is_rated(ctx):
    rating = _apply(_estate_of_area("80000.00"))
    with pytest.raises(TransitionRefused, match="评定前须选择评定星级"):
        _fire(rating, "rate")
    rating.stars = "3"
    _fire(rating, "rate")
    assert rating.state == "rated"
    with pytest.raises(TransitionRefused, match="不能执行「不予评定」"):
        _fire(rating, "decline", "面积不符")


def test_declining_an_application_needs_a_reason(ctx):
    rating = _apply(_estate_of_area("80000.00"))
    with pytest.raises(TransitionRefused, match="必须填写意见"):
        _fire(rating, "decline")


# -- inspections and rectification notices ---------------------------------------------------

def _notice(**values) -> RectificationNotice:
    inspection = Inspection(estate_id=LARGE_ESTATE, inspectors="刘监督员", subject="消防检查", conclusion="rectify")
    notice = RectificationNotice(inspection=inspection, notice_no=f"T-{TODAY:%Y%m%d}", requirements="清理消防通道",
                                 **values)
    db.session.add(notice)
    db.session.flush()
    return notice


def test_a_notice_without_a_deadline_gets_the_settings_period(ctx):
    notice = _notice(issued_on=TODAY)
    assert notice.deadline == TODAY + dt.timedelta(days=_settings().rectification_days)
    assert notice.estate_id == LARGE_ESTATE


def test_the_response_is_required_and_kept_on_the_notice(ctx):
    notice = _notice()
    with pytest.raises(TransitionRefused, match="必须填写意见"):
        _fire(notice, "respond")
    _fire(notice, "respond", "已清理完毕")
    assert notice.state == "responded" and notice.response == "已清理完毕" and notice.responded_on == TODAY


def test_a_notice_cannot_be_closed_before_the_response(ctx):
    with pytest.raises(TransitionRefused, match="当前状态为「待整改」，不能执行「复查合格销号」"):
        _fire(_notice(), "close")


def test_a_failed_recheck_sends_the_notice_back_with_a_new_deadline(ctx):
    notice = _notice(issued_on=TODAY - dt.timedelta(days=40), deadline=TODAY - dt.timedelta(days=20))
    _fire(notice, "respond", "已整改")
    _fire(notice, "recheck", "仍有堆物")
    assert notice.state == "issued" and notice.responded_on is None
    assert notice.deadline == TODAY + dt.timedelta(days=_settings().rectification_days)


def test_a_closed_notice_is_final(ctx):
    notice = _notice()
    _fire(notice, "respond", "已整改")
    _fire(notice, "close")
    assert notice.closed_on == TODAY
    for name in ("respond", "recheck", "close"):
        with pytest.raises(TransitionRefused):
            _fire(notice, name, "再次")


# -- over HTTP: who may do what --------------------------------------------------------------

def _first(model, *where):
    return db.session.execute(select(model.id).where(*where).order_by(model.id).limit(1)).scalar()


def test_a_manager_handles_an_event_dispatched_to_his_estate_but_may_not_dispatch(app):
    with app.app_context():
        dispatched = _first(GridEvent, GridEvent.estate_id == LARGE_ESTATE, GridEvent.state == "dispatched")
        reported = _first(GridEvent, GridEvent.estate_id == LARGE_ESTATE, GridEvent.state == "reported")
        db.session.remove()
    manager = client_of(app, "manager_a")
    assert manager.post(f"/grid_event/transition/dispatch/{reported}", data={}).status_code == 403
    response = manager.post(f"/grid_event/transition/handle/{dispatched}", data={"comment": "已处置"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(GridEvent, dispatched).state == "handled"


def test_a_manager_cannot_touch_another_estates_event(app):
    with app.app_context():
        event = db.session.scalars(select(GridEvent).where(GridEvent.estate_id == 2, GridEvent.state != "closed")
                                   .order_by(GridEvent.id)).first()
        event.state = "dispatched"  # another estate's event waiting for exactly the manager's step
        db.session.commit()
        other = event.id
        db.session.remove()
    manager = client_of(app, "manager_a")
    assert manager.post(f"/grid_event/transition/handle/{other}", data={"comment": "x"}).status_code == 404
    assert manager.get(f"/grid_event/show/{other}").status_code == 404


def test_an_official_is_refused_an_ineligible_application_in_chinese_and_nothing_changes(app):
    with app.app_context():
        rating = db.session.execute(select(StarRating).where(StarRating.estate_id == 2)).scalar_one()
        pk, area = rating.id, estate_managed_area(db.session, 2)
        assert rating.state == "draft"
        db.session.remove()
    official = client_of(app, "official_jd")
    response = official.post(f"/star_rating/transition/apply/{pk}", data={}, follow_redirects=True)
    messages = [text for _category, text in flashed(text_of(response))]
    assert any(f"本小区为 {area:f} ㎡，不符合星级评定申报条件" in m for m in messages), messages
    with app.app_context():
        assert db.session.get(StarRating, pk).state == "draft"


def test_a_committee_member_reads_oversight_but_fires_nothing(app):
    with app.app_context():
        notice = _first(RectificationNotice, RectificationNotice.estate_id == LARGE_ESTATE,
                        RectificationNotice.state == "issued")
        db.session.remove()
    committee = client_of(app, "committee_a")
    assert committee.get(f"/rectification_notice/show/{notice}").status_code == 200
    assert committee.post(f"/rectification_notice/transition/respond/{notice}", data={"comment": "x"}).status_code == 403
