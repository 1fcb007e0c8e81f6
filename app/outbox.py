"""The outbox: e-mail over SMTP, SMS through Aliyun or Tencent Cloud and WeChat template
messages (app/wechat.py), each off until configured.

Messages are written as :class:`models.outbox.Delivery` rows in the transaction of what they
announce (a fee standard published, a vote opened, the daily reminder), rendered from the
administrator's templates in a Jinja sandbox, and sent by the job consumer's minute schedule:

* never in quiet hours (系统设置, default 22:00–08:00 Beijing time): held until they end;
* at most 「每人每日短信/邮件上限」 per address in 24 hours: the rest wait for the next day;
* a failure is tried again after 1 min, 5 min, 30 min, 2 h; after the fifth it is 死信
  (系统管理 → 消息发送记录, filter 状态), with the provider's answer kept as its reason.

Both SMS providers are called through their documented HTTP APIs, requests signed as their
documentation says (Aliyun RPC signature v1, HMAC-SHA1; Tencent Cloud API 3.0, TC3-HMAC-SHA256);
the signing functions are checked against the documents' own examples (tests/test_outbox.py).
We sign ourselves rather than add the vendors' SDKs: each is a dozen packages for one request.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import smtplib
import uuid
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import Request, urlopen

from sqlalchemy import func, insert, literal, select

from app import wechat
from app.jobs import every_minute
from models import clock
from models.outbox import TEMPLATE_VARIABLES, Delivery, MessageTemplate, WeChatBinding, render, wechat_fields
from models.settings import Settings

log = logging.getLogger(__name__)

#: pauses before the 2nd … 5th attempt; after the 5th failure a delivery is 死信
RETRY_PAUSES = (60, 300, 1800, 7200)
#: deliveries sent per minute by one consumer (a provider's own rate limits are far higher)
BATCH = 200
TIMEOUT = 15

class DeliveryFailed(Exception):
    """A provider refused or could not be reached; the message is the reason kept."""


# -- channels --------------------------------------------------------------------------------

def email_configured() -> bool:
    return bool(os.environ.get("SMTP_HOST"))


def sms_provider() -> str | None:
    provider = os.environ.get("SMS_PROVIDER", "").strip().lower()
    return provider if provider in ("aliyun", "tencent") else None


def send_email(address: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = os.environ.get("SMTP_FROM", "wuye@localhost")
    message["To"] = address
    message["Subject"] = subject
    message.set_content(body)
    host, port = os.environ["SMTP_HOST"], int(os.environ.get("SMTP_PORT", "25"))
    use_ssl = os.environ.get("SMTP_SSL", "") in ("1", "true", "yes", "on")
    try:
        with (smtplib.SMTP_SSL if use_ssl else smtplib.SMTP)(host, port, timeout=TIMEOUT) as smtp:
            if os.environ.get("SMTP_STARTTLS", "") in ("1", "true", "yes", "on"):
                smtp.starttls()
            if os.environ.get("SMTP_USER"):
                smtp.login(os.environ["SMTP_USER"], os.environ.get("SMTP_PASSWORD", ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryFailed(f"邮件服务器：{error}") from error


def aliyun_signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    """Aliyun RPC signature v1: HMAC-SHA1 over the sorted, percent-encoded parameters."""
    def encode(text: str) -> str:
        return quote(text, safe="~")

    canonical = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{encode('/')}&{encode(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def tc3_signature(secret_key: str, service: str, host: str, payload: str, timestamp: int,
                  content_type: str = "application/json; charset=utf-8") -> str:
    """Tencent Cloud API 3.0 (TC3-HMAC-SHA256) over a POST of ``payload`` signing content-type and host."""
    canonical = ("POST\n/\n\n" f"content-type:{content_type}\nhost:{host}\n\ncontent-type;host\n"
                 + hashlib.sha256(payload.encode()).hexdigest())
    day = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d")
    to_sign = (f"TC3-HMAC-SHA256\n{timestamp}\n{day}/{service}/tc3_request\n"
               + hashlib.sha256(canonical.encode()).hexdigest())

    def step(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    signing = step(step(step(f"TC3{secret_key}".encode(), day), service), "tc3_request")
    return hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()


def _http(request: Request) -> dict[str, Any]:
    try:
        with urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - the configured provider's https URL
            return json.loads(answer.read().decode("utf-8"))
    except (OSError, ValueError) as error:
        raise DeliveryFailed(f"短信服务商无法访问：{error}") from error


def send_sms_aliyun(mobile: str, template_code: str, variables: dict[str, str]) -> None:
    env = os.environ
    params = {
        "AccessKeyId": env["SMS_ACCESS_KEY_ID"], "Action": "SendSms", "Format": "JSON",
        "PhoneNumbers": mobile, "RegionId": env.get("SMS_REGION", "cn-hangzhou"),
        "SignName": env["SMS_SIGN_NAME"], "SignatureMethod": "HMAC-SHA1", "SignatureNonce": uuid.uuid4().hex,
        "SignatureVersion": "1.0", "TemplateCode": template_code,
        "TemplateParam": json.dumps(variables, ensure_ascii=False),
        "Timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25",
    }
    params["Signature"] = aliyun_signature(params, env["SMS_ACCESS_KEY_SECRET"])
    endpoint = env.get("SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
    answer = _http(Request(endpoint + "?" + urlencode(params, quote_via=quote)))
    if answer.get("Code") != "OK":
        raise DeliveryFailed(f"阿里云短信：{answer.get('Code')} {answer.get('Message', '')}".strip())


def send_sms_tencent(mobile: str, template_code: str, variables: dict[str, str]) -> None:
    env = os.environ
    endpoint = env.get("SMS_ENDPOINT", "https://sms.tencentcloudapi.com/")
    host = urlsplit(endpoint).netloc
    payload = json.dumps({
        "PhoneNumberSet": [mobile if mobile.startswith("+") else f"+86{mobile}"],
        "SmsSdkAppId": env["SMS_APP_ID"], "SignName": env["SMS_SIGN_NAME"], "TemplateId": template_code,
        "TemplateParamSet": list(variables.values()),
    }, ensure_ascii=False)
    timestamp = int(dt.datetime.now(dt.timezone.utc).timestamp())
    signature = tc3_signature(env["SMS_ACCESS_KEY_SECRET"], "sms", host, payload, timestamp)
    day = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d")
    headers = {
        "Content-Type": "application/json; charset=utf-8", "Host": host, "X-TC-Action": "SendSms",
        "X-TC-Version": "2021-01-11", "X-TC-Timestamp": str(timestamp), "X-TC-Region": env.get("SMS_REGION", "ap-guangzhou"),
        "Authorization": (f"TC3-HMAC-SHA256 Credential={env['SMS_ACCESS_KEY_ID']}/{day}/sms/tc3_request, "
                          f"SignedHeaders=content-type;host, Signature={signature}"),
    }
    answer = _http(Request(endpoint, data=payload.encode(), headers=headers, method="POST")).get("Response", {})
    if "Error" in answer:
        raise DeliveryFailed(f"腾讯云短信：{answer['Error'].get('Code')} {answer['Error'].get('Message', '')}".strip())
    status = (answer.get("SendStatusSet") or [{}])[0]
    if status.get("Code") != "Ok":
        raise DeliveryFailed(f"腾讯云短信：{status.get('Code')} {status.get('Message', '')}".strip())


def send(delivery: Delivery) -> None:
    if delivery.channel == "email":
        send_email(delivery.address, delivery.subject, delivery.body)
        return
    params = json.loads(delivery.params)
    if delivery.channel == "wechat":
        if not wechat.configured():
            raise DeliveryFailed("微信公众号未配置")
        try:
            wechat.send_template(delivery.address, params.pop("_template_id"), params.pop("_fields"),
                                 params.pop("_url", None))
        except wechat.WeChatFailed as failure:
            raise DeliveryFailed(str(failure)) from failure
        return
    provider = sms_provider()
    if provider is None:
        raise DeliveryFailed("短信服务未配置")
    code = params.pop("_template_code")
    (send_sms_aliyun if provider == "aliyun" else send_sms_tencent)(delivery.address, code, params)


# -- writing messages --------------------------------------------------------------------------

def queue_messages(session: Any, key: str, addresses: list[tuple[str, str]], variables: dict[str, Any],
                   estate_id: int | None = None, link: str | None = None) -> int:
    """Deliveries of one message to (channel, address) pairs, in the caller's transaction.
    Channels not configured, and SMS/WeChat without the provider's template, are left out.
    ``link`` is a path of the public board a WeChat message opens (with PUBLIC_URL set)."""
    template = session.execute(select(MessageTemplate).where(MessageTemplate.key == key)).scalar_one_or_none()
    if template is None:
        return 0
    subject, body = render(template.subject, variables), render(template.body, variables)
    # the parameters each open channel sends, by channel: e-mail sends the rendered text only
    params = {"email": "{}"} if email_configured() else {}
    if sms_provider() and template.sms_template_code:
        params["sms"] = json.dumps({"_template_code": template.sms_template_code,
                                    **{name: str(variables[name]) for name in TEMPLATE_VARIABLES[key]}},
                                   ensure_ascii=False)
    if wechat.configured() and template.wechat_template_id and (fields := wechat_fields(template.wechat_fields)):
        public = os.environ.get("PUBLIC_URL", "").rstrip("/")
        params["wechat"] = json.dumps({
            "_template_id": template.wechat_template_id,
            "_fields": {field: str(variables[name]) for field, name in fields.items()},
            **({"_url": public + link} if public and link else {})}, ensure_ascii=False)
    rows = [{"channel": channel, "address": address, "template_key": key, "subject": subject, "body": body,
             "params": params[channel], "estate_id": estate_id, "state": "pending",
             "attempts": 0, "next_attempt_at": clock.utc_now(), "created_at": clock.utc_now()}
            for channel, address in dict.fromkeys(addresses) if channel in params and address]
    if rows:
        session.execute(insert(Delivery), rows)
    return len(rows)


def owner_contacts() -> Any:
    """(owner_id, channel, address) of every owner's registered mobile and bound WeChat: what
    owners' notices are sent to. A developer's (unsold units) are not."""
    from models.people import Owner

    return (select(Owner.id.label("owner_id"), literal("sms").label("channel"), Owner.mobile.label("address"))
            .where(Owner.is_developer.is_(False), Owner.mobile.is_not(None))
            .union_all(select(WeChatBinding.owner_id, literal("wechat"), WeChatBinding.openid)
                       .join(Owner, Owner.id == WeChatBinding.owner_id).where(Owner.is_developer.is_(False)))
            ).subquery("owner_contact")


def owner_addresses(session: Any, estate_id: int) -> list[tuple[str, str]]:
    """Each address of the estate's owners once (a person with three units gets one message)."""
    from models.base import ALL_ESTATES
    from models.people import Owner

    contacts = owner_contacts()
    rows = session.execute(
        select(contacts.c.channel, contacts.c.address).join(Owner, Owner.id == contacts.c.owner_id)
        .where(Owner.estate_id == estate_id).distinct().order_by(contacts.c.channel, contacts.c.address),
        execution_options={ALL_ESTATES: True}).all()
    return [(channel, address) for channel, address in rows]


def announce_to_owners(session: Any, obj: Any, from_state: Any, to_state: Any, comment: Any = None) -> None:
    """A published fee standard, an announced (or, once announced, cancelled) 业主大会会议 or an
    opened owner vote is sent to the estate's owners."""
    from models.fees import FeeStandard
    from models.owners_assembly import OwnersMeeting
    from models.repair_fund import FundApplication

    if isinstance(obj, FeeStandard) and to_state == "published":
        queue_messages(session, "fee_standard_published", owner_addresses(session, obj.estate_id), {
            "estate": obj.estate.name, "standard": str(obj), "effective_from": f"{obj.effective_from:%Y年%m月%d日}"},
            estate_id=obj.estate_id, link=f"/public/estate/{obj.estate_id}/fees")
    elif isinstance(obj, FundApplication) and to_state == "voting":
        queue_messages(session, "vote_opened", owner_addresses(session, obj.estate_id), {
            "estate": obj.estate.name, "title": obj.title,
            "vote_until": f"{obj.vote_until:%Y年%m月%d日}" if obj.vote_until else ""}, estate_id=obj.estate_id,
            link=f"/public/vote/{obj.id}")
    elif isinstance(obj, OwnersMeeting) and to_state == "announced":
        queue_messages(session, "meeting_announced", owner_addresses(session, obj.estate_id), {
            "estate": obj.estate.name, "title": obj.title, "vote_from": f"{obj.vote_from:%Y年%m月%d日}",
            "vote_until": f"{obj.vote_until:%Y年%m月%d日}"}, estate_id=obj.estate_id, link=f"/public/meeting/{obj.id}")
    elif isinstance(obj, OwnersMeeting) and to_state == "cancelled" and from_state == "announced":
        queue_messages(session, "meeting_cancelled", owner_addresses(session, obj.estate_id), {
            "estate": obj.estate.name, "title": obj.title, "reason": comment or ""}, estate_id=obj.estate_id,
            link=f"/public/meeting/{obj.id}")


# -- sending -----------------------------------------------------------------------------------

def in_quiet_hours(settings: Settings, now: dt.datetime) -> dt.datetime | None:
    """When quiet hours end, if ``now`` (Beijing wall clock) lies within them."""
    start, end = settings.quiet_hours_start, settings.quiet_hours_end
    if start == end:
        return None
    hour = now.hour
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return None
    ends = now.replace(hour=end, minute=0, second=0, microsecond=0)
    return ends if ends > now else ends + dt.timedelta(days=1)


@every_minute
def deliver_due() -> int:
    """Send what is due, one at a time, each committed on its own. Returns how many were sent."""
    from app.extensions import db

    session = db.session
    settings = Settings.current(session)
    if in_quiet_hours(settings, clock.local_now()) is not None:
        return 0  # nothing leaves in quiet hours; what is due waits for their end
    sent = 0
    due = session.execute(select(Delivery).where(Delivery.state == "pending", Delivery.next_attempt_at <= clock.utc_now())
                          .order_by(Delivery.next_attempt_at, Delivery.id).limit(BATCH)).scalars().all()
    for delivery in due:
        since = clock.utc_now() - dt.timedelta(days=1)
        today = session.execute(select(func.count()).select_from(Delivery).where(
            Delivery.address == delivery.address, Delivery.state == "sent", Delivery.sent_at > since)).scalar_one()
        if today >= settings.messages_per_day:
            delivery.next_attempt_at = clock.utc_now() + dt.timedelta(hours=1)
            delivery.last_error = f"已达每人每日上限 {settings.messages_per_day} 条，顺延发送"
            session.commit()
            continue
        delivery.attempts += 1
        try:
            send(delivery)
        except DeliveryFailed as failure:
            delivery.last_error = str(failure)[:500]
            if delivery.attempts > len(RETRY_PAUSES):
                delivery.state = "dead"
            else:
                delivery.next_attempt_at = clock.utc_now() + dt.timedelta(seconds=RETRY_PAUSES[delivery.attempts - 1])
            log.warning("delivery %s failed (attempt %s): %s", delivery.id, delivery.attempts, failure)
        else:
            delivery.state, delivery.sent_at, delivery.last_error = "sent", clock.utc_now(), None
            sent += 1
        session.commit()
    return sent


@every_minute
def forget_hourly() -> None:
    if clock.local_now().minute == 0:  # once an hour is plenty, and keeps the minute tick light
        forget_old_messages()


def forget_old_messages() -> int:
    """Read inbox messages and finished deliveries older than 「消息保留天数」 are deleted (each
    send is in the 操作日志 already); unread messages and pending deliveries are kept."""
    from sqlalchemy import delete

    from app.extensions import db
    from models.jobs import Notification

    session = db.session
    before = clock.utc_now() - dt.timedelta(days=Settings.current(session).message_retention_days)
    gone = session.execute(delete(Notification).where(Notification.read_at < before)).rowcount
    gone += session.execute(delete(Delivery).where(Delivery.state.in_(("sent", "dead")), Delivery.created_at < before),
                            execution_options={"synchronize_session": False}).rowcount
    return gone

