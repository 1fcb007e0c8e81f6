"""System settings: one row, every tunable number of the product with its default.

Deadlines, thresholds, 公示 days and the hotline live here (one place per concern);
later domains add their columns. The migration inserts the row, so every column
needs a ``server_default``.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Admin, Entity, Menu, Money, positive, zh


class Settings(Entity):
    __tablename__ = "settings"

    lockout_threshold: Mapped[int] = mapped_column(
        Integer, server_default="5",
        info=zh("登录失败锁定次数", "连续输错密码达到此次数后锁定账号，由管理员解锁", check=positive),
    )

    complaint_hotline: Mapped[str] = mapped_column(
        String(20), server_default="12315", info=zh("价格举报电话", "收费公示上的投诉举报电话")
    )

    # -- repair fund (维修资金) --
    fund_deposit_rate: Mapped[Decimal] = mapped_column(
        Money, default=Decimal("100.00"),  # the migration sets the stored default per database
        info=zh("维修资金交存标准（元/㎡）", "首期交存 = 建筑面积 × 此标准（一般为建安造价的 5%～8%）", check=positive),
    )
    fund_top_up_percent: Mapped[int] = mapped_column(
        Integer, server_default="30", info=zh("续交预警比例（%）", "分户账余额低于首期交存额的此比例时预警续交", check=positive),
    )
    fund_publicity_days: Mapped[int] = mapped_column(
        Integer, server_default="7", info=zh("方案公示天数", "业委会审核通过后公示的天数，期满方可表决；0 为不公示"),
    )
    fund_vote_days: Mapped[int] = mapped_column(
        Integer, server_default="15", info=zh("表决期天数", "表决期满或全部投票后方可计票", check=positive),
    )
    fund_audit_threshold: Mapped[int] = mapped_column(
        Integer, server_default="30000", info=zh("审价门槛（元）", "决算金额超过此数须上传审价报告", check=positive),
    )
    fund_overrun_percent: Mapped[int] = mapped_column(
        Integer, server_default="10", info=zh("超预算重新审批比例（%）", "决算超出预算达到此比例须业委会重新审批", check=positive),
    )
    fund_disclosure_months: Mapped[int] = mapped_column(
        Integer, server_default="12", info=zh("维修资金公开周期（月）", "至少每年公开一次；上海为 6 个月", check=positive),
    )
    fund_emergency_kinds: Mapped[str] = mapped_column(
        String(300), server_default="电梯故障、消防设施、屋面/外墙渗漏、外墙脱落、给排水、墙体/道路塌陷",
        info=zh("应急维修情形", "用顿号分隔；只有这些情形可走应急程序（无需表决）"),
    )

    __table_args__ = (
        CheckConstraint("id = 1", name="ck_settings_single_row"),
        CheckConstraint("lockout_threshold > 0", name="ck_settings_lockout"),
        CheckConstraint("fund_publicity_days >= 0", name="ck_settings_fund_publicity_days"),
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
        list_columns = ("lockout_threshold", "complaint_hotline", "fund_deposit_rate", "fund_publicity_days")
        actions = frozenset({"edit"})
        scope_path = None
