"""Messages that leave the product: e-mail and SMS (the inbox is models/jobs.Notification).

A :class:`MessageTemplate` is the Chinese text of one kind of message, editable by the
administrator (a sandboxed Jinja template; SMS providers also need the code of the template
registered with them). A :class:`Delivery` is one message to one address on one channel,
sent by the job consumer once a minute, outside quiet hours, within each recipient's daily
limit, retried with growing pauses and given up (死信) after its last attempt
(docs/notifications.md). Each state change of a delivery is in the 操作日志 with the address
masked.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Admin, Choices, Entity, Menu, zh
from models.clock import UTCDateTime, utc_now

CHANNELS = Choices(("email", "电子邮件"), ("sms", "短信"))
DELIVERY_STATES = Choices(("pending", "待发送"), ("sent", "已发送"), ("dead", "发送失败（死信）"))
#: what each template is for; the variables it may use are listed in its 说明
TEMPLATE_KEYS = Choices(
    ("fee_standard_published", "收费标准公示"),
    ("vote_opened", "业主表决开始"),
    ("daily_reminder", "每日待办提醒"),
    ("arrears_notice", "欠费提醒（业主）"),
)


def check_template(text: str) -> str | None:
    """A template must compile in the sandbox (a typo is refused when saved, not when sent)."""
    from app.outbox import template_problem

    return template_problem(text)


def unknown_variables(key: str | None, text: str | None) -> str | None:
    from app.outbox import unknown_variables as problem

    return problem(key, text)


class MessageTemplate(Entity):
    __tablename__ = "message_template"

    key: Mapped[str] = mapped_column(String(40), unique=True, info=zh("用途", choices=TEMPLATE_KEYS))
    subject: Mapped[str] = mapped_column(String(100), info=zh("邮件标题", "可用变量同正文", check=check_template))
    body: Mapped[str] = mapped_column(
        Text, info=zh("正文", "用 {{ 变量 }} 插入内容，可用变量见「说明」；不要写入个人信息", check=check_template))
    sms_template_code: Mapped[str | None] = mapped_column(
        String(50), info=zh("短信模板编号", "在短信服务商（阿里云/腾讯云）处报备的模板编号；留空则不发短信"))
    variables: Mapped[str] = mapped_column(String(300), default="", info=zh("说明", "本模板可用的变量"))

    def __str__(self) -> str:
        return TEMPLATE_KEYS.label(self.key)

    class Admin(Admin):
        label = "消息模板"
        menu = Menu.SYSTEM
        icon = "fa-envelope-o"
        scope_path = None
        list_columns = ("key", "subject", "sms_template_code")
        search_columns = ("key", "subject")
        actions = frozenset({"edit"})  # the set of kinds is the product's; their wording is the admin's
        rules = (
            lambda v: [(field, problem) for field in ("subject", "body")
                       if (problem := unknown_variables(v.get("key"), v.get(field)))],
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
