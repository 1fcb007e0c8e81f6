"""The baseline: a plain Flask-AppBuilder app over the SAME tables and data.

What a team would otherwise build: minimal models mapped on the existing tables,
default ``ModelView``s showing the same columns, the same search columns and order,
FAB's default templates, permissions and security manager. No scoping, masking,
audit, eager loading or caching. It logs in with the same ``admin`` account (its
views reuse the product's view names, so the existing grants apply).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import Flask
from flask_appbuilder import AppBuilder, Model, ModelView
from flask_appbuilder.models.sqla import filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.models.sqla.base import SQLA
from sqlalchemy import Date, DateTime, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship


class Estate(Model):
    __tablename__ = "estate"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(20))

    def __str__(self) -> str:
        return self.name


class Building(Model):
    __tablename__ = "building"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    estate: Mapped[Estate] = relationship()
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(50))

    def __str__(self) -> str:
        return f"{self.estate.name} {self.name}"


class Unit(Model):
    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    estate: Mapped[Estate] = relationship()
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    building: Mapped[Building] = relationship()
    entrance: Mapped[int] = mapped_column(Integer)
    floor: Mapped[int] = mapped_column(Integer)
    room_no: Mapped[str] = mapped_column(String(20))
    floor_area: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    inner_area: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    unit_type: Mapped[str] = mapped_column(String(20))
    usage: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    delivered_on: Mapped[dt.date | None] = mapped_column(Date)
    certificate_no: Mapped[str | None] = mapped_column(String(40))

    def __str__(self) -> str:
        return f"{self.building.estate.name} {self.building.name} {self.room_no}"


class ParkingSpace(Model):
    __tablename__ = "parking_space"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    code: Mapped[str] = mapped_column(String(20))

    def __str__(self) -> str:
        return self.code


class FeeItem(Model):
    __tablename__ = "fee_item"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))

    def __str__(self) -> str:
        return self.name


class Bill(Model):
    __tablename__ = "bill"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    estate: Mapped[Estate] = relationship()
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    unit: Mapped[Unit | None] = relationship()
    space_id: Mapped[int | None] = mapped_column(ForeignKey("parking_space.id"))
    space: Mapped[ParkingSpace | None] = relationship()
    item_id: Mapped[int] = mapped_column(ForeignKey("fee_item.id"))
    item: Mapped[FeeItem] = relationship()
    period: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    paid: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    outstanding: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class _DecimalValue:
    """FAB 5.3 hands the typed value of a NUMERIC column's filter on as text, and PostgreSQL
    has no ``numeric > varchar`` (the 欠费 filter answered HTTP 500). The fix any team would
    make before using the filter: read the value as a Decimal."""

    def apply(self, query, value):
        try:
            value = Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            return query
        return super().apply(query, value)


class _NumericFilters(filters.SQLAFilterConverter):
    conversion_table = tuple(
        (kind, [type(f"Decimal{f.__name__}", (_DecimalValue, f), {})
                if f in (filters.FilterEqual, filters.FilterGreater, filters.FilterSmaller, filters.FilterNotEqual)
                else f for f in found]) if kind == "is_numeric" else (kind, found)
        for kind, found in filters.SQLAFilterConverter.conversion_table
    )


class PlainInterface(SQLAInterface):
    filter_converter_class = _NumericFilters


class UnitView(ModelView):
    route_base = "/unit"
    datamodel = PlainInterface(Unit)
    list_columns = ["building", "entrance", "floor", "room_no", "floor_area", "unit_type", "status"]
    show_columns = ["id", "building", "entrance", "floor", "room_no", "floor_area", "inner_area",
                    "unit_type", "usage", "status", "delivered_on", "certificate_no"]
    search_columns = ["estate", "room_no", "floor", "unit_type", "usage", "status", "certificate_no"]
    base_order = ("room_no", "asc")


class BillView(ModelView):
    route_base = "/bill"
    datamodel = PlainInterface(Bill)
    list_columns = ["period", "unit", "space", "item", "amount", "paid", "outstanding"]
    search_columns = ["estate", "item", "period", "outstanding", "amount"]
    base_order = ("period", "desc")


def create_plain_app(database_url: str, secret_key: str = "plain-fab-baseline") -> Flask:
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY=secret_key,
        WTF_CSRF_ENABLED=False,
        FAB_UPDATE_PERMS=False,  # the product's `flask sync-roles` made these permissions
        FAB_CREATE_DB=False,
        AUTH_ROLE_ADMIN="系统管理员",
        AUTH_TYPE=1,
    )
    db = SQLA()
    with app.app_context():
        db.init_app(app)
        appbuilder = AppBuilder()
        appbuilder.init_app(app, db.session)
        appbuilder.add_view(UnitView, "房屋", category="基础资料")
        appbuilder.add_view(BillView, "账单", category="收费管理")
    return app
