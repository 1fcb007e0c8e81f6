"""Background jobs as users meet them: big exports in 「我的下载」, bill runs with a history and a
monthly schedule, the inbox, and the bookkeeping that makes a job run exactly once. Jobs here run
as they are submitted (JOBS_IMMEDIATE); tests/test_job_consumers.py runs real consumers."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from app import jobs
from app.extensions import db
from models import clock
from models.audit import AuditLog
from models.estate import Estate, Unit
from models.fees import Bill
from models.jobs import Job, Notification
from models.settings import Settings
from tests.support import client_of, flashed


def _threshold(app, rows: int) -> None:
    with app.app_context():
        Settings.current(db.session).export_background_rows = rows
        db.session.commit()


def _first_estate_id(app) -> int:
    with app.app_context():
        return db.session.execute(select(Estate.id).order_by(Estate.id)).scalars().first()


def _job_id(answer) -> int:
    assert answer.status_code == 302 and "/my/jobs/" in answer.headers["Location"]
    return int(answer.headers["Location"].rsplit("/", 1)[1])


# -- exports ----------------------------------------------------------------------------------

def test_an_export_at_or_below_the_threshold_downloads_at_once(app):
    _threshold(app, 100_000)
    answer = client_of(app, "manager_a").get("/unit/export/")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")


def test_an_export_above_the_threshold_becomes_a_file_in_my_downloads_with_every_row_in_scope(app):
    _threshold(app, 10)
    manager = client_of(app, "manager_a")
    job_id = _job_id(manager.get("/unit/export/"))
    with app.app_context():
        units = db.session.scalar(select(func.count()).select_from(Unit).where(Unit.estate_id == _first_estate_id(app)))
    listing = manager.get("/my/downloads/").get_data(as_text=True)
    assert f"/my/jobs/{job_id}/file" in listing and "已完成" in listing
    sheet = load_workbook(io.BytesIO(manager.get(f"/my/jobs/{job_id}/file").data), read_only=True).active
    assert sheet.max_row - 1 == units  # the manager's one estate, as the list shows it


def test_the_owner_is_told_in_the_inbox_and_the_badge_counts_it_until_read(app):
    _threshold(app, 10)
    manager = client_of(app, "manager_a")
    job_id = _job_id(manager.get("/unit/export/"))
    page = manager.get("/my/inbox/").get_data(as_text=True)
    assert "「房屋列表导出" in page and 'inbox-badge">1<' in page
    with app.app_context():
        message_id = db.session.execute(select(Notification.id)).scalar_one()
    opened = manager.get(f"/my/inbox/{message_id}")
    assert opened.headers["Location"].endswith(f"/my/jobs/{job_id}")
    assert "inbox-badge" not in manager.get("/my/inbox/").get_data(as_text=True)


def test_nobody_else_sees_or_downloads_an_export_not_even_an_administrator(app):
    _threshold(app, 10)
    job_id = _job_id(client_of(app, "manager_a").get("/unit/export/"))
    for other in ("staff_a", "official_jd", "admin"):
        client = client_of(app, other)
        assert client.get(f"/my/jobs/{job_id}").status_code == 404
        assert client.get(f"/my/jobs/{job_id}/file").status_code == 404
        assert client.get(f"/my/jobs/{job_id}/progress").status_code == 404
        assert f"/my/jobs/{job_id}" not in client.get("/my/downloads/").get_data(as_text=True)


def test_an_expired_download_is_deleted_and_no_longer_served(app):
    _threshold(app, 10)
    manager = client_of(app, "manager_a")
    job_id = _job_id(manager.get("/unit/export/"))
    with app.app_context():
        db.session.execute(update(Job).values(expires_at=clock.utc_now() - dt.timedelta(minutes=1)))
        db.session.commit()
        assert jobs.download_path(job_id).exists()
        assert jobs.expire_downloads() == 1
        db.session.commit()
        assert not jobs.download_path(job_id).exists()
        assert db.session.get(Job, job_id).state == "expired"
    assert manager.get(f"/my/jobs/{job_id}/file").status_code == 404


def test_an_export_whose_owner_lost_the_right_is_refused_when_it_runs(app):
    with app.app_context():
        user = app.appbuilder.sm.find_user("manager_a")
        job = jobs.submit(db.session, "export", "房屋列表导出", user_id=user.id,
                          params={"view": "UnitView", "path": "/unit/export/"})
        user.active = False
        db.session.commit()
        job_id = job.id
    jobs.enqueue(job_id)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.message) == ("failed", "提交任务的账号已停用，任务未执行")
        assert not jobs.download_path(job_id).exists()


# -- bill runs --------------------------------------------------------------------------------

def test_a_bill_run_is_checked_on_the_form_and_a_refusal_changes_nothing(app):
    manager = client_of(app, "manager_a")
    past = (clock.today().replace(day=1) - relativedelta(months=1)).strftime("%Y-%m")  # billed by the demo
    page = manager.post("/bill/generate/", data={"estate": _first_estate_id(app), "first": past, "months": "1"},
                        follow_redirects=True).get_data(as_text=True)
    assert any("已经生成过" in text for _kind, text in flashed(page))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_bill_run_runs_as_a_job_and_appears_in_the_run_history_of_its_estate(app):
    manager = client_of(app, "manager_a")
    first = clock.today().replace(day=1) + relativedelta(months=1)
    job_id = _job_id(manager.post("/bill/generate/", data={
        "estate": _first_estate_id(app), "first": f"{first:%Y-%m}", "months": "1"}))
    with app.app_context():
        job = db.session.get(Job, job_id)
        bills = db.session.scalar(select(func.count()).select_from(Bill).where(Bill.period == first))
        assert job.state == "done" and job.rows == bills > 0
    assert "已为" in manager.get(f"/my/jobs/{job_id}").get_data(as_text=True)
    assert f"/my/jobs/{job_id}" in manager.get("/bill/runs/").get_data(as_text=True)
    # the committee of the same estate reads the history; an official of another street would not
    committee = client_of(app, "committee_a")
    assert committee.get(f"/my/jobs/{job_id}").status_code == 200


#: the schedule's tests run on the 15th in Beijing (a bill day may be 1–28, so not every day is one)
ON_THE_15TH = dt.datetime(2027, 3, 14, 17, 0, tzinfo=dt.timezone.utc)  # 01:00 on 15 March in Beijing


@pytest.fixture()
def bill_day(app, ctx):
    """The first estate bills on the 15th, and it is the 15th; its March is not billed yet."""
    with time_machine.travel(ON_THE_15TH, tick=False):
        estate_id = _first_estate_id(app)
        db.session.execute(update(Estate).where(Estate.id == estate_id).values(bill_day=15))
        db.session.execute(Bill.__table__.delete().where(Bill.estate_id == estate_id, Bill.period >= MARCH))
        db.session.commit()
        yield estate_id


MARCH = dt.date(2027, 3, 1)


def test_the_monthly_schedule_bills_an_estate_once_however_often_it_fires(app, bill_day):
    from views.fees import schedule_bill_runs

    for _ in range(3):
        with jobs._scheduled():
            schedule_bill_runs()
    runs = db.session.execute(select(Job).where(Job.kind == "bill_run")).scalars().all()
    assert len(runs) == 1 and runs[0].state == "done" and runs[0].user_id is None
    billed = db.session.scalar(select(func.count()).select_from(Bill).where(Bill.estate_id == bill_day,
                                                                            Bill.period == MARCH))
    assert billed == runs[0].rows > 0


def test_no_run_is_scheduled_on_another_day_of_the_month(app, bill_day):
    from views.fees import schedule_bill_runs

    with time_machine.travel(ON_THE_15TH + dt.timedelta(days=1), tick=False), jobs._scheduled():
        schedule_bill_runs()
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_scheduled_run_is_written_to_the_log_as_the_schedule_and_told_to_the_estates_manager(app, bill_day):
    from views.fees import schedule_bill_runs

    with jobs._scheduled():
        schedule_bill_runs()
    logged = db.session.execute(select(AuditLog.username).where(AuditLog.action == "bulk")
                                .order_by(AuditLog.id.desc())).scalars().first()
    told = db.session.execute(select(Notification.user_id)).scalars().all()
    assert logged == jobs.SCHEDULE_ACTOR and told == [app.appbuilder.sm.find_user("manager_a").id]


def test_a_scheduled_run_for_a_month_already_billed_adds_nothing_and_says_so(app, bill_day):
    from models.fees import generate_bills
    from views.fees import schedule_bill_runs

    generate_bills(db.session, db.session.get(Estate, bill_day), MARCH, 1)
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(Bill))
    with jobs._scheduled():
        schedule_bill_runs()
    job = db.session.execute(select(Job)).scalar_one()
    assert job.state == "done" and "已经生成过" in job.message
    assert db.session.scalar(select(func.count()).select_from(Bill)) == before


def test_a_bill_day_after_the_28th_is_refused_in_chinese(app):
    admin = client_of(app, "admin")
    estate_id = _first_estate_id(app)
    page = admin.get(f"/estate/edit/{estate_id}").get_data(as_text=True)
    assert "每月自动生成账单日" in page
    from models.rules import violations

    with app.app_context():
        assert ("bill_day", "自动生成账单日须在 1 到 28 之间") in violations(Estate, {"bill_day": 31})


# -- running exactly once -----------------------------------------------------------------------

def _running_job(app, *, started_ago: int, attempts: int = 1) -> int:
    with app.app_context():
        user = app.appbuilder.sm.find_user("manager_a")
        job = jobs.submit(db.session, "export", "房屋列表导出", user_id=user.id,
                          params={"view": "UnitView", "path": "/unit/export/"})
        job.state, job.attempts = "running", attempts
        job.started_at = clock.utc_now() - dt.timedelta(seconds=started_ago)
        db.session.commit()
        return job.id


def test_a_job_whose_worker_stopped_beating_is_run_again(app):
    job_id = _running_job(app, started_ago=jobs.stale_after() + 5)
    with app.app_context():
        assert jobs.recover() == 1
        job = db.session.get(Job, job_id)
        assert (job.state, job.attempts) == ("done", 2)


def test_a_job_whose_worker_is_alive_is_left_alone(app):
    job_id = _running_job(app, started_ago=1)
    with app.app_context():
        assert jobs.recover() == 0
        assert db.session.get(Job, job_id).state == "running"


def test_a_job_interrupted_on_its_last_attempt_fails_with_a_message_for_the_administrator(app):
    job_id = _running_job(app, started_ago=jobs.stale_after() + 5, attempts=jobs.MAX_ATTEMPTS)
    with app.app_context():
        assert jobs.recover() == 0
        job = db.session.get(Job, job_id)
        assert job.state == "failed" and "已中断 3 次" in job.message


def test_an_outcome_from_an_attempt_that_lost_the_job_is_not_written(app):
    job_id = _running_job(app, started_ago=1, attempts=2)
    with app.app_context():
        assert not jobs._finish(db.session, job_id, 1, "done", "迟到的结果")
        db.session.commit()
        assert db.session.get(Job, job_id).state == "running"


def test_a_job_already_taken_is_not_run_a_second_time(app):
    job_id = _running_job(app, started_ago=1)
    jobs.enqueue(job_id)  # a duplicate delivery
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.attempts) == ("running", 1)


# -- the inbox --------------------------------------------------------------------------------

def test_a_message_leads_only_inside_the_product(app):
    manager = client_of(app, "manager_a")
    with app.app_context():
        from models.jobs import notify

        user = app.appbuilder.sm.find_user("manager_a")
        message = notify(db.session, user.id, "测试", link="//evil.example/")
        db.session.commit()
        message_id = message.id
    assert manager.get(f"/my/inbox/{message_id}").headers["Location"].endswith("/my/inbox/")


def test_someone_elses_message_is_not_found_and_stays_unread(app):
    with app.app_context():
        from models.jobs import notify

        message = notify(db.session, app.appbuilder.sm.find_user("manager_a").id, "给经理的消息")
        db.session.commit()
        message_id = message.id
    assert client_of(app, "staff_a").get(f"/my/inbox/{message_id}").status_code == 404
    with app.app_context():
        assert db.session.get(Notification, message_id).read_at is None


def test_mark_all_read_touches_only_ones_own_messages(app):
    with app.app_context():
        from models.jobs import notify

        notify(db.session, app.appbuilder.sm.find_user("manager_a").id, "经理的")
        notify(db.session, app.appbuilder.sm.find_user("staff_a").id, "员工的")
        db.session.commit()
    client_of(app, "manager_a").post("/my/inbox/read-all")
    with app.app_context():
        unread = db.session.execute(select(Notification.title).where(Notification.read_at.is_(None))).scalars().all()
        assert unread == ["员工的"]


# -- the daily reminder ------------------------------------------------------------------------

AT_EIGHT = dt.datetime(2027, 3, 15, 0, 5, tzinfo=dt.timezone.utc)  # 08:05 on 15 March in Beijing


def _remind(app) -> None:
    from app.reminders import schedule_daily_reminders

    with app.app_context(), jobs._scheduled():
        schedule_daily_reminders()


def test_the_daily_reminder_lists_each_persons_workbench_once_a_day(app):
    with time_machine.travel(AT_EIGHT, tick=False):
        for _ in range(2):
            _remind(app)
        with app.app_context():
            job = db.session.execute(select(Job).where(Job.kind == "reminders")).scalar_one()
            told = {app.appbuilder.sm.get_user_by_id(m.user_id).username: m for m in
                    db.session.execute(select(Notification)).scalars()}
        assert job.state == "done" and {"manager_a", "staff_a", "committee_a", "official_jd"} <= set(told)
        assert "admin" not in told  # the administrator is not reminded of every estate
        # each message is what that person's 工作台 shows, counted in their scope
        for username, message in told.items():
            page = client_of(app, username).get("/").get_data(as_text=True)
            for line in message.body.split("；"):
                label, count = line.rsplit("：", 1)
                assert label in page and count in page, (username, line)


def test_no_reminder_is_sent_before_the_configured_hour(app):
    with time_machine.travel(AT_EIGHT - dt.timedelta(minutes=10), tick=False):  # 07:55 in Beijing
        _remind(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_the_reminder_is_scoped_like_the_workbench_a_manager_hears_only_of_his_estate(app):
    from models.service_orders import RepairOrder

    with time_machine.travel(AT_EIGHT, tick=False):
        with app.app_context():
            estates = db.session.execute(select(Estate.id).order_by(Estate.id)).scalars().all()
            overdue = {estate: 0 for estate in estates}
            from models.service_orders import overdue_clause

            for estate_id, count in db.session.execute(
                    select(RepairOrder.estate_id, func.count()).where(overdue_clause(RepairOrder, clock.local_now()))
                    .group_by(RepairOrder.estate_id)):
                overdue[estate_id] = count
        _remind(app)
        with app.app_context():
            manager = app.appbuilder.sm.find_user("manager_a")
            body = db.session.execute(select(Notification.body).where(Notification.user_id == manager.id)).scalar_one()
    line = next(line for line in body.split("；") if line.startswith("超时未完工的报修工单"))
    assert line == f"超时未完工的报修工单：{overdue[estates[0]]}"


# -- arrears: the reminder and the 催缴通知书 --------------------------------------------------------

def test_a_bill_is_overdue_once_its_month_ended_more_than_the_set_days_ago():
    from models.fees import arrears_before

    # a January bill falls due on 31 January: 30 days later is 2 March, more than 30 is 3 March
    assert arrears_before(dt.date(2027, 3, 2), 30) == dt.date(2027, 1, 1)  # January not before it: not yet
    assert arrears_before(dt.date(2027, 3, 3), 30) == dt.date(2027, 2, 1)  # January is before it: overdue


def _overdue_units_of_building(app, building_id: int) -> set[int]:
    from models.fees import arrears_before

    with app.app_context():
        cutoff = arrears_before(clock.today(), Settings.current(db.session).arrears_notice_days)
        return set(db.session.execute(select(Bill.unit_id).join(Unit, Bill.unit_id == Unit.id).where(
            Unit.building_id == building_id, Bill.outstanding > 0, Bill.period < cutoff)).scalars())


def test_the_dunning_notices_of_a_building_are_one_page_per_household_in_arrears(app):
    from models.estate import Building

    with app.app_context():
        buildings = db.session.execute(select(Building.id).where(
            Building.estate_id == _first_estate_id(app)).order_by(Building.id)).scalars().all()
    building_id = next(b for b in buildings if _overdue_units_of_building(app, b))
    page = client_of(app, "manager_a").get(f"/bill/dunning/?building={building_id}").get_data(as_text=True)
    assert page.count('<section class="notice">') == len(_overdue_units_of_building(app, building_id))
    assert "催缴通知书" in page and "合计欠费" in page


def test_the_dunning_notices_are_for_those_who_collect_and_only_of_their_estates(app):
    from models.estate import Building

    assert client_of(app, "committee_a").get("/bill/dunning/").status_code == 403
    with app.app_context():
        other = db.session.execute(select(Building.id).where(Building.estate_id != _first_estate_id(app))
                                   .order_by(Building.id)).scalars().first()
    assert _overdue_units_of_building(app, other)  # there is something to leak
    page = client_of(app, "manager_a").get(f"/bill/dunning/?building={other}").get_data(as_text=True)
    assert '<section class="notice">' not in page


def test_the_dunning_overview_counts_households_and_sums_their_arrears_exactly(app):
    from decimal import Decimal

    from models.estate import Building
    from models.fees import arrears_before

    with app.app_context():
        cutoff = arrears_before(clock.today(), Settings.current(db.session).arrears_notice_days)
        building = db.session.execute(select(Building).where(Building.estate_id == _first_estate_id(app))
                                      .order_by(Building.id)).scalars().first()
        bills = db.session.execute(select(Bill).join(Unit, Bill.unit_id == Unit.id).where(
            Unit.building_id == building.id, Bill.outstanding > 0, Bill.period < cutoff)).scalars().all()
        owed = sum((bill.outstanding for bill in bills), Decimal("0"))
        households, name = len({bill.unit_id for bill in bills}), building.name
    page = client_of(app, "manager_a").get("/bill/dunning/").get_data(as_text=True)
    assert f"<td>{name}</td><td>{households}</td><td>{owed}</td>" in page


def test_a_second_bill_run_for_an_estate_waits_until_the_first_has_finished(app):
    with app.app_context():
        manager = app.appbuilder.sm.find_user("manager_a")
        jobs.submit(db.session, "bill_run", "望京花园 账单", user_id=manager.id, estate_id=_first_estate_id(app),
                    params={})  # queued: no consumer has taken it yet
        db.session.commit()
    first = clock.today().replace(day=1) + relativedelta(months=1)
    page = client_of(app, "manager_a").post("/bill/generate/", data={
        "estate": _first_estate_id(app), "first": f"{first:%Y-%m}", "months": "1"}).get_data(as_text=True)
    assert any("已有一项账单生成任务在排队或进行中" in text for _kind, text in flashed(page))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 1


@pytest.mark.parametrize("user", ["manager_a", "committee_a", "official_jd"])
def test_the_job_administration_is_the_administrators(app, user):
    with app.app_context():
        job = jobs.submit(db.session, "export", "导出", user_id=app.appbuilder.sm.find_user(user).id, params={})
        job.state = "failed"
        db.session.commit()
        job_id = job.id
    client = client_of(app, user)
    assert client.get("/jobs/").status_code in (302, 403)
    assert client.post(f"/jobs/retry/{job_id}").status_code in (302, 403)
    with app.app_context():
        assert db.session.get(Job, job_id).state == "failed"  # not re-queued by them


def test_the_administrator_runs_a_failed_job_again(app):
    with app.app_context():
        job = jobs.submit(db.session, "export", "房屋列表导出", user_id=app.appbuilder.sm.find_user("manager_a").id,
                          params={"view": "UnitView", "path": "/unit/export/"})
        job.state, job.attempts, job.message = "failed", 3, "系统错误"
        db.session.commit()
        job_id = job.id
    client_of(app, "admin").post(f"/jobs/retry/{job_id}")
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.attempts) == ("done", 1)
