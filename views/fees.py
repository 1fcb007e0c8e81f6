"""Bills: batch generation, payments and 收缴率 — real extra behaviour of the bill views.

Everything here adapts a domain service of ``models.fees`` to HTTP; the data layer
scopes every query, so an estate outside the user's scope simply is not found.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from app.audit import record_bulk
from models import clock
from models.errors import Refused
from models.filter_ops import filter_args
from models.estate import Estate
from models.fees import PAYMENT_METHODS, Bill, Payment, collection_rates, generate_bills, record_payment
from views.registry import extends


def _month(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        return None


@extends(Bill)
class BillActions:
    #: buttons on the bill list: (label, endpoint, permission, icon)
    list_buttons = (
        ("批量生成账单", "generate", "can_generate", "fa-magic"),
        ("欠费清单", "arrears", "can_list", "fa-exclamation-circle"),
        ("收缴率", "collection", "can_list", "fa-pie-chart"),
    )

    @expose("/generate/", methods=["GET", "POST"])
    @has_access
    @permission_name("generate")
    def generate(self):
        session = self.datamodel.session
        estates = session.execute(select(Estate).order_by(Estate.code)).scalars().all()
        form = {"estate": request.form.get("estate", ""), "first": request.form.get("first", ""),
                "months": request.form.get("months", "1")}
        if request.method == "POST":
            estate = session.get(Estate, int(form["estate"])) if form["estate"].isdigit() else None
            first = _month(form["first"])
            months = int(form["months"]) if form["months"].isdigit() else 0
            try:
                if estate is None:
                    raise Refused("请选择小区")
                if first is None:
                    raise Refused("请选择起始账期（年-月）")
                count = generate_bills(session, estate, first, months)
                record_bulk(session, Bill, count, f"{estate.name} {first:%Y-%m} 起 {months} 个月账单", estate_id=estate.id)
                session.commit()
            except Refused as refused:
                session.rollback()
                flash(str(refused), "danger")
            else:
                flash(f"已为{estate.name}生成 {count} 张账单", "success")
                return redirect(url_for(f"{self.endpoint}.list"))
        return self.render_template("fees/generate.html", title="批量生成账单", estates=estates, form=form)

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
