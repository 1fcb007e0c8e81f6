"""Public notices (公示) without login, all under one anonymous index, /public/.

Only published data is ever read here. These pages run as the anonymous user, whose
estate scope is empty, so each query states explicitly that it reads across estates
(``ALL_ESTATES``) and restricts itself to published documents.
"""

from __future__ import annotations

import os
import secrets
from decimal import Decimal

import segno
from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask import session as browser_session
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app import wechat
from app.extensions import db
from app.scoping import limit_request_to
from models import clock
from models.base import ALL_ESTATES, decimal_text, row_id
from models.errors import Refused
from models.estate import Building, Estate, Unit
from models.fees import BILLING_BASES, BILLING_MODES, PRICE_FORMS, FeeStandard, FeeStandardLine, in_force
from models.fund_vote import BALLOT_CHOICES, MATTERS, rule_for
from models import owners_assembly as assembly
from models.election import NOMINATIONS, Candidate
from models.first_assembly import SIDES, PreparatoryGroup
from models.first_assembly import STATES as GROUP_STATES
from models.governing_documents import KINDS as DOCUMENT_KINDS
from models.governing_documents import STATES as DOCUMENT_STATES
from models.governing_documents import NOT_UNDER_COMMENT, DraftComment, GoverningDocument
from models.owners_assembly import MatterResult, MeetingMatter, OwnersMeeting
from models.outbox import WeChatBinding
from models.people import Owner, UnitOwnership
from models.repair_fund import (
    ENTRY_KINDS, NOT_ON_ROLL, STATES, WRONG_CODE, FundApplication, cast_ballot, covered_by,
)
from models.repair_fund_disclosure import (
    PUBLISHED_PLAN_STATES, apportionments, disclose, parse_period, period_of, periods, published_applications,
    unit_entries,
)
from models.settings import Settings, settings_for
from views.owners_assembly import agenda_approvals, agenda_choices, standings_of

public = Blueprint("public", __name__, url_prefix="/public")

_ACROSS_ESTATES = {ALL_ESTATES: True}


@public.app_template_filter("price")
def price(value: Decimal) -> str:
    """A unit price as posted (2.85, 0.355): as on every page (models.base.decimal_text)."""
    return decimal_text(value)


def _published_standards(estate_id: int) -> list[FeeStandard]:
    """The standard in force today and every published one still to come."""
    session = db.session
    today = clock.today()
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
    return render_template("public/index.html", estates=estates, notices=notices, today=clock.today(),
                           voting=_voting(), meetings=_meetings())


def _meetings() -> dict[int, list]:
    """Announced, voting and counted 业主大会会议 per estate, newest first (cancelled ones are
    shown on their own page only)."""
    found: dict[int, list] = {}
    query = (select(OwnersMeeting).where(OwnersMeeting.state.in_(("announced", "voting", "counted")))
             .order_by(OwnersMeeting.vote_from.desc(), OwnersMeeting.id.desc()))
    for meeting in db.session.execute(query, execution_options=_ACROSS_ESTATES).scalars():
        found.setdefault(meeting.estate_id, []).append(meeting)
    return found


def _voting() -> dict[int, list]:
    """Applications now in the owners' vote, per estate (the index links their vote page)."""
    found: dict[int, list] = {}
    for app in db.session.execute(select(FundApplication).where(FundApplication.state == "voting")
                                  .order_by(FundApplication.id), execution_options=_ACROSS_ESTATES).scalars():
        found.setdefault(app.estate_id, []).append(app)
    return found


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
        previous=previous, today=clock.today(),
        hotline=settings.complaint_hotline, qr=qr, page_url=page_url,
        bases=BILLING_BASES, modes=BILLING_MODES, forms=PRICE_FORMS,
    )


# -- repair fund (维修资金): disclosure, published plans and results, owners' lookup and vote ----

#: one answer for every failed owner lookup, whatever did not match (no enumeration)
LOOKUP_REFUSED = "房屋或证件号码后六位不正确，请核对后重新输入。"
#: one answer for a 房号 that does not exist, one outside the vote and a wrong code: the
#: page tells a guesser nothing about which rooms exist or vote
VOTE_REFUSED = "房号或电子投票码不正确，请核对表决票后重新输入。"
#: the endpoints whose refused attempts count towards the public rate limit (app/hardening.py)
OWNER_FORMS = frozenset({"public.fund_ledger", "public.vote", "public.meeting", "public.wechat_binding",
                         "public.governance"})


@public.app_template_filter("yuan")
def yuan(value: Decimal | None) -> str:
    """An amount in 元 with thousands separators: 1,234,567.80."""
    return "—" if value is None else f"{value:,.2f}"


def _estate_or_404(estate_id: int) -> Estate:
    estate = db.session.execute(select(Estate).where(Estate.id == estate_id),
                                execution_options=_ACROSS_ESTATES).scalar_one_or_none()
    if estate is None:
        abort(404)
    return estate


def _buildings(estate_id: int) -> list:
    query = select(Building).where(Building.estate_id == estate_id).order_by(Building.code_key, Building.id)
    return db.session.execute(query, execution_options=_ACROSS_ESTATES).scalars().all()


def _refused(message: str) -> str:
    """Mark this request as a refused owner attempt (the rate limit counts those)."""
    g.public_refused = True
    return message


@public.route("/estate/<int:estate_id>/fund")
def fund_notice(estate_id: int):
    """维修资金公开: the period's figures, published plans, vote results and settlements."""
    estate = _estate_or_404(estate_id)
    session = db.session
    months = settings_for(session, estate_id).fund_disclosure_months
    today = clock.today()
    choices = periods(session, estate_id, months, today, _ACROSS_ESTATES)
    period = parse_period(request.args.get("period"), months) or period_of(today, months)
    if period.start > today:
        abort(404)  # nothing of the future is published
    report = disclose(session, estate_id, period, _ACROSS_ESTATES)
    applications = published_applications(session, estate_id, _ACROSS_ESTATES)
    settlements = apportionments(session, [p.application.id for p in applications if p.application.disclosed_on],
                                 _ACROSS_ESTATES)
    page_url = request.url_root.rstrip("/") + url_for("public.fund_notice", estate_id=estate_id)
    qr = segno.make(page_url, error="m").svg_inline(scale=3, title="扫码查看本公示")
    return render_template("public/fund.html", estate=estate, report=report, choices=choices, period=period,
                           applications=applications, settlements=settlements, today=today, qr=qr)


@public.route("/estate/<int:estate_id>/fund/ledger", methods=["GET", "POST"])
def fund_ledger(estate_id: int):
    """An owner's own 分户账: 楼栋 + 房号 + the last six characters of an owner's 证件号码."""
    estate = _estate_or_404(estate_id)
    buildings = _buildings(estate_id)
    form = {"building": request.form.get("building", ""), "room": request.form.get("room", "").strip()}
    entries, unit, error = None, None, None
    if request.method == "POST":
        unit, proven = _proven_owners(estate_id, form["building"], form["room"], request.form.get("id_suffix", ""))
        if not proven:
            unit, error = None, _refused(LOOKUP_REFUSED)
        else:
            entries = unit_entries(db.session, unit.id, _ACROSS_ESTATES)
    balance = sum((e.amount for e in entries), Decimal("0.00")) if entries is not None else None
    running, total = [], Decimal("0.00")
    for entry in entries or []:
        total += entry.amount
        running.append((entry, total))
    settings = db.session.execute(select(Settings), execution_options=_ACROSS_ESTATES).scalar_one()
    first = sum((e.amount for e in entries or [] if e.kind == "deposit"), Decimal("0.00"))
    warn = entries is not None and first > 0 and balance * 100 < first * settings.fund_top_up_percent
    names = {b.id: b.name for b in buildings}
    return render_template("public/fund_ledger.html", estate=estate, buildings=buildings, form=form, unit=unit,
                           unit_label=f"{names.get(unit.building_id, '')} {unit.room_no}" if unit else "",
                           rows=running, balance=balance, warn=warn, percent=settings.fund_top_up_percent,
                           kinds=ENTRY_KINDS, error=error), (400 if error else 200)


def _proven_owners(estate_id: int, building: str, room: str, id_suffix: str) -> tuple[Unit | None, list[int]]:
    """The unit and those of its owners whose 证件号码 ends in ``id_suffix`` (six characters):
    how an owner proves who they are on the public board. Nothing is proven: (None, [])."""
    suffix = id_suffix.strip().upper()
    unit = _unit(estate_id, building, room)
    if unit is None or len(suffix) != 6:
        return None, []
    holders = db.session.execute(
        select(Owner.id, Owner.id_number).join(UnitOwnership, UnitOwnership.owner_id == Owner.id)
        .where(UnitOwnership.unit_id == unit.id), execution_options=_ACROSS_ESTATES).all()
    # every holder is compared (no early exit): the answer takes as long whichever matched
    proven = [owner_id for owner_id, number in holders
              if secrets.compare_digest(number.strip().upper()[-6:].encode(), suffix.encode())]
    return (unit, proven) if proven else (None, [])


def _unit(estate_id: int, building: str, room: str):
    if row_id(building) is None or not room:
        return None
    return db.session.execute(
        select(Unit).where(Unit.estate_id == estate_id, Unit.building_id == row_id(building), Unit.room_no == room),
        execution_options=_ACROSS_ESTATES,
    ).scalar_one_or_none()


@public.route("/vote/<int:application_id>", methods=["GET", "POST"])
def vote(application_id: int):
    """业主电子投票: the unit, the 电子投票码 printed on its 表决票, and the choice."""
    session = db.session
    app = session.execute(select(FundApplication).where(FundApplication.id == application_id),
                          execution_options=_ACROSS_ESTATES).scalar_one_or_none()
    if app is None or app.state not in PUBLISHED_PLAN_STATES or app.category == "emergency":
        abort(404)  # only a published plan has a vote page
    limit_request_to(app.estate_id)
    published = next(p for p in published_applications(session, app.estate_id, _ACROSS_ESTATES) if p.application.id == app.id)
    form = {"building": request.form.get("building", ""), "room": request.form.get("room", "").strip(),
            "choice": request.form.get("choice", "")}
    error = done = None
    if request.method == "POST":
        unit = _unit(app.estate_id, form["building"], form["room"])
        try:
            if form["choice"] not in BALLOT_CHOICES.codes:
                raise Refused("请选择表决意见：同意、反对或弃权")
            if unit is None:
                raise Refused(VOTE_REFUSED)
            ballot = cast_ballot(session, app, unit.id, form["choice"], channel="electronic",
                                 code=request.form.get("code", ""), recorded_by="业主电子投票")
            units, area = covered_by(session, ballot)
            session.commit()
        except Refused as refused:
            session.rollback()
            error = _refused(VOTE_REFUSED if str(refused) in (NOT_ON_ROLL, WRONG_CODE) else str(refused))
        else:
            done = (f"投票成功：表决意见「{BALLOT_CHOICES.label(form['choice'])}」已记录，计入您在本次表决范围内的"
                    f"全部 {units} 套房屋（{area} ㎡），计为一人。")
    return render_template(
        "public/vote.html", app=app, published=published, estate=_estate_or_404(app.estate_id),
        buildings=_buildings(app.estate_id), form=form, choices=BALLOT_CHOICES, state=STATES.label(app.state),
        error=error, done=done,
    ), (400 if error else 200)


def _meeting_rules(found: OwnersMeeting) -> dict[int, str]:
    """Each matter's threshold in words: fixed when voting opened, else the one that will apply."""
    district_id = found.estate.community.street.district_id
    return {m.id: (m.rule() if m.rule_quorum else rule_for(db.session, district_id, m.matter)).describe()
            for m in found.matters}


@public.route("/meeting/<int:meeting_id>", methods=["GET", "POST"])
def meeting(meeting_id: int):
    """业主大会会议公告: the notice and agenda, each matter's result once counted, and while
    voting the electronic ballot for the whole agenda (the unit, the 电子投票码, a choice on
    every matter)."""
    session = db.session
    found = session.execute(
        select(OwnersMeeting).options(
            joinedload(OwnersMeeting.matters).joinedload(MeetingMatter.candidates).joinedload(Candidate.owner),
            joinedload(OwnersMeeting.matters).joinedload(MeetingMatter.company),
            joinedload(OwnersMeeting.matters).joinedload(MeetingMatter.document),
            joinedload(OwnersMeeting.matters).joinedload(MeetingMatter.fund_application),
        ).where(OwnersMeeting.id == meeting_id),
        execution_options=_ACROSS_ESTATES).unique().scalar_one_or_none()
    if found is None or found.state not in assembly.PUBLIC_STATES:
        abort(404)  # a draft is not published
    limit_request_to(found.estate_id)
    choices, approvals = agenda_choices(found, request.form), agenda_approvals(found, request.form)
    form = {"building": request.form.get("building", ""), "room": request.form.get("room", "").strip(),
            **{f"choice_{matter_id}": choice for matter_id, choice in choices.items()}}
    error = done = None
    if request.method == "POST":
        unit = _unit(found.estate_id, form["building"], form["room"])
        try:
            if unit is None:
                raise Refused(VOTE_REFUSED)
            ballot = assembly.cast_agenda(session, found, unit.id, choices, channel="electronic",
                                          code=request.form.get("code", ""), recorded_by="业主电子投票",
                                          approvals=approvals)
            units, area = assembly.covered_by(session, ballot)
            session.commit()
        except Refused as refused:
            session.rollback()
            plain = str(refused) in (assembly.NOT_ON_ROLL, assembly.WRONG_CODE)
            error = _refused(VOTE_REFUSED if plain else str(refused))
        else:
            done = (f"投票成功：您对 {len(found.matters)} 个事项的表决意见已记录，计入您在本小区的"
                    f"全部 {units} 套房屋（{area} ㎡），计为一人。")
    results = {r.matter_id: r for r in session.execute(
        select(MatterResult).where(MatterResult.meeting_id == found.id), execution_options=_ACROSS_ESTATES).scalars()}
    return render_template(
        "public/meeting.html", meeting=found, estate=_estate_or_404(found.estate_id),
        buildings=_buildings(found.estate_id), form=form, choices=BALLOT_CHOICES, matters=MATTERS, rules=_meeting_rules(found),
        results=results, chosen=approvals, nominations=NOMINATIONS, billing_modes=BILLING_MODES,
        elections={m.id: standings_of(session, m, _ACROSS_ESTATES) for m in found.matters
                   if m.is_election and found.state == "counted"},
        state=assembly.STATES.label(found.state), kind=assembly.KINDS.label(found.kind),
        convener=assembly.CONVENERS.label(found.convener),
        reason=assembly.REASONS.label(found.reason) if found.reason else "",
        meeting_form=assembly.FORMS.label(found.form), error=error, done=done,
    ), (400 if error else 200)


@public.route("/estate/<int:estate_id>/governance", methods=["GET", "POST"])
def governance(estate_id: int):
    """业主自治公示: the 筹备组 of the first assembly once its members are announced (指导规则第十二条)
    with the owners' roll it confirmed (第十三条), and the 管理规约 and 议事规则 in force, with the
    versions before them and the decisions that adopted them."""
    estate = _estate_or_404(estate_id)
    limit_request_to(estate_id)
    groups = db.session.execute(
        select(PreparatoryGroup).options(joinedload(PreparatoryGroup.members))
        .where(PreparatoryGroup.estate_id == estate_id, PreparatoryGroup.state.not_in(("applied", "formed")))
        .order_by(PreparatoryGroup.applied_on.desc()), execution_options=_ACROSS_ESTATES).unique().scalars().all()
    documents = db.session.execute(
        select(GoverningDocument).options(joinedload(GoverningDocument.adopted_by).joinedload(MeetingMatter.meeting))
        .where(GoverningDocument.estate_id == estate_id, GoverningDocument.state != "draft")
        .order_by(GoverningDocument.kind, GoverningDocument.version.desc()),
        execution_options=_ACROSS_ESTATES).scalars().all()
    form = {"building": request.form.get("building", ""), "room": request.form.get("room", "").strip(),
            "document": request.form.get("document", ""), "content": request.form.get("content", "").strip()}
    error = done = None
    if request.method == "POST":
        error, done = _comment_on_draft(estate_id, form)
    drafts = db.session.execute(
        select(GoverningDocument).options(selectinload(GoverningDocument.comments))
        .where(GoverningDocument.estate_id == estate_id, GoverningDocument.state == "draft",
               GoverningDocument.comment_until.is_not(None))
        .order_by(GoverningDocument.comment_until.desc(), GoverningDocument.id),
        execution_options=_ACROSS_ESTATES).scalars().all()
    return render_template("public/governance.html", estate=estate, groups=groups, documents=documents, drafts=drafts,
                           buildings=_buildings(estate_id), form=form, error=error, done=done, today=clock.today(),
                           sides=SIDES, group_states=GROUP_STATES, kinds=DOCUMENT_KINDS, document_states=DOCUMENT_STATES,
                           comment_limit=COMMENT_LIMIT), (400 if error else 200)


#: the longest comment an owner may send from the board, and how many on one draft (more go on paper)
COMMENT_LIMIT, COMMENTS_PER_OWNER = 1000, 5


def _comment_on_draft(estate_id: int, form: dict[str, str]) -> tuple[str | None, str | None]:
    """An owner's comment on a draft out for comment: (error, confirmation)."""
    document_id = row_id(form["document"])
    document = db.session.execute(
        select(GoverningDocument).where(GoverningDocument.id == document_id, GoverningDocument.estate_id == estate_id),
        execution_options=_ACROSS_ESTATES).scalar_one_or_none() if document_id else None
    if document is None or not document.open_for_comment(clock.today()):
        return NOT_UNDER_COMMENT, None
    if not form["content"]:
        return "请填写意见内容", None
    if len(form["content"]) > COMMENT_LIMIT:
        return f"意见内容不能超过 {COMMENT_LIMIT} 字，现为 {len(form['content'])} 字", None
    _unit_found, proven = _proven_owners(estate_id, form["building"], form["room"], request.form.get("id_suffix", ""))
    if not proven:
        return _refused(LOOKUP_REFUSED), None
    made = db.session.scalar(select(func.count()).select_from(DraftComment).where(
        DraftComment.document_id == document.id, DraftComment.owner_id.in_(proven), DraftComment.channel == "online"),
        execution_options=_ACROSS_ESTATES)
    if made >= COMMENTS_PER_OWNER:
        return (f"您已在网上对该草案提出 {made} 条意见（每位业主最多 {COMMENTS_PER_OWNER} 条），"
                "如需补充，请书面交给召集人"), None
    db.session.add(DraftComment(document_id=document.id, owner_id=proven[0], channel="online",
                                submitted_on=clock.today(), content=form["content"]))
    db.session.commit()
    form["content"] = ""
    return None, f"已收到您对「{document.title}」的意见。答复后将在本页公示（不显示姓名）。"


# -- WeChat: an owner binds the WeChat they opened this page in, to receive notices there ----------

#: the openid WeChat confirmed for this browser (kept in the signed session cookie)
WECHAT_OPENID = "wechat_openid"


@public.context_processor
def _channels() -> dict[str, bool]:
    return {"wechat_on": wechat.configured()}


@public.route("/estate/<int:estate_id>/wechat", methods=["GET", "POST"])
def wechat_binding(estate_id: int):
    """绑定微信: WeChat confirms which WeChat user opened the page (网页授权, app/wechat.py), the
    owner proves the unit like every owner form here, and the estate's notices to them (fee
    standards, votes, arrears) then also go to that WeChat. Unbinding takes one click."""
    estate = _estate_or_404(estate_id)
    if not wechat.configured():
        abort(404)
    limit_request_to(estate_id)  # whatever is read or written here is this estate's
    openid = browser_session.get(WECHAT_OPENID)
    if openid is None:
        return _through_wechat(estate)
    form = {"building": request.form.get("building", ""), "room": request.form.get("room", "").strip()}
    error = done = None
    if request.method == "POST" and request.form.get("action") == "unbind":
        # this estate's bindings only (the request is limited to it), one by one: each is in the 操作日志
        for binding in db.session.execute(select(WeChatBinding).where(WeChatBinding.openid == openid)).scalars():
            db.session.delete(binding)
        db.session.commit()
        done = "已解除绑定：本微信不再收到本小区的通知。"
    elif request.method == "POST":
        _unit_found, proven = _proven_owners(estate_id, form["building"], form["room"],
                                             request.form.get("id_suffix", ""))
        if not proven:
            error = _refused(LOOKUP_REFUSED)
        else:
            known = set(db.session.execute(select(WeChatBinding.owner_id).where(
                WeChatBinding.openid == openid, WeChatBinding.owner_id.in_(proven))).scalars())
            db.session.add_all(WeChatBinding(owner_id=owner_id, openid=openid) for owner_id in proven
                               if owner_id not in known)
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()  # the same binding, sent twice at once: the other request made it
            done = "绑定成功：本小区的收费标准公示、业主表决和欠费提醒今后也将通过微信发给您。"
    bound = db.session.scalar(select(func.count()).select_from(WeChatBinding).where(WeChatBinding.openid == openid))
    return render_template("public/wechat.html", estate=estate, buildings=_buildings(estate_id), form=form,
                           bound=bound, error=error, done=done), (400 if error else 200)


def _through_wechat(estate: Estate):
    """Off to WeChat's 网页授权 and back with a code, which names the WeChat user (openid)."""
    estate_id = estate.id
    here = url_for("public.wechat_binding", estate_id=estate_id)
    public_url = os.environ.get("PUBLIC_URL", "").rstrip("/")
    code, state = request.args.get("code"), request.args.get("state", "")
    if code is None:
        browser_session["wechat_state"] = secrets.token_urlsafe(16)
        return redirect(wechat.authorize_url((public_url + here) if public_url else url_for(
            "public.wechat_binding", estate_id=estate_id, _external=True), browser_session["wechat_state"]))
    expected = browser_session.pop("wechat_state", "")
    if not expected or not secrets.compare_digest(state.encode(), expected.encode()):
        return _wechat_problem(estate, "页面已过期，请在微信中重新打开「绑定微信」。", 400)
    try:
        browser_session[WECHAT_OPENID] = wechat.openid_from_code(code)
    except wechat.WeChatFailed:
        return _wechat_problem(estate, "微信暂时无法确认您的身份，请稍后在微信中重新打开本页面。", 503)
    return redirect(here)  # the code is used once: it leaves the address bar


def _wechat_problem(estate: Estate, message: str, status: int):
    return render_template("public/wechat.html", estate=estate, buildings=[], form={},
                           bound=0, error=message, done=None, unavailable=True), status
