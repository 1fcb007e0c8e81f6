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

    __table_args__ = (
        CheckConstraint("id = 1", name="ck_settings_single_row"),
        CheckConstraint("lockout_threshold > 0", name="ck_settings_lockout"),
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
        list_columns = ("lockout_threshold", "complaint_hotline")
        actions = frozenset({"edit"})
        scope_path = None
