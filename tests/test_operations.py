"""Daily operations: the service-desk state machines, deadlines, the hazard loop, drills,
plans, notices and survey results."""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models import clock
from models.community_life import NOTICE_FLOW, Notice
from models.company import Employee
from models.errors import Refused
from models.safety import DRILL_FLOW, HAZARD_FLOW, PLAN_FLOW, EmergencyDrill, EmergencyPlan, Hazard
from models.service_orders import (
    COMPLAINT_FLOW, REPAIR_FLOW, Complaint, RepairOrder, complaint_deadline, is_overdue, local_now, timing,
)
from models.settings import Settings
from models.staff_quality import SURVEY_FLOW, Survey, SurveyAnswer, SurveyQuestion, SurveyResponse, survey_results
from models.workflow import Frozen, TransitionRefused
from tests.support import client_of, flashed, in_db, record_count, shown_ids, text_of

ESTATE = 1
T0 = dt.datetime(2026, 11, 2, 9, 0)


def staff(n: int = 0) -> Employee:
    return db.session.scalars(select(Employee).where(Employee.estate_id == ESTATE).order_by(Employee.id)).all()[n]


def repair(**values) -> RepairOrder:
    fields = dict(estate_id=ESTATE, requester="张三", category="plumbing", location="1号楼101厨房",
                  description="下水道堵塞", first_receiver=staff(), reported_at=T0)
    order = RepairOrder(**{**fields, **values})
    db.session.add(order)
    db.session.flush()
    return order


def complaint(**values) -> Complaint:
    fields = dict(estate_id=ESTATE, complainant="李四", category="noise", content="夜间施工噪声",
                  first_receiver=staff(), received_at=T0)
    item = Complaint(**{**fields, **values})
    db.session.add(item)
    db.session.flush()
    return item


def in_processing(**values) -> RepairOrder:
    order = repair(handler=staff(1), **values)
    REPAIR_FLOW.fire(db.session, order, "dispatch")
    return order


# -- deadlines ------------------------------------------------------------------------------

def test_a_repair_without_an_agreed_time_is_due_two_days_after_the_report(ctx):
    assert repair().deadline == T0 + dt.timedelta(days=2)


def test_the_repair_promise_follows_the_settings(ctx):
    Settings.current(db.session).repair_promise_days = 1
    db.session.flush()
    assert repair().deadline == T0 + dt.timedelta(days=1)


def test_an_agreed_repair_time_may_be_a_week_but_not_more(ctx):
    assert repair(deadline=T0 + dt.timedelta(days=7)).deadline == T0 + dt.timedelta(days=7)
    with pytest.raises(Refused, match="最迟为报修后 7 天"):
        repair(deadline=T0 + dt.timedelta(days=7, seconds=60))


def test_an_agreed_repair_time_before_the_report_is_refused(ctx):
    with pytest.raises(Refused, match="须晚于报修时间"):
        repair(deadline=T0 - dt.timedelta(hours=1))


def test_exactly_at_the_deadline_is_not_overdue_one_second_later_is():
    deadline = T0 + dt.timedelta(days=2)
    assert not is_overdue(deadline, deadline)
    assert is_overdue(deadline, deadline + dt.timedelta(seconds=1))
    assert timing("processing", ("processing",), deadline, None, deadline) == "未超时"
    assert timing("processing", ("processing",), deadline, None, deadline + dt.timedelta(seconds=1)) == "已超时"


def test_work_finished_exactly_at_the_deadline_is_on_time():
    deadline = T0 + dt.timedelta(days=2)
    assert timing("done", ("processing",), deadline, deadline, T0 + dt.timedelta(days=30)) == "按时办结"
    assert timing("done", ("processing",), deadline, deadline + dt.timedelta(seconds=1), T0) == "超时办结"


def test_a_complaint_is_answered_within_24_hours_an_urgent_one_within_12(ctx):
    assert complaint().deadline == T0 + dt.timedelta(hours=24)
    assert complaint(urgency="urgent").deadline == T0 + dt.timedelta(hours=12)


def test_making_a_complaint_urgent_shortens_its_deadline(ctx):
    item = complaint()
    item.urgency = "urgent"
    db.session.flush()
    assert item.deadline == T0 + dt.timedelta(hours=12)


def test_complaint_deadlines_follow_the_settings(ctx):
    settings = Settings.current(db.session)
    settings.complaint_reply_hours, settings.urgent_complaint_reply_hours = 48, 6
    assert complaint_deadline(T0, "normal", settings) == T0 + dt.timedelta(hours=48)
    assert complaint_deadline(T0, "urgent", settings) == T0 + dt.timedelta(hours=6)


# -- postponement ------------------------------------------------------------------------------

def test_a_repair_may_be_postponed_once_with_a_reason(ctx):
    order = in_processing()
    new = T0 + dt.timedelta(days=5)
    REPAIR_FLOW.fire(db.session, order, "postpone", comment="配件需从厂家订货", values={"postponed_to": new})
    assert (order.deadline, order.original_deadline, order.state) == (new, T0 + dt.timedelta(days=2), "processing")


def test_a_second_postponement_is_refused(ctx):
    order = in_processing()
    REPAIR_FLOW.fire(db.session, order, "postpone", comment="等待配件", values={"postponed_to": T0 + dt.timedelta(days=4)})
    with pytest.raises(TransitionRefused, match="只能延期一次"):
        REPAIR_FLOW.fire(db.session, order, "postpone", comment="仍在等待",
                         values={"postponed_to": T0 + dt.timedelta(days=6)})


def test_a_postponement_needs_a_reason(ctx):
    with pytest.raises(TransitionRefused, match="必须填写意见"):
        REPAIR_FLOW.fire(db.session, in_processing(), "postpone", values={"postponed_to": T0 + dt.timedelta(days=4)})


def test_a_repair_cannot_be_postponed_beyond_seven_days_after_the_report(ctx):
    order = in_processing()
    with pytest.raises(TransitionRefused, match="最迟为受理后 7 天"):
        REPAIR_FLOW.fire(db.session, order, "postpone", comment="等待配件",
                         values={"postponed_to": T0 + dt.timedelta(days=7, minutes=1)})
    db.session.rollback()
    order = in_processing()
    REPAIR_FLOW.fire(db.session, order, "postpone", comment="等待配件", values={"postponed_to": T0 + dt.timedelta(days=7)})
    assert order.deadline == T0 + dt.timedelta(days=7)


def test_a_postponement_must_move_the_deadline_later(ctx):
    with pytest.raises(TransitionRefused, match="须晚于原约定时间"):
        REPAIR_FLOW.fire(db.session, in_processing(), "postpone", comment="理由",
                         values={"postponed_to": T0 + dt.timedelta(days=1)})


# -- the repair state machine ------------------------------------------------------------------

def test_an_order_is_dispatched_only_to_a_handler(ctx):
    order = repair()
    with pytest.raises(TransitionRefused, match="指定维修处理人"):
        REPAIR_FLOW.fire(db.session, order, "dispatch")
    order.handler = staff(1)
    REPAIR_FLOW.fire(db.session, order, "dispatch")
    assert order.state == "processing"


def test_finishing_needs_the_result_and_stamps_the_time(ctx):
    order = in_processing()
    with pytest.raises(TransitionRefused, match="处理结果"):
        REPAIR_FLOW.fire(db.session, order, "finish")
    REPAIR_FLOW.fire(db.session, order, "finish", values={"result": "已疏通"})
    assert order.state == "visiting" and order.finished_at is not None


def test_the_follow_up_visit_records_satisfaction_and_closes_the_order(ctx):
    order = in_processing()
    REPAIR_FLOW.fire(db.session, order, "finish", values={"result": "已疏通"})
    with pytest.raises(TransitionRefused, match="回访满意度"):
        REPAIR_FLOW.fire(db.session, order, "confirm")
    REPAIR_FLOW.fire(db.session, order, "confirm", values={"satisfaction": "satisfied"})
    assert (order.state, order.satisfaction) == ("done", "satisfied") and order.visited_at is not None


def test_an_unsatisfied_requester_cannot_be_recorded_as_a_closing_visit(ctx):
    order = in_processing()
    REPAIR_FLOW.fire(db.session, order, "finish", values={"result": "已疏通"})
    with pytest.raises(TransitionRefused, match="不满意，重新处理"):
        REPAIR_FLOW.fire(db.session, order, "confirm", values={"satisfaction": "dissatisfied"})


def test_an_unsatisfied_requester_reopens_the_order_with_the_same_first_receiver(ctx):
    order = in_processing()
    receiver = order.first_receiver_id
    REPAIR_FLOW.fire(db.session, order, "finish", values={"result": "已疏通"})
    REPAIR_FLOW.fire(db.session, order, "reopen", comment="仍然返水")
    assert (order.state, order.reopen_count, order.satisfaction) == ("processing", 1, "dissatisfied")
    assert order.first_receiver_id == receiver and order.finished_at is None
    assert order.deadline >= local_now() + dt.timedelta(days=2) - dt.timedelta(minutes=1)


def test_reopening_needs_the_reason_and_only_happens_at_the_follow_up(ctx):
    order = in_processing()
    with pytest.raises(TransitionRefused, match="不能执行"):
        REPAIR_FLOW.fire(db.session, order, "reopen", comment="不满意")
    REPAIR_FLOW.fire(db.session, order, "finish", values={"result": "已疏通"})
    with pytest.raises(TransitionRefused, match="必须填写意见"):
        REPAIR_FLOW.fire(db.session, order, "reopen")


def test_a_completed_order_can_be_neither_reopened_nor_changed(ctx):
    order = in_processing()
    REPAIR_FLOW.fire(db.session, order, "finish", values={"result": "已疏通"})
    REPAIR_FLOW.fire(db.session, order, "confirm", values={"satisfaction": "very_satisfied"})
    db.session.flush()
    with pytest.raises(TransitionRefused):
        REPAIR_FLOW.fire(db.session, order, "reopen", comment="又坏了")
    order.description = "改写"
    with pytest.raises(Frozen):
        db.session.flush()


def test_the_first_receiver_keeps_the_request(ctx):
    order = repair()
    order.first_receiver = staff(2)
    with pytest.raises(Refused, match="首问负责人"):
        db.session.flush()


# -- complaints -------------------------------------------------------------------------------------

def test_a_complaint_is_answered_then_reopened_when_the_complainant_is_not_satisfied(ctx):
    item = complaint(responsible=staff(1))
    COMPLAINT_FLOW.fire(db.session, item, "assign")
    with pytest.raises(TransitionRefused, match="答复内容"):
        COMPLAINT_FLOW.fire(db.session, item, "answer")
    COMPLAINT_FLOW.fire(db.session, item, "answer", values={"reply": "已要求施工方停止夜间施工"})
    assert item.state == "visiting" and item.replied_at is not None
    COMPLAINT_FLOW.fire(db.session, item, "reopen", comment="夜间仍在施工")
    assert (item.state, item.reopen_count, item.replied_at) == ("handling", 1, None)


def test_a_complaint_is_assigned_only_to_a_responsible_person(ctx):
    with pytest.raises(TransitionRefused, match="责任人"):
        COMPLAINT_FLOW.fire(db.session, complaint(), "assign")


# -- hazards, drills, plans, notices ---------------------------------------------------------------

def hazard(**values) -> Hazard:
    item = Hazard(**{**dict(estate_id=ESTATE, category="fire", location="地下车库", description="灭火器过期",
                            found_on=dt.date(2026, 11, 1)), **values})
    db.session.add(item)
    db.session.flush()
    return item


def test_rectification_starts_only_with_a_responsible_person_and_a_due_date(ctx):
    item = hazard()
    with pytest.raises(TransitionRefused, match="整改责任人"):
        HAZARD_FLOW.fire(db.session, item, "start")
    item.responsible = staff()
    with pytest.raises(TransitionRefused, match="整改期限"):
        HAZARD_FLOW.fire(db.session, item, "start")
    item.due_on = dt.date(2026, 11, 15)
    HAZARD_FLOW.fire(db.session, item, "start")
    assert item.state == "rectifying"


def test_a_failed_recheck_sends_the_hazard_back_and_a_passed_one_closes_the_loop(ctx):
    item = hazard(responsible=staff(), due_on=dt.date(2026, 11, 15))
    HAZARD_FLOW.fire(db.session, item, "start")
    with pytest.raises(TransitionRefused, match="整改措施"):
        HAZARD_FLOW.fire(db.session, item, "complete")
    HAZARD_FLOW.fire(db.session, item, "complete", values={"measures": "已更换灭火器"})
    with pytest.raises(TransitionRefused, match="必须填写意见"):
        HAZARD_FLOW.fire(db.session, item, "fail_review")
    HAZARD_FLOW.fire(db.session, item, "fail_review", comment="仍有两具未更换")
    assert (item.state, item.review_failures, item.rectified_on) == ("rectifying", 1, None)
    HAZARD_FLOW.fire(db.session, item, "complete", values={"measures": "全部更换"})
    HAZARD_FLOW.fire(db.session, item, "pass_review")
    assert item.state == "closed" and item.reviewed_on is not None
    db.session.flush()
    item.location = "改写"
    with pytest.raises(Frozen):
        db.session.flush()


def test_evaluating_a_drill_turns_each_finding_into_a_hazard(ctx):
    drill = EmergencyDrill(estate_id=ESTATE, title="消防演练", drill_type="simulated", held_on=dt.date(2026, 11, 1),
                           staff_count=12, resident_count=30, state="held",
                           findings="1. 应急照明不亮\n\n2. 疏散标志被遮挡\n")
    db.session.add(drill)
    db.session.flush()
    with pytest.raises(TransitionRefused, match="评估结果"):
        DRILL_FLOW.fire(db.session, drill, "evaluate")
    DRILL_FLOW.fire(db.session, drill, "evaluate", values={"evaluation": "pass"})
    db.session.flush()
    created = db.session.scalars(select(Hazard).where(Hazard.drill_id == drill.id).order_by(Hazard.id)).all()
    assert [(h.description, h.source, h.state, h.estate_id) for h in created] == [
        ("应急照明不亮", "drill", "found", ESTATE), ("疏散标志被遮挡", "drill", "found", ESTATE)]


PARTS = dict(organization="指挥小组", warning="五分钟内报告", response="疏散", resources="灭火器", aftermath="修订预案")


def test_a_plan_is_published_only_with_all_five_parts(ctx):
    plan = EmergencyPlan(estate_id=ESTATE, kind="water", title="水管爆裂预案", owner="工程主管",
                         **{**PARTS, "resources": ""})
    db.session.add(plan)
    db.session.flush()
    with pytest.raises(TransitionRefused, match="资源保障"):
        PLAN_FLOW.fire(db.session, plan, "publish")


def test_plan_versions_count_up_and_a_published_version_is_frozen(ctx):
    first = EmergencyPlan(estate_id=ESTATE, kind="water", title="水管爆裂预案", owner="工程主管", **PARTS)
    db.session.add(first)
    db.session.flush()
    PLAN_FLOW.fire(db.session, first, "publish")
    second = EmergencyPlan(estate_id=ESTATE, kind="water", title="水管爆裂预案", owner="工程主管", **PARTS)
    db.session.add(second)
    db.session.flush()
    assert (first.version, second.version) == (1, 2)
    PLAN_FLOW.fire(db.session, second, "publish")
    db.session.flush()
    assert (first.phase(db.session), second.phase(db.session)) == ("已被新版本替代", "现行版本")
    first.response = "改写"
    with pytest.raises(Frozen):
        db.session.flush()


def test_a_published_notice_is_dated_and_frozen(ctx):
    notice = Notice(estate_id=ESTATE, title="停水通知", content="周三停水")
    db.session.add(notice)
    db.session.flush()
    NOTICE_FLOW.fire(db.session, notice, "publish")
    db.session.flush()
    assert notice.publish_on == clock.today() and notice.published_at is not None
    notice.content = "改为周四"
    with pytest.raises(Frozen):
        db.session.flush()


# -- survey results ------------------------------------------------------------------------------

def survey_with(sheets: list[tuple[str, str]]) -> Survey:
    """A closed two-question survey; each sheet gives (answer to 1, answer to 2)."""
    survey = Survey(estate_id=ESTATE, title="测试调查", starts_on=dt.date(2026, 10, 1), ends_on=dt.date(2026, 10, 31))
    survey.questions = [SurveyQuestion(number=1, text="保洁"), SurveyQuestion(number=2, text="维修")]
    db.session.add(survey)
    db.session.flush()
    SURVEY_FLOW.fire(db.session, survey, "open")
    db.session.flush()
    for first, second in sheets:
        response = SurveyResponse(survey=survey, answered_on=dt.date(2026, 10, 2))
        response.answers = [SurveyAnswer(question=survey.questions[0], score=first),
                            SurveyAnswer(question=survey.questions[1], score=second)]
        db.session.add(response)
    db.session.flush()
    return survey


def test_survey_results_are_counted_per_question(ctx):
    survey = survey_with([("5", "3"), ("4", "2"), ("5", "5"), ("2", "4")])
    first, second = survey_results(db.session, survey.id)
    # hand count: question 1 = 5,4,5,2 -> 3 satisfied of 4, total 16; question 2 = 3,2,5,4 -> 2 of 4, total 14
    assert (first.answers, first.levels, first.satisfied) == (4, {"5": 2, "4": 1, "3": 0, "2": 1, "1": 0}, 3)
    assert (first.satisfaction_rate, first.average) == (Fraction(3, 4), Fraction(16, 4))
    assert (second.satisfied, second.satisfaction_rate, second.average) == (2, Fraction(1, 2), Fraction(14, 4))


def test_a_question_nobody_answered_shows_no_rate(ctx):
    (first, _second) = survey_results(db.session, survey_with([]).id)
    assert (first.answers, first.satisfaction_rate, first.average) == (0, None, None)


def test_answer_sheets_are_recorded_only_while_the_survey_is_open(ctx):
    survey = Survey(estate_id=ESTATE, title="草稿调查", starts_on=dt.date(2026, 10, 1), ends_on=dt.date(2026, 10, 31))
    db.session.add(survey)
    db.session.flush()
    db.session.add(SurveyResponse(survey=survey, answered_on=dt.date(2026, 10, 2)))
    with pytest.raises(Refused, match="调查答卷只能在满意度调查处于「进行中」时新增，所属满意度调查现为「草稿」"):
        db.session.flush()


def test_an_answer_must_belong_to_a_question_of_the_sheets_survey(ctx):
    one, other = survey_with([("5", "5")]), survey_with([])
    sheet = db.session.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == one.id)).first()
    db.session.add(SurveyAnswer(response=sheet, question=other.questions[0], score="4"))
    with pytest.raises(Refused, match="不属于"):
        db.session.flush()


def test_a_survey_without_questions_cannot_be_opened(ctx):
    survey = Survey(estate_id=ESTATE, title="空调查", starts_on=dt.date(2026, 10, 1), ends_on=dt.date(2026, 10, 31))
    db.session.add(survey)
    db.session.flush()
    with pytest.raises(TransitionRefused, match="没有题目"):
        SURVEY_FLOW.fire(db.session, survey, "open")


# -- through the web: roles, inputs, the 超时 list --------------------------------------------------

def new_order(app, **values) -> int:
    def make() -> int:
        order = repair(**values)
        db.session.commit()
        return order.id
    return in_db(app, make)


def order_state(app, pk: int) -> tuple:
    return in_db(app, lambda: (lambda o: (o.state, o.deadline, o.original_deadline))(db.session.get(RepairOrder, pk)))


@pytest.mark.parametrize(("user", "allowed"), [("staff_a", True), ("manager_a", True), ("committee_a", False),
                                               ("official_jd", False)])
def test_only_property_staff_move_a_repair_order(app, user, allowed):
    pk = new_order(app, handler_id=in_db(app, lambda: staff(1).id))
    response = client_of(app, user).post(f"/repair_order/transition/dispatch/{pk}")
    assert response.status_code == (302 if allowed else 403)
    assert order_state(app, pk)[0] == ("processing" if allowed else "pending")


def test_a_postponement_through_the_page_takes_the_new_time_and_refuses_a_second_in_chinese(app):
    now = local_now().replace(second=0)
    pk = new_order(app, reported_at=now, handler_id=in_db(app, lambda: staff(1).id))
    client = client_of(app, "staff_a")
    client.post(f"/repair_order/transition/dispatch/{pk}")
    new = now + dt.timedelta(days=4)
    client.post(f"/repair_order/transition/postpone/{pk}",
                data={"comment": "等待配件", "input_postponed_to": new.strftime("%Y-%m-%dT%H:%M")})
    assert order_state(app, pk)[1:] == (new, now + dt.timedelta(days=2))
    page = client.post(f"/repair_order/transition/postpone/{pk}", follow_redirects=True,
                       data={"comment": "再等", "input_postponed_to": (new + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")})
    assert ("danger", "同一事项只能延期一次，本事项已延期过") in flashed(text_of(page))
    assert order_state(app, pk)[1] == new


def test_the_show_page_offers_the_postponement_time_and_reason(app):
    pk = new_order(app, handler_id=in_db(app, lambda: staff(1).id))
    client = client_of(app, "staff_a")
    client.post(f"/repair_order/transition/dispatch/{pk}")
    page = text_of(client.get(f"/repair_order/show/{pk}"))
    assert 'name="input_postponed_to"' in page and "延期至（延期时填写）" in page


def overdue_ids(app) -> set[int]:
    def read() -> set[int]:
        now = local_now()
        return set(db.session.scalars(select(RepairOrder.id).where(
            RepairOrder.estate_id == ESTATE, RepairOrder.state.in_(("pending", "processing")), RepairOrder.deadline < now)))
    return in_db(app, read)


def test_the_overdue_list_shows_exactly_the_open_orders_past_their_deadline(app):
    now = local_now()
    late = new_order(app, reported_at=now - dt.timedelta(days=3), deadline=now - dt.timedelta(minutes=5))
    early = new_order(app, reported_at=now - dt.timedelta(days=1), deadline=now + dt.timedelta(hours=2))
    client = client_of(app, "manager_a")
    response = client.get("/repair_order/overdue/")
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"] + "&psize_RepairOrderView=100"))
    expected = overdue_ids(app)
    assert late in expected and early not in expected and len(expected) > 1  # the demo has overdue orders too
    assert shown_ids(page, "repair_order") == expected and record_count(page) == len(expected)


def test_overdue_orders_are_highlighted_on_the_list(app):
    now = local_now()
    late = new_order(app, reported_at=now - dt.timedelta(days=3), deadline=now - dt.timedelta(minutes=5))
    page = text_of(client_of(app, "manager_a").get("/repair_order/list/?psize_RepairOrderView=100"))
    row = re.search(rf'href="/repair_order/show/{late}".*?</tr>', page, re.S).group(0)
    assert '<span class="label label-danger">已超时</span>' in row


def test_the_overdue_export_has_the_same_rows(app):
    from tests.support import sheet_rows

    client = client_of(app, "manager_a")
    location = client.get("/repair_order/overdue/").headers["Location"]
    query = location.split("?", 1)[1]
    rows = sheet_rows(client.get(f"/repair_order/export/?{query}"))
    assert len(rows) - 1 == len(overdue_ids(app))


def test_the_complaint_list_has_an_overdue_filter_too(app):
    client = client_of(app, "manager_a")
    page = text_of(client.get(client.get("/complaint/overdue/").headers["Location"] + "&psize_ComplaintView=100"))

    def expected() -> set[int]:
        return set(db.session.scalars(select(Complaint.id).where(
            Complaint.estate_id == ESTATE, Complaint.state.in_(("received", "handling")),
            Complaint.deadline < local_now())))

    assert shown_ids(page, "complaint") == in_db(app, expected) != set()


def test_the_survey_results_page_shows_the_rates(app):
    def make() -> int:
        survey = survey_with([("5", "3"), ("4", "2"), ("5", "5"), ("2", "4")])
        db.session.commit()
        return survey.id

    pk = in_db(app, make)
    page = text_of(client_of(app, "committee_a").get(f"/survey/results/{pk}"))
    assert re.findall(r'<td class="rate">([^<]+)</td>', page) == ["75.0%", "50.0%"]


def test_the_demo_gives_the_dashboards_something_to_count(app):
    def read() -> dict[str, int]:
        now = local_now()
        count = lambda q: db.session.scalar(select(func.count()).select_from(q.subquery()))  # noqa: E731
        return {
            "overdue": count(select(RepairOrder.id).where(RepairOrder.state.in_(("pending", "processing")),
                                                          RepairOrder.deadline < now)),
            "reopened": count(select(RepairOrder.id).where(RepairOrder.reopen_count > 0)),
            "rated": count(select(RepairOrder.id).where(RepairOrder.satisfaction.is_not(None))),
            "open hazards": count(select(Hazard.id).where(Hazard.state != "closed")),
            "drill hazards": count(select(Hazard.id).where(Hazard.drill_id.is_not(None))),
            "postponed": count(select(RepairOrder.id).where(RepairOrder.original_deadline.is_not(None))),
        }

    assert all(n > 0 for n in in_db(app, read).values()), in_db(app, read)
