"""Messages that leave the product: e-mail to a local SMTP server, SMS to a local HTTP server that
checks each request's signature the way Aliyun and Tencent Cloud document it. Quiet hours, the
daily limit per address, retries and 死信, templates in a sandbox."""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from app import outbox
from app.extensions import db
from models import clock
from models.audit import AuditLog
from models.estate import Estate
from models.fees import FEE_STANDARD_FLOW, FeeItem, FeeStandard, FeeStandardLine
from models.outbox import Delivery, MessageTemplate
from models.people import Owner
from models.rules import violations
from models.settings import Settings
from tests.live import free_port

SECRET, KEY_ID = "test-secret-不外传", "test-key-id"
#: 10:00 in Beijing: outside the default quiet hours (22:00–08:00)
MORNING = dt.datetime(2027, 3, 15, 2, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def _an_empty_outbox(request):
    """The demo's three deliveries are left out: each test counts what it sends itself."""
    if "app" in request.fixturenames:
        with request.getfixturevalue("app").app_context():
            db.session.execute(Delivery.__table__.delete())
            db.session.commit()


# -- the signatures, against the providers' own documented examples -----------------------------

def test_the_aliyun_signature_matches_the_example_in_aliyuns_sms_documentation():
    params = {"SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
              "AccessKeyId": "testId", "SignatureVersion": "1.0", "Timestamp": "2017-07-12T02:42:19Z",
              "Format": "XML", "Action": "SendSms", "Version": "2017-05-25", "RegionId": "cn-hangzhou",
              "PhoneNumbers": "15300000001", "SignName": "阿里云短信测试专用",
              "TemplateParam": '{"customer":"test"}', "TemplateCode": "SMS_71390007", "OutId": "123"}
    assert outbox.aliyun_signature(params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_the_tc3_signature_matches_the_example_in_tencent_clouds_api_documentation():
    payload = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    signature = outbox.tc3_signature("Gu5t9xGARNpq86cd98joQYCN3*******", "cvm", "cvm.tencentcloudapi.com",
                                     payload, 1551113065)
    assert signature == "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"


# -- local servers standing in for the providers ---------------------------------------------------

class Provider:
    """A local HTTP server answering like the provider: OK for a correctly signed request."""

    def __init__(self, kind: str, fail: bool = False):
        self.kind, self.fail, self.received, self.rejected = kind, fail, [], 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _answer(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # Aliyun: the signed parameters in the query string
                params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                signature = params.pop("Signature", "")
                valid = signature == outbox.aliyun_signature(params, SECRET) and params["AccessKeyId"] == KEY_ID
                provider.record(valid, params["PhoneNumbers"], json.loads(params["TemplateParam"]))
                ok = valid and not provider.fail
                self._answer({"Code": "OK" if ok else ("isv.BUSINESS_LIMIT_CONTROL" if valid else
                                                       "SignatureDoesNotMatch"), "Message": "test"})

            def do_POST(self):  # Tencent: JSON body, TC3 Authorization header
                payload = self.rfile.read(int(self.headers["Content-Length"])).decode()
                expected = outbox.tc3_signature(SECRET, "sms", self.headers["Host"], payload,
                                                int(self.headers["X-TC-Timestamp"]))
                valid = (self.headers["X-TC-Action"] == "SendSms"
                         and self.headers["Authorization"].endswith(f"Signature={expected}")
                         and f"Credential={KEY_ID}/" in self.headers["Authorization"])
                body = json.loads(payload)
                provider.record(valid, body["PhoneNumberSet"][0], body["TemplateParamSet"])
                if not valid:
                    self._answer({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad"}}})
                else:
                    code = "LimitExceeded.PhoneNumberDailyLimit" if provider.fail else "Ok"
                    self._answer({"Response": {"SendStatusSet": [{"Code": code, "Message": "test"}]}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"

    def record(self, valid: bool, mobile: str, params) -> None:
        if valid:
            self.received.append((mobile, params))
        else:
            self.rejected += 1

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(params=["aliyun", "tencent"])
def sms(request, monkeypatch, app):
    provider = Provider(request.param)
    for name, value in {"SMS_PROVIDER": request.param, "SMS_ACCESS_KEY_ID": KEY_ID, "SMS_ACCESS_KEY_SECRET": SECRET,
                        "SMS_SIGN_NAME": "测试物业", "SMS_APP_ID": "1400000000", "SMS_ENDPOINT": provider.url}.items():
        monkeypatch.setenv(name, value)
    with app.app_context():
        for template in db.session.execute(select(MessageTemplate)).scalars():
            template.sms_template_code = f"SMS_{template.key}"
        db.session.commit()
    yield provider
    provider.close()


@pytest.fixture()
def smtp(monkeypatch):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, _server, _session, envelope):
            self.messages.append(envelope)
            return "250 OK"

        def __call__(self):
            return self.messages

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_FROM", "wuye@test.local")
    yield inbox
    controller.stop()


# -- helpers -----------------------------------------------------------------------------------

def _estate() -> Estate:
    return db.session.execute(select(Estate).order_by(Estate.id)).scalars().first()


def _publish_a_standard() -> Estate:
    estate = _estate()
    item = db.session.execute(select(FeeItem).where(FeeItem.code == "WYF")).scalar_one()
    standard = FeeStandard(estate=estate, title="短信测试标准", company_name="测试物业", service_content="清洁绿化",
                           service_standard="二级", basis="业主大会决议", state="approved",
                           effective_from=clock.today() + relativedelta(months=2))
    standard.lines = [FeeStandardLine(item=item, billing_basis="per_area", unit_price=Decimal("2.70"),
                                      price_form="guided", base_price=Decimal("2.50"), float_percent=Decimal("10"))]
    db.session.add(standard)
    db.session.commit()
    FEE_STANDARD_FLOW.fire(db.session, standard, "publish")
    db.session.commit()
    return estate


def _owner_mobiles(estate: Estate) -> set[str]:
    return set(db.session.execute(select(Owner.mobile).where(
        Owner.estate_id == estate.id, Owner.mobile.is_not(None), Owner.is_developer.is_(False))).scalars())


def _deliver() -> int:
    from app.jobs import _scheduled

    with _scheduled():
        return outbox.deliver_due()


# -- SMS to owners -----------------------------------------------------------------------------

def test_a_published_fee_standard_is_texted_once_to_each_owner_mobile_correctly_signed(app, ctx, sms):
    with time_machine.travel(MORNING, tick=False):
        estate = _publish_a_standard()
        mobiles = _owner_mobiles(estate)
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == len(mobiles) > 0
        while _deliver():
            pass
    assert sms.rejected == 0 and {mobile.removeprefix("+86") for mobile, _ in sms.received} == mobiles
    assert len(sms.received) == len(mobiles)
    states = set(db.session.execute(select(Delivery.state)).scalars())
    assert states == {"sent"}


def test_an_announced_owners_meeting_is_texted_once_to_each_owner_with_its_voting_dates(app, ctx, sms):
    from models.owners_assembly import MEETING_FLOW, MeetingMatter, OwnersMeeting

    estate = _estate()
    vote_from = clock.today() + dt.timedelta(days=15)
    meeting = OwnersMeeting(estate_id=estate.id, title="短信测试会议", kind="regular", form="written",
                            vote_from=vote_from, vote_until=vote_from + dt.timedelta(days=7),
                            matters=[MeetingMatter(position=1, matter="covenant", title="修订管理规约")])
    db.session.add(meeting)
    db.session.flush()
    MEETING_FLOW.fire(db.session, meeting, "announce")
    sent = db.session.execute(select(Delivery.address, Delivery.body).where(
        Delivery.template_key == "meeting_announced", Delivery.channel == "sms")).all()
    assert {address for address, _body in sent} == _owner_mobiles(estate) and len(sent) == len(_owner_mobiles(estate))
    assert all(f"{vote_from:%Y年%m月%d日}" in body and "短信测试会议" in body for _address, body in sent)


def test_owners_told_of_a_meeting_are_told_when_it_is_cancelled_with_the_reason(app, ctx, sms):
    from models.owners_assembly import MEETING_FLOW, MeetingMatter, OwnersMeeting

    estate = _estate()
    vote_from = clock.today() + dt.timedelta(days=15)
    meetings = [OwnersMeeting(estate_id=estate.id, title=title, kind="regular", form="written", vote_from=vote_from,
                              vote_until=vote_from + dt.timedelta(days=7),
                              matters=[MeetingMatter(position=1, matter="covenant", title="修订管理规约")])
                for title in ("已公告后取消的会议", "草拟时取消的会议")]
    db.session.add_all(meetings)
    db.session.flush()
    MEETING_FLOW.fire(db.session, meetings[0], "announce")
    MEETING_FLOW.fire(db.session, meetings[0], "cancel", comment="议程需补充修订对照表")
    MEETING_FLOW.fire(db.session, meetings[1], "cancel", comment="重复创建")  # owners never heard of it
    bodies = db.session.execute(select(Delivery.body).where(
        Delivery.template_key == "meeting_cancelled", Delivery.channel == "sms")).scalars().all()
    assert len(bodies) == len(_owner_mobiles(estate))
    assert all("已公告后取消的会议" in body and "议程需补充修订对照表" in body for body in bodies)


def test_the_text_names_the_estate_and_the_date_and_no_person(app, ctx, sms):
    with time_machine.travel(MORNING, tick=False):
        estate = _publish_a_standard()
        names = set(db.session.execute(select(Owner.name).where(Owner.estate_id == estate.id)).scalars())
        body = db.session.execute(select(Delivery.body)).scalars().first()
    assert estate.name in body and "短信测试标准" in body
    assert not any(name in body for name in names)


def test_nothing_is_sent_in_quiet_hours_and_it_goes_out_when_they_end(app, ctx, sms):
    night = dt.datetime(2027, 3, 15, 15, 0, tzinfo=dt.timezone.utc)  # 23:00 in Beijing
    with time_machine.travel(night, tick=False):
        _publish_a_standard()
        assert _deliver() == 0 and sms.received == []
    with time_machine.travel(night + dt.timedelta(hours=9), tick=False):  # 08:00
        assert _deliver() > 0


def test_a_failed_send_is_retried_with_growing_pauses_and_ends_as_dead_letter(app, ctx, sms):
    sms.fail = True
    with time_machine.travel(MORNING, tick=False) as traveller:
        _publish_a_standard()
        first = db.session.execute(select(Delivery).order_by(Delivery.id)).scalars().first()
        db.session.execute(Delivery.__table__.delete().where(Delivery.id != first.id))  # one is enough here
        db.session.commit()
        pauses = []
        for _ in range(5):
            _deliver()
            db.session.refresh(first)
            if first.state == "pending":
                pauses.append(round((first.next_attempt_at - clock.utc_now()).total_seconds()))
                traveller.shift(dt.timedelta(seconds=pauses[-1]))
    assert pauses == [60, 300, 1800, 7200]
    assert first.state == "dead" and first.attempts == 5 and "LIMIT" in first.last_error.upper()


def test_an_address_gets_at_most_the_daily_limit_and_the_rest_waits(app, ctx, sms):
    with time_machine.travel(MORNING, tick=False):
        Settings.current(db.session).messages_per_day = 1
        db.session.commit()
        _publish_a_standard()
        address = db.session.execute(select(Delivery.address)).scalars().first()
        outbox.queue_messages(db.session, "fee_standard_published", [("sms", address)],
                              {"estate": "甲", "standard": "乙", "effective_from": "丙"})
        db.session.commit()
        while _deliver():
            pass
        waiting = db.session.execute(select(Delivery).where(Delivery.address == address,
                                                            Delivery.state == "pending")).scalar_one()
    assert "每人每日上限 1 条" in waiting.last_error
    assert [mobile.removeprefix("+86") for mobile, _ in sms.received].count(address) == 1


def test_without_a_configured_provider_nothing_is_queued(app, ctx):
    with time_machine.travel(MORNING, tick=False):
        _publish_a_standard()
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_each_send_is_in_the_audit_log_with_the_address_masked(app, ctx, sms):
    with time_machine.travel(MORNING, tick=False):
        _publish_a_standard()
        address = db.session.execute(select(Delivery.address).order_by(Delivery.id)).scalars().first()
        _deliver()
        logged = db.session.execute(select(AuditLog).where(AuditLog.table_name == "delivery")).scalars().all()
    sends = [entry for entry in logged if entry.action == "update"]  # 待发送 → 已发送, one per message
    assert len(sends) == db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == "sent"))
    assert sends and all(entry.username == "定时任务" for entry in sends)
    assert not any(address in (entry.new_values or "") + (entry.old_values or "") for entry in logged)


# -- e-mail --------------------------------------------------------------------------------------

def test_the_daily_reminder_is_also_mailed_to_people_with_an_address(app, smtp):
    from app import jobs
    from app.reminders import schedule_daily_reminders

    with app.app_context():
        manager = app.appbuilder.sm.find_user("manager_a")
        address = manager.email
    assert address
    with time_machine.travel(MORNING, tick=False), app.app_context():
        with jobs._scheduled():
            schedule_daily_reminders()
        _deliver()
    mailed = {envelope.rcpt_tos[0]: envelope for envelope in smtp()}
    assert address in mailed and b"Subject:" in mailed[address].content


# -- templates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body, problem", [
    ("{{ estate }}的{{ owner_name }}", "只能使用本用途的变量：estate、standard、effective_from"),
    ("{{ estate ", "模板写法有误"),
    ("{{ estate.__class__.__mro__ }}", "模板中含有不允许的操作"),
])
def test_a_template_is_checked_in_the_sandbox_when_saved(app, ctx, body, problem):
    found = violations(MessageTemplate, {"key": "fee_standard_published", "subject": "标题", "body": body})
    assert any(problem in message for _field, message in found), found


# -- owners in arrears -------------------------------------------------------------------------

def _a_household_in_arrears(mobile: str):
    """A unit with overdue bills whose one owner now has ``mobile``; returns (unit, amount owed)."""
    from models.estate import Unit
    from models.fees import Bill, arrears_before
    from models.people import UnitOwnership

    cutoff = arrears_before(clock.today(), Settings.current(db.session).arrears_notice_days)
    owed = (select(Bill.unit_id, func.sum(Bill.outstanding).label("owed"))
            .where(Bill.outstanding > 0, Bill.period < cutoff, Bill.unit_id.is_not(None)).group_by(Bill.unit_id))
    for unit_id, amount in db.session.execute(owed.order_by(Bill.unit_id)):
        owners = db.session.execute(select(UnitOwnership).where(UnitOwnership.unit_id == unit_id)).scalars().all()
        if len(owners) == 1 and not owners[0].owner.is_developer and len(owners[0].owner.ownerships) == 1:
            owners[0].owner.mobile = mobile
            db.session.commit()
            return db.session.get(Unit, unit_id), amount
    raise AssertionError("the demo data has no household in arrears with one owner")


def test_an_owner_in_arrears_is_texted_the_units_and_the_exact_amount_once_per_period(app, ctx, sms):
    from app.reminders import tell_owners_in_arrears

    with time_machine.travel(MORNING, tick=False) as traveller:
        unit, amount = _a_household_in_arrears("13912345678")
        assert tell_owners_in_arrears(db.session) > 0
        db.session.commit()
        letter = db.session.execute(select(Delivery).where(Delivery.address == "13912345678")).scalar_one()
        assert json.loads(letter.params)["amount"] == f"{amount:.2f}"
        assert f"{unit.building.name} {unit.room_no}" in letter.body and f"{amount:.2f} 元" in letter.body
        traveller.shift(dt.timedelta(days=1))
        tell_owners_in_arrears(db.session)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.address == "13912345678")) == 1


def test_read_messages_and_finished_deliveries_are_forgotten_after_the_retention_period(app, ctx):
    from models.jobs import Notification, notify

    user = app.appbuilder.sm.find_user("manager_a")
    old = clock.utc_now() - dt.timedelta(days=181)
    read_long_ago, unread_long_ago, read_lately = (notify(db.session, user.id, title) for title in ("甲", "乙", "丙"))
    read_long_ago.read_at, unread_long_ago.created_at = old, old
    read_lately.read_at = clock.utc_now() - dt.timedelta(days=179)
    for state in ("sent", "dead", "pending"):
        db.session.add(Delivery(channel="sms", address="13800000000", template_key="vote_opened", body="x",
                                state=state, created_at=old))
    db.session.commit()
    assert outbox.forget_old_messages() == 3
    db.session.commit()
    assert set(db.session.execute(select(Notification.title)).scalars()) == {"乙", "丙"}
    assert set(db.session.execute(select(Delivery.state)).scalars()) == {"pending"}


def test_a_request_signed_with_the_wrong_secret_is_refused_by_the_provider(app, ctx, sms, monkeypatch):
    monkeypatch.setenv("SMS_ACCESS_KEY_SECRET", "not-the-secret")
    with time_machine.travel(MORNING, tick=False):
        _publish_a_standard()
        _deliver()
    failed = db.session.execute(select(Delivery).order_by(Delivery.id)).scalars().first()
    assert sms.received == [] and sms.rejected > 0
    assert failed.state == "pending" and failed.attempts == 1
    assert "SignatureDoesNotMatch" in failed.last_error or "AuthFailure" in failed.last_error
