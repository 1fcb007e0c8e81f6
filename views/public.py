"""Public notices (公示) without login, all under one anonymous index, /public/.

Only published data is ever read here. These pages run as the anonymous user, whose
estate scope is empty, so each query states explicitly that it reads across estates
(``ALL_ESTATES``) and restricts itself to published documents.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import segno
from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from models.base import ALL_ESTATES
from models.estate import Estate
from models.fees import BILLING_BASES, BILLING_MODES, PRICE_FORMS, FeeStandard, FeeStandardLine, in_force
from models.settings import Settings

public = Blueprint("public", __name__, url_prefix="/public")

_ACROSS_ESTATES = {ALL_ESTATES: True}


@public.app_template_filter("price")
def price(value: Decimal) -> str:
    """A unit price as posted: at least two decimals, no trailing zeros beyond (2.85, 0.355)."""
    text = f"{value.normalize():f}"
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _published_standards(estate_id: int) -> list[FeeStandard]:
    """The standard in force today and every published one still to come."""
    session = db.session
    today = dt.date.today()
    current = in_force(session, estate_id, today, public=True)
    upcoming = session.execute(
        select(FeeStandard).where(FeeStandard.estate_id == estate_id, FeeStandard.state == "published",
                                  FeeStandard.effective_from > today)
        .order_by(FeeStandard.effective_from),
        execution_options=_ACROSS_ESTATES,
    ).scalars().all()
    return ([current] if current else []) + list(upcoming)


def _previous_prices(standard: FeeStandard, lines_of: dict[int, list[FeeStandardLine]]) -> dict[int, object]:
    """item id -> the price of the same item in the standard shown before this one."""
    ids = list(lines_of)
    index = ids.index(standard.id)
    if index == 0:
        return {}
    return {line.item_id: line.unit_price for line in lines_of[ids[index - 1]]}


@public.route("/")
def index():
    session = db.session
    estates = session.execute(select(Estate).order_by(Estate.code), execution_options=_ACROSS_ESTATES).scalars().all()
    notices = {e.id: _published_standards(e.id) for e in estates}
    return render_template("public/index.html", estates=estates, notices=notices, today=dt.date.today())


@public.route("/estate/<int:estate_id>/fees")
def fee_notice(estate_id: int):
    session = db.session
    estate = session.execute(select(Estate).where(Estate.id == estate_id), execution_options=_ACROSS_ESTATES).scalar_one_or_none()
    if estate is None:
        abort(404)
    standards = _published_standards(estate_id)
    settings = session.execute(select(Settings), execution_options=_ACROSS_ESTATES).scalar_one()
    page_url = request.url_root.rstrip("/") + url_for("public.fee_notice", estate_id=estate_id)
    qr = segno.make(page_url, error="m").svg_inline(scale=3, title="扫码查看本公示")
    lines = session.execute(
        select(FeeStandardLine).where(FeeStandardLine.standard_id.in_([s.id for s in standards]))
        .options(joinedload(FeeStandardLine.item)).order_by(FeeStandardLine.id),
        execution_options=_ACROSS_ESTATES,
    ).scalars().all()
    lines_of = {s.id: [line for line in lines if line.standard_id == s.id] for s in standards}
    previous = {s.id: _previous_prices(s, lines_of) for s in standards}
    return render_template(
        "public/fee_notice.html", estate=estate, standards=standards, lines_of=lines_of,
        previous=previous, today=dt.date.today(),
        hotline=settings.complaint_hotline, qr=qr, page_url=page_url,
        bases=BILLING_BASES, modes=BILLING_MODES, forms=PRICE_FORMS,
    )
