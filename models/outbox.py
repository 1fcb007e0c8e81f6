"""Messages that leave the product: e-mail, SMS and WeChat (the inbox is models/jobs.Notification).

A :class:`MessageTemplate` is the Chinese text of one kind of message, editable by the
administrator (a sandboxed Jinja template; SMS providers also need the code of the template
registered with them, WeChat the template's id and which of its fields shows what). A
:class:`WeChatBinding` ties an owner to the WeChat account they proved to be theirs on the public
board. A :class:`Delivery` is one message to one address on one channel,
sent by the job consumer once a minute, outside quiet hours, within each recipient's daily
limit, retried with growing pauses and given up (死信) after its last attempt
(docs/notifications.md). Each state change of a delivery is in the 操作日志 with the address
masked.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Admin, Choices, Entity, Menu, fk, zh
from models.clock import UTCDateTime, utc_now
from models.people import Owner

CHANNELS = Choices(("email", "电子邮件"), ("sms", "短信"), ("wechat", "微信"))
DELIVERY_STATES = Choices(("pending", "待发送"), ("sent", "已发送"), ("dead", "发送失败（死信）"))
#: what each template is for; the variables it may use are listed in its 说明
TEMPLATE_KEYS = Choices(
    ("fee_standard_published", "收费标准公示"),
    ("vote_opened", "业主表决开始"),
    ("meeting_announced", "业主大会会议公告"),
    ("meeting_cancelled", "业主大会会议取消"),
    ("daily_reminder", "每日待办提醒"),
    ("arrears_notice", "欠费提醒（业主）"),
)


#: the variables each kind of message offers its template, in the order SMS templates take them
TEMPLATE_VARIABLES: dict[str, tuple[str, ...]] = {
    "fee_standard_published": ("estate", "standard", "effective_from"),
    "vote_opened": ("estate", "title", "vote_until"),
    "meeting_announced": ("estate", "title", "vote_from", "vote_until"),
    "meeting_cancelled": ("estate", "title", "reason"),
    "daily_reminder": ("count", "items"),
    "arrears_notice": ("estate", "units", "amount"),
}

#: templates are the administrator's text: rendered where they cannot reach Python's insides
_sandbox = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def check_template(text: str | None) -> str | None:
    """A template must compile in the sandbox (a typo is refused when saved, not when sent)."""
    if not text:
        return None
    try:
        _sandbox.from_string(text)
    except TemplateSyntaxError as error:
        return f"模板写法有误（第 {error.lineno} 行）：请检查 {{{{ }}}} 和 {{% %}} 是否成对"
    return None


def unknown_variables(key: str | None, text: str | None) -> str | None:
    """A template may use only the variables its kind offers."""
    if not key or not text or check_template(text) or key not in TEMPLATE_VARIABLES:
        return None
    try:
        _sandbox.from_string(text).render({name: "示例" for name in TEMPLATE_VARIABLES[key]})
    except UndefinedError:
        return "只能使用本用途的变量：" + "、".join(TEMPLATE_VARIABLES[key])
    except SecurityError:
        return "模板中含有不允许的操作"
    return None


def render(text: str, variables: dict[str, Any]) -> str:
    return _sandbox.from_string(text).render(variables)


_WECHAT_FIELD = re.compile(r"([a-z_]+[0-9]*)=([a-z_]+)")


def _pairs(text: str | None) -> list[str]:
    return [pair for pair in re.split(r"[\s,，;；]+", (text or "").strip()) if pair]


def wechat_fields(text: str | None) -> dict[str, str]:
    """「thing1=estate time2=effective_from」: the WeChat template's field -> our variable."""
    return dict(match.groups() for pair in _pairs(text) if (match := _WECHAT_FIELD.fullmatch(pair)))


def wechat_fields_problem(key: str | None, text: str | None) -> str | None:
    """Every pair must read 字段=变量, naming a variable this kind of message offers."""
    pairs = _pairs(text)
    if not pairs:
        return None
    if bad := [pair for pair in pairs if not _WECHAT_FIELD.fullmatch(pair)]:
        return f"「{bad[0]}」应写成「微信字段名=变量」，例如 thing1=estate"
    offered = TEMPLATE_VARIABLES.get(key or "", ())
    if unknown := [name for name in wechat_fields(text).values() if name not in offered]:
        return f"没有变量「{unknown[0]}」；本用途可用：" + "、".join(offered)
    return None


class MessageTemplate(Entity):
    __tablename__ = "message_template"

    key: Mapped[str] = mapped_column(String(40), unique=True, info=zh("用途", choices=TEMPLATE_KEYS))
    subject: Mapped[str] = mapped_column(String(100), info=zh("邮件标题", "可用变量同正文", check=check_template))
    body: Mapped[str] = mapped_column(
        Text, info=zh("正文", "用 {{ 变量 }} 插入内容，可用变量见「说明」；不要写入个人信息", check=check_template))
    sms_template_code: Mapped[str | None] = mapped_column(
        String(50), info=zh("短信模板编号", "在短信服务商（阿里云/腾讯云）处报备的模板编号；留空则不发短信"))
    wechat_template_id: Mapped[str | None] = mapped_column(
        String(64), info=zh("微信模板ID", "公众号后台「模板消息」中选用的模板ID；留空则不发微信"))
    wechat_fields: Mapped[str | None] = mapped_column(
        String(300), info=zh("微信模板字段", "每项写「字段名=变量」，空格分隔，例如 thing1=estate time2=effective_from"))
    variables: Mapped[str] = mapped_column(String(300), default="", info=zh("说明", "本模板可用的变量"))

    def __str__(self) -> str:
        return TEMPLATE_KEYS.label(self.key)

    class Admin(Admin):
        label = "消息模板"
        menu = Menu.SYSTEM
        icon = "fa-envelope-o"
        scope_path = None
        list_columns = ("key", "subject", "sms_template_code", "wechat_template_id")
        search_columns = ("key", "subject")
        actions = frozenset({"edit"})  # the set of kinds is the product's; their wording is the admin's
        rules = (
            lambda v: [(field, problem) for field in ("subject", "body")
                       if (problem := unknown_variables(v.get("key"), v.get(field)))],
            lambda v: [("wechat_fields", problem)] if (problem := wechat_fields_problem(v.get("key"), v.get("wechat_fields")))
            else [],
        )


class Delivery(Entity):
    __tablename__ = "delivery"

    channel: Mapped[str] = mapped_column(String(10), info=zh("渠道", choices=CHANNELS))
    address: Mapped[str] = mapped_column(String(200), info=zh("发送至", masked="contact"))
    template_key: Mapped[str] = mapped_column(String(40), info=zh("消息类型", choices=TEMPLATE_KEYS))
    subject: Mapped[str] = mapped_column(String(200), default="", info=zh("标题"))
    body: Mapped[str] = mapped_column(Text, info=zh("内容"))
    #: the SMS provider's template parameters, as JSON (the rendered body is for e-mail and the log)
    params: Mapped[str] = mapped_column(Text, default="{}", info=zh("模板参数"))
    estate_id: Mapped[int | None] = mapped_column(Integer, info=zh("小区编号"))
    state: Mapped[str] = mapped_column(String(10), default="pending", info=zh("状态", choices=DELIVERY_STATES))
    attempts: Mapped[int] = mapped_column(Integer, default=0, info=zh("尝试次数"))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now, info=zh("下次发送时间"))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=zh("发送时间"))
    last_error: Mapped[str | None] = mapped_column(String(500), info=zh("最近一次失败原因"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now, info=zh("创建时间"))

    __table_args__ = (
        CHANNELS.constraint("channel", "ck_delivery_channel"),
        DELIVERY_STATES.constraint("state", "ck_delivery_state"),
        Index("ix_delivery_due", "state", "next_attempt_at"),
        Index("ix_delivery_address_sent", "address", "sent_at"),
    )

    def __str__(self) -> str:
        return f"{CHANNELS.label(self.channel)}：{TEMPLATE_KEYS.label(self.template_key)}"

    class Admin(Admin):
        label = "消息发送记录"
        menu = Menu.SYSTEM
        icon = "fa-paper-plane"
        scope_path = None
        list_columns = ("created_at", "channel", "address", "template_key", "state", "attempts", "sent_at",
                        "last_error")
        search_columns = ("channel", "template_key", "state", "created_at")
        order_by = ("id", "desc")
        actions = frozenset()  # written by the product only; read (and filtered to 死信) by the administrator


class WeChatBinding(Entity):
    """An owner's WeChat account (公众号 openid), bound by the owner on the public board after
    proving the unit and the last six characters of their 证件号码; owners' notices then also go
    there. 物业 unbind it at the owner's request; nobody types an openid in."""

    __tablename__ = "wechat_binding"

    owner_id: Mapped[int] = fk("owner.id", ondelete="CASCADE", index=False)
    owner: Mapped[Owner] = relationship(info=zh("业主"))
    openid: Mapped[str] = mapped_column(String(64), index=True, info=zh("微信用户标识", masked="contact"))
    bound_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now, info=zh("绑定时间"))

    __table_args__ = (
        UniqueConstraint("owner_id", "openid", name="uq_wechat_binding", info={"message": "该微信已绑定此业主"}),
    )

    def __str__(self) -> str:
        return f"{self.owner} 的微信"

    class Admin(Admin):
        label = "微信绑定"
        menu = Menu.PEOPLE
        icon = "fa-weixin"
        scope_path = "owner.estate_id"
        # the openid is WeChat's name for the person in our 公众号: useful to no reader, shown nowhere
        list_columns = form_columns = ("owner", "bound_at")
        search_columns = ("owner", "bound_at")
        order_by = ("bound_at", "desc")
        str_loads = ("owner", "owner.estate")
        actions = frozenset({"delete"})  # bound by the owner only (public board); 解除绑定 at their request
