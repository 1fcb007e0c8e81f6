"""操作日志: the append-only audit trail of every write to a declared entity.

``app.audit`` writes the rows (session events, in the same transaction as the change);
nothing edits or deletes them: the declaration offers no add/edit/delete routes, an
ORM guard refuses changes, and database triggers (see the migration) refuse raw SQL.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Admin, Choices, Entity, Menu, zh
from models.clock import UTCDateTime, utc_now

ACTIONS = Choices(
    ("create", "新增"), ("update", "修改"), ("delete", "删除"),
    ("transition", "状态变更"), ("bulk", "批量导入"),
    # a search by a whole 手机号/证件号码 by someone who sees it masked
    ("lookup", "按号码查询"),
)


class AuditLog(Entity):
    __tablename__ = "audit_log"

    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utc_now, index=True, info=zh("时间")
    )
    # no foreign keys: the log outlives users and rows
    user_id: Mapped[int | None] = mapped_column(Integer, info=zh("用户编号"))
    username: Mapped[str] = mapped_column(String(64), default="", info=zh("操作人", login=True))
    ip: Mapped[str] = mapped_column(String(45), default="", info=zh("IP 地址"))
    table_name: Mapped[str] = mapped_column(String(64), index=True, info=zh("数据表"))
    table_label: Mapped[str] = mapped_column(String(50), default="", info=zh("数据类别"))
    record_id: Mapped[str | None] = mapped_column(String(64), info=zh("记录编号"))
    action: Mapped[str] = mapped_column(String(20), info=zh("操作", choices=ACTIONS))
    estate_id: Mapped[int | None] = mapped_column(Integer, index=True, info=zh("小区编号"))
    #: JSON objects {column: value}; None for a bulk record
    old_values: Mapped[str | None] = mapped_column(Text, info=zh("原值"))
    new_values: Mapped[str | None] = mapped_column(Text, info=zh("新值"))
    summary: Mapped[str | None] = mapped_column(String(200), info=zh("说明"))

    __table_args__ = (
        Index("ix_audit_log_record", "table_name", "record_id"),
        ACTIONS.constraint("action", "ck_audit_log_action"),
    )

    def __str__(self) -> str:
        return f"{self.table_label} {self.record_id or ''} {ACTIONS.label(self.action)}".strip()

    @property
    def old(self) -> dict[str, Any]:
        return json.loads(self.old_values) if self.old_values else {}

    @property
    def new(self) -> dict[str, Any]:
        return json.loads(self.new_values) if self.new_values else {}

    class Admin(Admin):
        label = "操作日志"
        menu = Menu.SYSTEM
        icon = "fa-history"
        append_only = True
        list_columns = ("created_at", "username", "action", "table_label", "record_id", "ip")
        search_columns = ("created_at", "username", "action", "table_label", "record_id", "ip")
        show_columns = (
            "created_at", "username", "ip", "action", "table_label", "record_id", "summary",
            # table_name and the JSON values: entity/show.html reads them field by field
            "table_name", "old_values", "new_values",
        )
        order_by = ("created_at", "desc")
        lookup_columns = ("username",)
        #: append-only: no add, edit or delete route exists at all
        actions = frozenset()
        scope_path = "estate_id"
