"""Bills: batch generation, payments and 收缴率 — real extra behaviour of the bill views.

Everything here adapts a domain service of ``models.fees`` to HTTP; the data layer
scopes every query, so an estate outside the user's scope simply is not found.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import func, select

from app.audit import record_bulk
from app.jobs import enqueue, every_minute, handler, submit, submit_once
from models import clock
from models.base import among, row_id, small_number
from models.errors import Refused
from models.filter_ops import filter_args
from models.estate import Estate, reading_order
from models.fees import (
    PAYMENT_METHODS, Bill, Payment, arrears_before, billed_periods, collection_rates, generate_bills, month_start,
    plan_bills, record_payment,
)
from models.jobs import OPEN_STATES, Job
from views.people import names_by_id
from views.registry import extends


def _month(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        return None


def submit_bill_run(session: Any, estate: Estate, first: dt.date, months: int, *, user_id: int | None,
                    unique_key: str | None = None) -> Job:
    title = f"{estate.name} {first:%Y年%m月}起 {months} 个月账单"
    return submit(session, "bill_run", title, user_id=user_id, estate_id=estate.id, unique_key=unique_key,
                  params={"estate": estate.id, "first": first.isoformat(), "months": months,
                          "scheduled": user_id is None})


@handler("bill_run")
def run_bill_job(session: Any, job: Job, progress: Any) -> str:
    """One bill run, all or nothing: its bills, its 操作日志 record and 已完成 commit together."""
    args = job.arguments
    estate = session.get(Estate, args["estate"])
    if estate is None:
        raise Refused("该小区不存在或已不在您的管辖范围内，账单未生成")
    first, months = dt.date.fromisoformat(args["first"]), args["months"]
    if args.get("scheduled") and billed_periods(session, estate.id, [month_start(first)]):
        return f"{first:%Y年%m月}的账单已经生成过，本次未重复生成"  # the schedule is idempotent
    count = generate_bills(session, estate, first, months, progress)
    record_bulk(session, Bill, count, f"{estate.name} {first:%Y-%m} 起 {months} 个月账单", estate_id=estate.id)
    job.rows = count
    return f"已为{estate.name}生成 {count:,} 张账单（{first:%Y年%m月}起 {months} 个月）"


@every_minute
def schedule_bill_runs() -> None:
    """Each estate's monthly bill run on its 自动生成账单日 (Beijing time). One job per estate
    and month (its unique key): a schedule that fires twice, or on two consumers, adds nothing."""
    from app.extensions import db

    session, today = db.session, clock.today()
    period = today.replace(day=1)
    for estate in session.execute(select(Estate).where(Estate.bill_day == today.day)).scalars().all():
        key = f"bill_run:{estate.id}:{period:%Y-%m}"
        submit_once(session, key, lambda: submit_bill_run(session, estate, period, 1, user_id=None, unique_key=key))


@extends(Bill)
class BillActions:
    #: buttons on the bill list: (label, endpoint, permission, icon)
    list_buttons = (
        ("批量生成账单", "generate", "can_generate", "fa-magic"),
        ("欠费清单", "arrears", "can_list", "fa-exclamation-circle"),
        ("收缴率", "collection", "can_list", "fa-pie-chart"),
        ("生成记录", "runs", "can_list", "fa-history"),
        ("催缴通知书", "dunning", "can_pay", "fa-print"),
    )

    @expose("/generate/", methods=["GET", "POST"])
    @has_access
    @permission_name("generate")
    def generate(self):
        """Checked here (a refusal reads at once), run as a job (a large estate's year takes
        seconds to minutes): the page of the job shows its progress and outcome."""
        session = self.datamodel.session
        estates = session.execute(select(Estate).order_by(Estate.code)).scalars().all()
        form = {"estate": request.form.get("estate", ""), "first": request.form.get("first", ""),
                "months": request.form.get("months", "1")}
        if request.method == "POST":
            estate = session.get(Estate, row_id(form["estate"]) or 0)
            first = _month(form["first"])
            months = small_number(form["months"], 1000) or 0
            try:
                if estate is None:
                    raise Refused("请选择小区")
                if first is None:
                    raise Refused("请选择起始账期（年-月）")
                if session.execute(select(Job.id).where(Job.kind == "bill_run", Job.estate_id == estate.id,
                                                        Job.state.in_(OPEN_STATES))).first():
                    raise Refused(f"{estate.name}已有一项账单生成任务在排队或进行中，请在「生成记录」中等它完成后再生成")
                plan_bills(session, estate, first, months)
            except Refused as refused:
                session.rollback()
                flash(str(refused), "danger")
            else:
                job = submit_bill_run(session, estate, first, months, user_id=g.user.id)
                session.commit()
                enqueue(job.id)
                return redirect(url_for("MyJobsView.job", pk=job.id))
        return self.render_template("fees/generate.html", title="批量生成账单", estates=estates, form=form)

    @expose("/runs/")
    @has_access
    @permission_name("list")
    def runs(self):
        """账单生成记录: every bill run of the user's estates, asked for or scheduled."""
        from app.scoping import current_estate_ids

        session = self.datamodel.session
        query = select(Job).where(Job.kind == "bill_run").order_by(Job.id.desc()).limit(200)
        scope = current_estate_ids()
        if scope is not None:
            query = query.where(among(Job.estate_id, scope, session.get_bind().dialect.name))
        jobs = session.execute(query).scalars().all()
        names = dict(session.execute(select(Estate.id, Estate.name)).all())
        people = names_by_id(session, [job.user_id for job in jobs])
        return self.render_template("fees/runs.html", title="账单生成记录", jobs=jobs, estates=names, people=people)

    @expose("/dunning/")
    @has_access
    @permission_name("pay")
    def dunning(self):
        """催缴通知书 on A4, one per household with bills unpaid longer than 欠费催缴天数: a whole
        楼栋 at once (?building=) or one 房屋 (?unit=). 民法典第九百四十四条: the property company
        first urges payment within a reasonable time."""
        from models.estate import Building, Unit
        from models.settings import Settings

        session = self.datamodel.session
        settings = Settings.current(session)
        cutoff = arrears_before(clock.today(), settings.arrears_notice_days)
        building_id, unit_id = row_id(request.args.get("building", "")), row_id(request.args.get("unit", ""))
        query = (select(Bill).join(Unit, Bill.unit_id == Unit.id).join(Building, Unit.building_id == Building.id)
                 .where(Bill.outstanding > 0, Bill.period < cutoff)
                 .order_by(Unit.estate_id, *reading_order(), Bill.period, Bill.item_id))
        if unit_id:
            query = query.where(Unit.id == unit_id)
        elif building_id:
            query = query.where(Unit.building_id == building_id)
        else:  # which 楼栋 have households in arrears: how many, how much; each printable at once
            overdue = (Bill.outstanding > 0, Bill.period < cutoff)
            buildings = session.execute(
                select(Building, func.count(func.distinct(Bill.unit_id)).label("households"),
                       func.sum(Bill.outstanding).label("owed"))
                .join(Unit, Unit.building_id == Building.id).join(Bill, Bill.unit_id == Unit.id).join(Estate)
                .where(*overdue).group_by(Building.id, Estate.code).order_by(Estate.code, Building.code_key)).all()
            return self.render_template("fees/dunning_choose.html", title="催缴通知书", buildings=buildings,
                                        days=settings.arrears_notice_days,
                                        households=sum(row.households for row in buildings))
        households: dict[int, list[Bill]] = {}
        for bill in session.execute(query).scalars():
            households.setdefault(bill.unit_id, []).append(bill)
        notices = [{"unit": bills[0].unit, "bills": bills, "total": sum((b.outstanding for b in bills), Decimal("0"))}
                   for bills in households.values()]
        return self.render_template("fees/dunning.html", title="催缴通知书", notices=notices, today=clock.today(),
                                    days=settings.arrears_notice_days)

    @expose("/arrears/")
    @has_access
    @permission_name("list")
    def arrears(self):
        """欠费清单: the bill list filtered to what is still owed."""
        return redirect(url_for(f"{self.endpoint}.list", **filter_args(Bill, outstanding=("gt", "0"))))

    @expose("/collection/")
    @has_access
    @permission_name("list")
    def collection(self):
        """收缴率 per estate and period, aggregated in SQL within the user's scope."""
        session = self.datamodel.session
        names = dict(session.execute(select(Estate.id, Estate.name)).all())
        rows = [
            {"estate": names.get(r.estate_id, ""), "period": r.period, "due": r.due, "paid": r.paid,
             "rate": (r.paid / r.due * 100).quantize(Decimal("0.01")) if r.due else Decimal("0")}
            for r in collection_rates(session)
        ]
        return self.render_template("fees/collection.html", title="收缴率统计", rows=rows)

    @expose("/pay/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("pay")
    def pay(self, pk: int):
        session = self.datamodel.session
        bill = self.datamodel.get(pk, self._base_filters)
        if bill is None:
            abort(404)
        try:
            amount = Decimal(request.form.get("amount", "").strip())
        except InvalidOperation:
            amount = None
        paid_on = request.form.get("paid_on") or clock.today().isoformat()
        try:
            if amount is None or amount != amount.quantize(Decimal("0.01")):
                raise Refused("缴费金额须为数字，最多两位小数")
            if request.form.get("method") not in PAYMENT_METHODS.codes:
                raise Refused("请选择缴费方式")
            record_payment(session, bill, amount, request.form["method"], dt.date.fromisoformat(paid_on),
                           request.form.get("receipt_no") or None)
            session.commit()
        except (Refused, ValueError) as refused:
            session.rollback()
            flash(str(refused) if isinstance(refused, Refused) else "缴费日期格式不正确", "danger")
        else:
            flash(f"已登记缴费 {amount:f} 元", "success")
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))

    def render_template(self, template: str, **kwargs: Any):
        if template == self.show_template and "pk" in kwargs:
            bill = self.shown(kwargs["pk"])
            if bill is not None:
                kwargs["extra_panel"] = "fees/bill_pay.html"
                kwargs["bill"] = bill
                kwargs["payments"] = self.datamodel.session.execute(
                    select(Payment).where(Payment.bill_id == bill.id).order_by(Payment.paid_on)
                ).scalars().all()
                kwargs["methods"] = PAYMENT_METHODS
                kwargs["may_pay"] = self.appbuilder.sm.has_access("can_pay", self.class_permission_name)
                kwargs["today"] = clock.today()
        return super().render_template(template, **kwargs)
