"""Facilities and equipment (设施设备), their life-cycle records (设备档案) and upkeep plans."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Admin, Choices, Entity, Menu, Money, fk, positive, zh
from models.estate import Estate

CATEGORIES = Choices(
    ("elevator", "电梯"), ("fire", "消防"), ("water", "给排水"), ("power", "供配电"),
    ("cctv", "监控"), ("access", "门禁"), ("lighting", "照明"), ("greening", "绿化"),
    ("hvac", "暖通空调"), ("other", "其他"),
)
FACILITY_STATUSES = Choices(
    ("in_use", "正常运行"), ("repairing", "维修中"), ("stopped", "停用"), ("scrapped", "已报废"),
)
EVENT_TYPES = Choices(
    ("purchase", "购买"), ("install", "安装"), ("maintain", "保养"), ("repair", "维修"),
    ("replace", "更换"), ("scrap", "报废"),
)
CYCLES = Choices(
    ("daily", "每日"), ("weekly", "每周"), ("half_month", "每半月"), ("monthly", "每月"),
    ("quarterly", "每季度"), ("half_year", "每半年"), ("yearly", "每年"),
)


class Facility(Entity):
    __tablename__ = "facility"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("所属小区"))
    name: Mapped[str] = mapped_column(String(100), info=zh("设备名称"))
    category: Mapped[str] = mapped_column(String(20), info=zh("类别", choices=CATEGORIES))
    model_no: Mapped[str | None] = mapped_column(String(50), info=zh("型号"))
    spec: Mapped[str | None] = mapped_column(String(100), info=zh("规格"))
    quantity: Mapped[int] = mapped_column(Integer, default=1, info=zh("数量", check=positive))
    location: Mapped[str | None] = mapped_column(String(100), info=zh("安装位置"))
    purchased_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("购买日期"))
    installed_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("安装日期"))
    warranty_until: Mapped[dt.date | None] = mapped_column(Date, info=zh("保修截止"))
    design_life_years: Mapped[int | None] = mapped_column(
        Integer, info=zh("设计使用年限(年)", check=positive)
    )
    status: Mapped[str] = mapped_column(
        String(20), default="in_use", info=zh("状态", choices=FACILITY_STATUSES)
    )
    events: Mapped[list[FacilityEvent]] = relationship(
        back_populates="facility", cascade="all, delete-orphan", info=zh("设备档案")
    )

    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_facility_quantity"),
        CATEGORIES.constraint("category", "ck_facility_category"),
        FACILITY_STATUSES.constraint("status", "ck_facility_status"),
    )

    def __str__(self) -> str:
        return f"{self.name}({self.location})" if self.location else self.name

    class Admin(Admin):
        label = "设施设备"
        menu = Menu.FACILITY
        icon = "fa-cog"
        list_columns = ("name", "estate", "category", "model_no", "location", "warranty_until", "status")
        search_columns = ("name", "estate", "category", "location", "status", "warranty_until")
        form_columns = (
            "estate", "name", "category", "model_no", "spec", "quantity", "location",
            "purchased_on", "installed_on", "warranty_until", "design_life_years", "status",
        )
        order_by = ("name", "asc")
        date_order = (("purchased_on", "installed_on"), ("installed_on", "warranty_until"))


class FacilityEvent(Entity):
    __tablename__ = "facility_event"

    facility_id: Mapped[int] = fk("facility.id", ondelete="CASCADE")
    facility: Mapped[Facility] = relationship(back_populates="events", info=zh("设备"))
    event_type: Mapped[str] = mapped_column(String(20), info=zh("事件类型", choices=EVENT_TYPES))
    occurred_on: Mapped[dt.date] = mapped_column(Date, info=zh("发生日期"))
    description: Mapped[str | None] = mapped_column(Text, info=zh("内容"))
    cost: Mapped[Decimal | None] = mapped_column(Money, info=zh("费用(元)"))
    operator: Mapped[str | None] = mapped_column(String(50), info=zh("经办人/单位"))

    __table_args__ = (
        CheckConstraint("cost >= 0", name="ck_facility_event_cost"),
        EVENT_TYPES.constraint("event_type", "ck_facility_event_type"),
    )

    def __str__(self) -> str:
        return f"{EVENT_TYPES.label(self.event_type)} {self.occurred_on}"

    class Admin(Admin):
        scope_path = "facility.estate_id"
        label = "设备档案"
        menu = Menu.FACILITY
        icon = "fa-history"
        list_columns = ("facility", "event_type", "occurred_on", "cost", "operator")
        search_columns = ("facility", "event_type", "occurred_on", "operator")
        order_by = ("occurred_on", "desc")
        rules = (
            lambda v: [("cost", "费用不能为负数")]
            if v.get("cost") is not None and v["cost"] < 0
            else [],
        )


class MaintenancePlan(Entity):
    __tablename__ = "maintenance_plan"

    facility_id: Mapped[int] = fk("facility.id", ondelete="CASCADE")
    facility: Mapped[Facility] = relationship(info=zh("设备"))
    content: Mapped[str] = mapped_column(String(200), info=zh("保养内容"))
    cycle: Mapped[str] = mapped_column(String(20), info=zh("保养周期", choices=CYCLES))
    responsible: Mapped[str | None] = mapped_column(String(50), info=zh("责任人"))
    last_done_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("上次保养"))
    next_due_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("下次保养"))

    __table_args__ = (CYCLES.constraint("cycle", "ck_maintenance_plan_cycle"),)

    def __str__(self) -> str:
        return self.content

    class Admin(Admin):
        scope_path = "facility.estate_id"
        label = "保养计划"
        menu = Menu.FACILITY
        icon = "fa-calendar-check-o"
        list_columns = ("facility", "content", "cycle", "responsible", "last_done_on", "next_due_on")
        search_columns = ("facility", "content", "cycle", "responsible", "next_due_on")
        order_by = ("next_due_on", "asc")
        date_order = (("last_done_on", "next_due_on"),)
