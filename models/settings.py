"""System settings: one row, every tunable number of the product with its default.

Deadlines, thresholds, 公示 days and the hotline live here (one place per concern);
later domains add their columns. The migration inserts the row, so every column
needs a ``server_default``.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Admin, Entity, Menu, positive, zh


class Settings(Entity):
    __tablename__ = "settings"

    lockout_threshold: Mapped[int] = mapped_column(
        Integer, server_default="5",
        info=zh("登录失败锁定次数", "连续输错密码达到此次数后锁定账号，由管理员解锁", check=positive),
    )

    complaint_hotline: Mapped[str] = mapped_column(
        String(20), server_default="12315", info=zh("价格举报电话", "收费公示上的投诉举报电话")
    )

    # -- service desk deadlines (issue 6; seed 001 §4.3, seed 004 首按责任制) ---------------
    repair_promise_days: Mapped[int] = mapped_column(
        Integer, server_default="2",
        info=zh("报修约定完成天数", "未另行约定时，约定完成时间为报修后此天数（一般 1～2 天）", check=positive),
    )
    repair_max_days: Mapped[int] = mapped_column(
        Integer, server_default="7",
        info=zh("报修最长完成天数", "约定完成时间（含延期）最迟为报修后此天数（一般不超过一周）", check=positive),
    )
    complaint_reply_hours: Mapped[int] = mapped_column(
        Integer, server_default="24", info=zh("投诉答复时限（小时）", "受理后须在此时限内答复", check=positive),
    )
    urgent_complaint_reply_hours: Mapped[int] = mapped_column(
        Integer, server_default="12", info=zh("紧急投诉答复时限（小时）", check=positive),
    )

    __table_args__ = (
        CheckConstraint("id = 1", name="ck_settings_single_row"),
        CheckConstraint("lockout_threshold > 0", name="ck_settings_lockout"),
        CheckConstraint("repair_promise_days > 0 AND repair_max_days >= repair_promise_days",
                        name="ck_settings_repair_days"),
        CheckConstraint("complaint_reply_hours > 0 AND urgent_complaint_reply_hours > 0",
                        name="ck_settings_complaint_hours"),
    )

    def __str__(self) -> str:
        return "系统设置"

    @classmethod
    def current(cls, session: Session) -> "Settings":
        return session.execute(select(cls).where(cls.id == 1)).scalar_one()

    class Admin(Admin):
        label = "系统设置"
        menu = Menu.SYSTEM
        icon = "fa-sliders"
        list_columns = ("lockout_threshold", "complaint_hotline", "repair_promise_days", "repair_max_days",
                        "complaint_reply_hours", "urgent_complaint_reply_hours")
        actions = frozenset({"edit"})
        scope_path = None
        rules = (
            lambda v: [("repair_max_days", "报修最长完成天数不能少于约定完成天数")]
            if v.get("repair_max_days") and v.get("repair_promise_days")
            and v["repair_max_days"] < v["repair_promise_days"] else [],
        )
