"""Parking: spaces (车位), vehicles (车辆) and access cards (停车卡)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Admin, Area, Choices, Entity, Menu, fk, positive, same_estate_key, trigram_index, zh
from models.estate import Estate
from models.people import Owner
from models.validators import check_plate

SPACE_TYPES = Choices(("private", "私家车位"), ("monthly", "月保车位"), ("temporary", "临保车位"))
SPACE_STATUSES = Choices(("free", "空闲"), ("sold", "已售"), ("rented", "已租"), ("occupied", "占用"))
VEHICLE_TYPES = Choices(
    ("car", "小型轿车"), ("suv", "SUV"), ("mpv", "MPV"), ("ev", "新能源车"), ("truck", "货车"),
)
CARD_TYPES = Choices(("monthly", "月卡"), ("yearly", "年卡"), ("temporary", "临时卡"))
CARD_ACCESS = Choices(("car_park", "车场"), ("lobby", "入户大堂"), ("both", "车场及入户大堂"))


class ParkingSpace(Entity):
    __tablename__ = "parking_space"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("所属小区"))
    code: Mapped[str] = mapped_column(String(20), info=zh("车位编号"))
    zone: Mapped[str | None] = mapped_column(String(30), info=zh("区域", "如 地下一层 B 区"))
    space_type: Mapped[str] = mapped_column(
        String(20), default="monthly", info=zh("车位类型", choices=SPACE_TYPES)
    )
    status: Mapped[str] = mapped_column(
        String(20), default="free", info=zh("状态", choices=SPACE_STATUSES)
    )
    area: Mapped[Decimal | None] = mapped_column(Area, info=zh("面积(㎡)", check=positive))
    owner_id: Mapped[int | None] = fk("owner.id", nullable=True)
    owner: Mapped[Owner | None] = relationship(info=zh("产权人/承租人"))

    __table_args__ = (
        UniqueConstraint(
            "estate_id", "code", name="uq_parking_space_code",
            info={"message": "同一小区内车位编号不能重复"},
        ),
        CheckConstraint("area > 0", name="ck_parking_space_area"),
        SPACE_TYPES.constraint("space_type", "ck_parking_space_type"),
        SPACE_STATUSES.constraint("status", "ck_parking_space_status"),
        trigram_index("parking_space", "code"),
        same_estate_key("parking_space"),  # bills name their payer by (id, 小区)
    )

    def __str__(self) -> str:
        return self.code

    class Admin(Admin):
        label = "车位"
        menu = Menu.PARKING
        icon = "fa-product-hunt"
        list_columns = ("code", "estate", "zone", "space_type", "status", "owner")
        search_columns = ("code", "estate", "zone", "space_type", "status")
        order_by = ("code", "asc")
        large = True
        lookup_columns = ("code",)


class Vehicle(Entity):
    __tablename__ = "vehicle"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("所属小区"))
    plate: Mapped[str] = mapped_column(
        String(10), info=zh("车牌号", "含新能源号牌，如 京AD12345", check=check_plate)
    )
    vehicle_type: Mapped[str] = mapped_column(
        String(20), default="car", info=zh("车型", choices=VEHICLE_TYPES)
    )
    color: Mapped[str | None] = mapped_column(String(10), info=zh("颜色"))
    owner_id: Mapped[int | None] = fk("owner.id", nullable=True)
    owner: Mapped[Owner | None] = relationship(info=zh("车主(业主)"))
    space_id: Mapped[int | None] = fk("parking_space.id", nullable=True)
    space: Mapped[ParkingSpace | None] = relationship(info=zh("车位"))

    __table_args__ = (
        UniqueConstraint(
            "estate_id", "plate", name="uq_vehicle_plate",
            info={"message": "本小区已登记该车牌"},
        ),
        VEHICLE_TYPES.constraint("vehicle_type", "ck_vehicle_type"),
        trigram_index("vehicle", "plate"),
    )

    def __str__(self) -> str:
        return self.plate

    class Admin(Admin):
        label = "车辆"
        menu = Menu.PARKING
        icon = "fa-car"
        list_columns = ("plate", "estate", "vehicle_type", "color", "owner", "space")
        search_columns = ("plate", "estate", "vehicle_type", "color")
        order_by = ("plate", "asc")
        large = True
        lookup_columns = ("plate",)


class ParkingCard(Entity):
    __tablename__ = "parking_card"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("所属小区"))
    card_no: Mapped[str] = mapped_column(String(30), info=zh("卡号"))
    card_type: Mapped[str] = mapped_column(
        String(20), default="monthly", info=zh("卡类型", choices=CARD_TYPES)
    )
    color: Mapped[str | None] = mapped_column(String(10), info=zh("卡片颜色"))
    access: Mapped[str] = mapped_column(
        String(20), default="car_park", info=zh("通行权限", choices=CARD_ACCESS)
    )
    valid_until: Mapped[dt.date] = mapped_column(Date, info=zh("有效期至"))
    vehicle_id: Mapped[int | None] = fk("vehicle.id", nullable=True)
    vehicle: Mapped[Vehicle | None] = relationship(info=zh("车辆"))
    owner_id: Mapped[int | None] = fk("owner.id", nullable=True)
    owner: Mapped[Owner | None] = relationship(info=zh("持卡人(业主)"))

    __table_args__ = (
        UniqueConstraint(
            "estate_id", "card_no", name="uq_parking_card_no",
            info={"message": "同一小区内卡号不能重复"},
        ),
        CARD_TYPES.constraint("card_type", "ck_parking_card_type"),
        CARD_ACCESS.constraint("access", "ck_parking_card_access"),
    )

    def __str__(self) -> str:
        return self.card_no

    class Admin(Admin):
        label = "停车卡"
        menu = Menu.PARKING
        icon = "fa-credit-card"
        list_columns = ("card_no", "estate", "card_type", "access", "valid_until", "vehicle", "owner")
        search_columns = ("card_no", "estate", "card_type", "access", "valid_until")
        order_by = ("valid_until", "asc")
