"""Administrative hierarchy above the estates: 区 → 街道 → 社区(居委会)."""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from typing import TYPE_CHECKING

from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Admin, Entity, Menu, fk, zh

if TYPE_CHECKING:
    from models.estate import Estate


class District(Entity):
    __tablename__ = "district"

    name: Mapped[str] = mapped_column(String(50), unique=True, info=zh("区名称"))
    code: Mapped[str] = mapped_column(
        String(12), unique=True, info=zh("区划代码", "6 位行政区划代码，如 110105")
    )
    streets: Mapped[list[Street]] = relationship(back_populates="district", passive_deletes="all", info=zh("街道"))

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        scope_path = "streets.communities.estates.id"
        label = "区"
        menu = Menu.REGION
        icon = "fa-map-o"
        list_columns = ("name", "code")
        search_columns = ("name", "code")
        order_by = ("code", "asc")


class Street(Entity):
    __tablename__ = "street"

    district_id: Mapped[int] = fk("district.id")
    district: Mapped[District] = relationship(back_populates="streets", info=zh("所属区"))
    name: Mapped[str] = mapped_column(String(50), info=zh("街道名称"))
    code: Mapped[str] = mapped_column(String(12), unique=True, info=zh("街道代码"))
    phone: Mapped[str | None] = mapped_column(String(20), info=zh("办公电话"))
    communities: Mapped[list[Community]] = relationship(back_populates="street", passive_deletes="all", info=zh("社区"))

    __table_args__ = (
        UniqueConstraint(
            "district_id", "name", name="uq_street_name",
            info={"message": "同一区内街道名称不能重复"},
        ),
    )

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        scope_path = "communities.estates.id"
        label = "街道"
        menu = Menu.REGION
        icon = "fa-map-signs"
        list_columns = ("name", "code", "district", "phone")
        search_columns = ("name", "code", "district")
        order_by = ("code", "asc")


class Community(Entity):
    __tablename__ = "community"

    street_id: Mapped[int] = fk("street.id")
    street: Mapped[Street] = relationship(back_populates="communities", info=zh("所属街道"))
    name: Mapped[str] = mapped_column(String(50), info=zh("社区名称", "居委会名称"))
    code: Mapped[str] = mapped_column(String(15), unique=True, info=zh("社区代码"))
    phone: Mapped[str | None] = mapped_column(String(20), info=zh("办公电话"))
    estates: Mapped[list["Estate"]] = relationship(back_populates="community", passive_deletes="all", info=zh("小区"))

    __table_args__ = (
        UniqueConstraint(
            "street_id", "name", name="uq_community_name",
            info={"message": "同一街道内社区名称不能重复"},
        ),
    )

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        scope_path = "estates.id"
        label = "社区"
        menu = Menu.REGION
        icon = "fa-map-marker"
        list_columns = ("name", "code", "street", "phone")
        search_columns = ("name", "code", "street")
        order_by = ("code", "asc")
