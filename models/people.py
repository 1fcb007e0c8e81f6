"""Owners (业主), their titles to units (产权份额) and occupants (住户/租户)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Admin, Choices, Entity, ExactDecimal, Menu, fk, positive, trigram_index, zh
from models.estate import Estate, Unit
from models.validators import (
    check_foreign_permanent, check_id_card, check_mobile, check_residence_permit, check_uscc, normalize_code,
)

ID_TYPES = Choices(
    ("resident_id", "居民身份证"),
    ("residence_permit", "港澳台居民居住证"),
    ("foreign_permanent", "外国人永久居留身份证"),
    ("hk_macao_permit", "港澳居民来往内地通行证"),
    ("taiwan_permit", "台湾居民来往大陆通行证"),
    ("passport", "护照"),
    ("uscc", "统一社会信用代码"),
)
RESIDENT_RELATIONS = Choices(
    ("owner", "业主本人"), ("family", "家庭成员"), ("tenant", "租户"), ("other", "其他"),
)

#: which identity documents carry a checksum we can verify
_ID_CHECKS = {"resident_id": check_id_card, "residence_permit": check_residence_permit,
              "foreign_permanent": check_foreign_permanent, "uscc": check_uscc}


def _id_number_matches_type(values: dict) -> list[tuple[str, str]]:
    check = _ID_CHECKS.get(values.get("id_type") or "")
    number = values.get("id_number")
    if check and number:
        message = check(number)
        if message:
            return [("id_number", message)]
    return []


class Owner(Entity):
    __tablename__ = "owner"

    # An owner record belongs to the estate whose 物业 keeps it (业主档案 are kept per
    # estate); one person owning in two estates has a record in each.
    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("所属小区"))
    name: Mapped[str] = mapped_column(String(100), info=zh("姓名/名称"))
    id_type: Mapped[str] = mapped_column(
        String(20), default="resident_id", info=zh("证件类型", choices=ID_TYPES)
    )
    id_number: Mapped[str] = mapped_column(
        String(30), index=True,
        info=zh("证件号码", "居民身份证、居住证、永久居留身份证校验 18 位及校验位", masked="id_card", normalize=normalize_code)
    )
    mobile: Mapped[str | None] = mapped_column(
        String(11), index=True, info=zh("手机号", check=check_mobile, masked="mobile")
    )
    is_developer: Mapped[bool] = mapped_column(
        Boolean, default=False, info=zh("开发建设单位", "未售房屋登记在开发建设单位名下")
    )
    ownerships: Mapped[list[UnitOwnership]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", info=zh("产权房屋")
    )

    __table_args__ = (
        UniqueConstraint(
            "estate_id", "id_type", "id_number", name="uq_owner_id_number",
            info={"message": "本小区已有相同证件号码的业主"},
        ),
        ID_TYPES.constraint("id_type", "ck_owner_id_type"),
        trigram_index("owner", "name"),
    )

    def __str__(self) -> str:
        return self.name

    def lookup_label(self) -> str:
        """Two owners of one name told apart in a picker: the estate and the ID's last four
        characters (what masked lists show of it too)."""
        tail = (self.id_number or "")[-4:]
        return f"{self.name}（{self.estate.name}，证件尾号 {tail}）" if tail else f"{self.name}（{self.estate.name}）"

    class Admin(Admin):
        label = "业主"
        menu = Menu.PEOPLE
        icon = "fa-user"
        list_columns = ("name", "estate", "id_type", "id_number", "mobile", "is_developer")
        search_columns = ("name", "estate", "ownerships.unit", "id_number", "mobile", "is_developer")
        form_columns = ("estate", "name", "id_type", "id_number", "mobile", "is_developer")
        order_by = ("name", "asc")
        large = True
        lookup_columns = ("name", "mobile", "id_number")
        importable = True
        rules = (_id_number_matches_type,)


class UnitOwnership(Entity):
    """业主-房屋: who holds title to a unit, and what share (按份共有)."""

    __tablename__ = "unit_ownership"

    unit_id: Mapped[int] = fk("unit.id", ondelete="CASCADE")
    unit: Mapped[Unit] = relationship(info=zh("房屋"))
    owner_id: Mapped[int] = fk("owner.id", ondelete="CASCADE")
    owner: Mapped[Owner] = relationship(back_populates="ownerships", info=zh("业主"))
    share: Mapped[Decimal] = mapped_column(
        ExactDecimal(5, 2), default=Decimal("100.00"),
        info=zh("产权份额(%)", "按份共有时各业主份额之和为 100", check=positive),
    )
    acquired_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("取得日期"))

    __table_args__ = (
        UniqueConstraint(
            "unit_id", "owner_id", name="uq_ownership",
            info={"message": "该业主已登记为此房屋的产权人"},
        ),
        CheckConstraint("share > 0", name="ck_ownership_share"),
    )

    def __str__(self) -> str:
        return f"{self.owner} · {self.unit}"

    class Admin(Admin):
        scope_path = "unit.estate_id"
        label = "产权登记"
        menu = Menu.PEOPLE
        icon = "fa-link"
        list_columns = ("unit", "owner", "share", "acquired_on")
        search_columns = ("share", "acquired_on")
        str_loads = ("owner", "unit", "unit.building", "unit.building.estate")
        rules = (
            lambda v: [("share", "产权份额不能超过 100%")]
            if v.get("share") is not None and v["share"] > 100
            else [],
        )


class Resident(Entity):
    """住户/租户: who lives in a unit, owner or not."""

    __tablename__ = "resident"

    unit_id: Mapped[int] = fk("unit.id")
    unit: Mapped[Unit] = relationship(info=zh("房屋"))
    name: Mapped[str] = mapped_column(String(50), info=zh("姓名"))
    relation: Mapped[str] = mapped_column(
        String(20), default="family", info=zh("与业主关系", choices=RESIDENT_RELATIONS)
    )
    id_number: Mapped[str | None] = mapped_column(
        String(18), info=zh("身份证号", check=check_id_card, masked="id_card")
    )
    mobile: Mapped[str | None] = mapped_column(
        String(11), info=zh("手机号", check=check_mobile, masked="mobile")
    )
    moved_in_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("入住日期"))
    moved_out_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("迁出日期"))

    __table_args__ = (
        CheckConstraint(
            "moved_out_on IS NULL OR moved_in_on IS NULL OR moved_out_on >= moved_in_on",
            name="ck_resident_dates",
        ),
        RESIDENT_RELATIONS.constraint("relation", "ck_resident_relation"),
    )

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        scope_path = "unit.estate_id"
        label = "住户/租户"
        menu = Menu.PEOPLE
        icon = "fa-user-o"
        list_columns = ("name", "unit", "relation", "mobile", "moved_in_on", "moved_out_on")
        search_columns = ("name", "relation", "mobile", "moved_in_on")
        order_by = ("moved_in_on", "desc")
        str_loads = ()
        date_order = (("moved_in_on", "moved_out_on"),)
