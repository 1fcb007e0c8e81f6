"""Estates (小区/物业管理区域), their buildings (楼栋) and units (房屋/专有部分)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean, CheckConstraint, Date, ForeignKeyConstraint, Index, Integer, String, UniqueConstraint, event, select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import (
    Admin, Area, Choices, Entity, ExactDecimal, fk, natural_key, positive, same_estate_key, sort_key_of, trigram_index,
    zh,
)
from models.region import Community

if TYPE_CHECKING:
    from models.company import PropertyCompany

STRUCTURES = Choices(
    ("frame", "框架结构"), ("shear_wall", "剪力墙结构"), ("frame_shear", "框架-剪力墙结构"),
    ("brick", "砖混结构"), ("steel", "钢结构"),
)
UNIT_TYPES = Choices(
    ("residence", "住宅"), ("apartment", "公寓"), ("villa", "别墅"),
    ("shop", "商铺"), ("garage", "车库"), ("parking", "车位"),
)
UNIT_USAGES = Choices(("living", "居住"), ("business", "商业"), ("office", "办公"), ("other", "其他"))
UNIT_STATUSES = Choices(
    ("owner_occupied", "自住"), ("rented", "出租"), ("vacant", "空置"), ("unsold", "未售"),
)


class Estate(Entity):
    __tablename__ = "estate"

    community_id: Mapped[int] = fk("community.id")
    community: Mapped[Community] = relationship(back_populates="estates", info=zh("所属社区"))
    name: Mapped[str] = mapped_column(String(80), unique=True, info=zh("小区名称"))
    code: Mapped[str] = mapped_column(String(20), unique=True, info=zh("小区编码"))
    address: Mapped[str] = mapped_column(String(200), info=zh("地址"))
    land_area: Mapped[Decimal | None] = mapped_column(
        Area, info=zh("占地面积(㎡)", check=positive)
    )
    total_floor_area: Mapped[Decimal | None] = mapped_column(
        Area, info=zh("总建筑面积(㎡)", check=positive)
    )
    green_ratio: Mapped[Decimal | None] = mapped_column(
        ExactDecimal(5, 2), info=zh("绿化率(%)", "0 到 100 之间")
    )
    delivered_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("交付日期"))
    company_id: Mapped[int | None] = fk("property_company.id", nullable=True)
    company: Mapped[PropertyCompany | None] = relationship(back_populates="estates", info=zh("物业服务企业"))
    committee_founded_on: Mapped[dt.date | None] = mapped_column(
        Date, info=zh("业委会成立日期")
    )
    grid_name: Mapped[str | None] = mapped_column(String(50), info=zh("所属网格"))
    bill_day: Mapped[int | None] = mapped_column(
        Integer, info=zh("每月自动生成账单日", "1–28；每月这一天（北京时间）自动生成当月账单，已生成过的不重复生成；留空则不自动生成"),
    )

    __table_args__ = (
        CheckConstraint("land_area > 0", name="ck_estate_land_area"),
        CheckConstraint("total_floor_area > 0", name="ck_estate_floor_area"),
        CheckConstraint("green_ratio >= 0", name="ck_estate_green_ratio"),
        CheckConstraint("bill_day BETWEEN 1 AND 28", name="ck_estate_bill_day"),
    )

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        scope_path = "id"
        label = "小区"
        icon = "fa-home"
        list_columns = ("name", "code", "community", "company", "total_floor_area", "delivered_on")
        search_columns = ("name", "code", "address", "community", "company", "delivered_on")
        order_by = ("code", "asc")
        importable = True
        rules = (
            lambda v: [("green_ratio", "绿化率必须在 0 到 100 之间")]
            if v.get("green_ratio") is not None and not 0 <= v["green_ratio"] <= 100
            else [],
            # 29–31 do not occur every month: a schedule on them would skip February
            lambda v: [("bill_day", "自动生成账单日须在 1 到 28 之间")]
            if v.get("bill_day") is not None and not 1 <= v["bill_day"] <= 28 else [],
        )


class Building(Entity):
    __tablename__ = "building"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("所属小区"))
    code: Mapped[str] = mapped_column(String(20), info=zh("楼栋编号", "如 1、2A"))
    code_key: Mapped[str] = sort_key_of("code")
    name: Mapped[str] = mapped_column(String(50), info=zh("楼栋名称", "如 1号楼"))
    floors: Mapped[int] = mapped_column(Integer, info=zh("层数", check=positive))
    entrances: Mapped[int] = mapped_column(Integer, default=1, info=zh("单元数", check=positive))
    floor_area: Mapped[Decimal | None] = mapped_column(
        Area, info=zh("建筑面积(㎡)", check=positive)
    )
    structure: Mapped[str | None] = mapped_column(
        String(20), info=zh("结构类型", choices=STRUCTURES)
    )
    has_elevator: Mapped[bool] = mapped_column(Boolean, default=False, info=zh("有电梯"))
    completed_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("竣工日期"))

    __table_args__ = (
        UniqueConstraint(
            "estate_id", "code", name="uq_building_code",
            info={"message": "同一小区内楼栋编号不能重复"},
        ),
        CheckConstraint("floors > 0", name="ck_building_floors"),
        CheckConstraint("entrances > 0", name="ck_building_entrances"),
        CheckConstraint("floor_area > 0", name="ck_building_floor_area"),
        STRUCTURES.constraint("structure", "ck_building_structure"),
        Index("ix_building_estate_code_key", "estate_id", "code_key"),
        # what a unit's copy of the building's sort key names (see Unit.building_key)
        Index("uq_building_id_code_key", "id", "code_key", unique=True),
    )

    def __str__(self) -> str:
        return f"{self.estate.name} {self.name}"

    class Admin(Admin):
        label = "楼栋"
        icon = "fa-building-o"
        list_columns = ("estate", "code", "name", "floors", "entrances", "floor_area", "has_elevator")
        search_columns = ("estate", "code", "name", "structure", "has_elevator")
        order_by = ("code", "asc")
        sort_by = {"code": ("estate_id", "code")}
        lookup_columns = ("name", "code", "estate.name")
        str_loads = ("estate",)
        importable = True


def _building_key(context: Any) -> str | None:
    """A unit inserted by building id alone (a bulk insert) reads its building's key."""
    building_id = context.get_current_parameters().get("building_id")
    return context.connection.scalar(select(Building.code_key).where(Building.id == building_id))


class Unit(Entity):
    """A 专有部分; its 建筑面积 is the legal weight in owner votes and cost sharing."""

    __tablename__ = "unit"

    # Denormalised from the building so that scoping and per-estate aggregates
    # (100k units) need no join; kept equal to building.estate by the listener below.
    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("所属小区"))
    building_id: Mapped[int] = fk("building.id")
    building: Mapped[Building] = relationship(foreign_keys=[building_id], info=zh("楼栋"))
    # The building's sort key, copied so that the unit list reads in its order from one index of
    # this table, with no join and no sort (page 300 of a 10,000-unit estate). The database keeps
    # the copy: the (building_id, building_key) key cascades a renumbered building to its units.
    building_key: Mapped[str] = mapped_column(String(80), default=_building_key, info={"copy_of": "building.code_key"})
    entrance: Mapped[int] = mapped_column(Integer, default=1, info=zh("单元", check=positive))
    floor: Mapped[int] = mapped_column(Integer, info=zh("楼层", "地下层用负数"))
    room_no: Mapped[str] = mapped_column(
        String(20), info=zh("房号", "楼栋内唯一，如 2-1503 (单元-室)")
    )
    room_key: Mapped[str] = sort_key_of("room_no")
    floor_area: Mapped[Decimal] = mapped_column(
        Area, info=zh("建筑面积(㎡)", "表决与分摊的法定依据", check=positive)
    )
    inner_area: Mapped[Decimal | None] = mapped_column(
        Area, info=zh("套内面积(㎡)", check=positive)
    )
    unit_type: Mapped[str] = mapped_column(
        String(20), default="residence", info=zh("房屋类型", choices=UNIT_TYPES)
    )
    usage: Mapped[str] = mapped_column(
        String(20), default="living", info=zh("用途", choices=UNIT_USAGES)
    )
    status: Mapped[str] = mapped_column(
        String(20), default="owner_occupied", info=zh("房屋状态", choices=UNIT_STATUSES)
    )
    delivered_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("交付日期"))
    certificate_no: Mapped[str | None] = mapped_column(String(40), info=zh("产权证号"))

    __table_args__ = (
        UniqueConstraint(
            "building_id", "room_no", name="uq_unit_room",
            info={"message": "同一楼栋内房号不能重复"},
        ),
        CheckConstraint("floor_area > 0", name="ck_unit_floor_area"),
        CheckConstraint("inner_area > 0", name="ck_unit_inner_area"),
        CheckConstraint("inner_area IS NULL OR inner_area <= floor_area", name="ck_unit_inner_le_floor"),
        UNIT_TYPES.constraint("unit_type", "ck_unit_type"),
        UNIT_USAGES.constraint("usage", "ck_unit_usage"),
        UNIT_STATUSES.constraint("status", "ck_unit_status"),
        # the reading order (楼栋 → 单元 → 楼层 → 房号) is read from this index, building by building
        Index("ix_unit_reading_order", "building_id", "entrance", "floor", "room_key"),
        # the unit list's order (Admin.sort_by), estate by estate
        Index("ix_unit_list_order", "estate_id", "building_key", "building_id", "entrance", "floor", "room_key", "id"),
        ForeignKeyConstraint(["building_id", "building_key"], ["building.id", "building.code_key"],
                             name="fk_unit_building_key", ondelete="RESTRICT", onupdate="CASCADE"),
        Index("ix_unit_estate_room_key", "estate_id", "room_key"),
        Index("ix_unit_room_no", "room_no"),
        # the 房屋状态 filter's count across a jurisdiction (and within one estate) from the index alone
        Index("ix_unit_status_estate", "status", "estate_id"),
        trigram_index("unit", "room_no"),
        same_estate_key("unit"),  # bills name their payer by (id, 小区)
    )

    def __str__(self) -> str:
        return f"{self.building.estate.name} {self.building.name} {self.room_no}"

    class Admin(Admin):
        label = "房屋"
        icon = "fa-key"
        list_columns = ("building", "entrance", "floor", "room_no", "floor_area", "unit_type", "status")
        search_columns = ("estate", "building", "entrance", "floor", "room_no", "unit_type", "usage", "status",
                          "floor_area", "delivered_on", "certificate_no")
        keyword_columns = ("room_no", "building.name", "status", "unit_type", "certificate_no")
        form_columns = (
            "building", "entrance", "floor", "room_no", "floor_area", "inner_area",
            "unit_type", "usage", "status", "delivered_on", "certificate_no",
        )
        order_by = ("building", "asc")
        #: the reading order: estate, then 楼栋 as people number them, 单元, 楼层, 房号
        sort_by = {"building": ("estate_id", "building_key", "building_id", "entrance", "floor", "room_no"),
                   "room_no": ("estate_id", "room_no")}
        large = True
        #: a picker finds 8号楼 as well as 1-301
        lookup_columns = ("room_no", "building.name", "estate.name")
        str_loads = ("building", "building.estate")
        importable = True
        rules = (
            lambda v: [("inner_area", "套内面积不能大于建筑面积")]
            if v.get("inner_area") and v.get("floor_area") and v["inner_area"] > v["floor_area"]
            else [],
        )


def reading_order() -> tuple:
    """楼栋 → 单元 → 楼层 → 房号 as people number them, for statements joined to Building:
    printed rolls, ledgers and apportionments read in the order of the unit list."""
    return (Building.code_key, Unit.entrance, Unit.floor, Unit.room_key)


def reading_key(unit: Unit) -> tuple:
    """The same order for units already loaded (with their building)."""
    return (unit.building.code_key, unit.entrance, unit.floor, unit.room_key)


@event.listens_for(Unit.building, "set")
def _unit_follows_its_building(unit: Unit, building: Building | None, *_: object) -> None:
    if building is not None:
        unit.estate = building.estate
        unit.building_key = natural_key(building.code)
