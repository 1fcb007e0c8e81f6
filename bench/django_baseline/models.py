"""The product's tables as a Django team would map them: unmanaged, only the columns shown."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from models.estate import UNIT_STATUSES, UNIT_TYPES, UNIT_USAGES


class ExactDecimal(models.DecimalField):
    """The product keeps decimals exact on SQLite as integer counts of cents (or 0.01 ㎡);
    on PostgreSQL they are NUMERIC, which Django reads as it is."""

    def from_db_value(self, value, expression, connection):
        if value is None or connection.vendor != "sqlite":
            return value
        return (Decimal(int(value)).scaleb(-self.decimal_places)).quantize(Decimal(1).scaleb(-self.decimal_places))


def _unmanaged(table: str, label: str):
    return type("Meta", (), {"managed": False, "db_table": table, "verbose_name": label,
                             "verbose_name_plural": label})


class Estate(models.Model):
    name = models.CharField("小区名称", max_length=80)
    code = models.CharField("小区编码", max_length=20)
    Meta = _unmanaged("estate", "小区")

    def __str__(self) -> str:
        return self.name


class Building(models.Model):
    estate = models.ForeignKey(Estate, models.DO_NOTHING, verbose_name="所属小区")
    code = models.CharField("楼栋编号", max_length=20)
    code_key = models.CharField(max_length=80)
    name = models.CharField("楼栋名称", max_length=50)
    Meta = _unmanaged("building", "楼栋")

    def __str__(self) -> str:
        return f"{self.estate.name} {self.name}"


class Unit(models.Model):
    estate = models.ForeignKey(Estate, models.DO_NOTHING, verbose_name="所属小区")
    building = models.ForeignKey(Building, models.DO_NOTHING, verbose_name="楼栋")
    building_key = models.CharField(max_length=80)
    entrance = models.IntegerField("单元")
    floor = models.IntegerField("楼层")
    room_no = models.CharField("房号", max_length=20)
    room_key = models.CharField(max_length=80)
    floor_area = ExactDecimal("建筑面积(㎡)", max_digits=12, decimal_places=2)
    inner_area = ExactDecimal("套内面积(㎡)", max_digits=12, decimal_places=2, null=True)
    unit_type = models.CharField("房屋类型", max_length=20, choices=UNIT_TYPES.pairs)
    usage = models.CharField("用途", max_length=20, choices=UNIT_USAGES.pairs)
    status = models.CharField("房屋状态", max_length=20, choices=UNIT_STATUSES.pairs)
    delivered_on = models.DateField("交付日期", null=True)
    certificate_no = models.CharField("产权证号", max_length=40, null=True)
    Meta = _unmanaged("unit", "房屋")

    def __str__(self) -> str:
        return f"{self.building.estate.name} {self.building.name} {self.room_no}"


class ParkingSpace(models.Model):
    estate = models.ForeignKey(Estate, models.DO_NOTHING, verbose_name="所属小区")
    code = models.CharField("车位编号", max_length=20)
    Meta = _unmanaged("parking_space", "车位")

    def __str__(self) -> str:
        return self.code


class FeeItem(models.Model):
    name = models.CharField("收费项目", max_length=50)
    Meta = _unmanaged("fee_item", "收费项目")

    def __str__(self) -> str:
        return self.name


class Bill(models.Model):
    estate = models.ForeignKey(Estate, models.DO_NOTHING, verbose_name="所属小区")
    unit = models.ForeignKey(Unit, models.DO_NOTHING, null=True, verbose_name="房屋")
    space = models.ForeignKey(ParkingSpace, models.DO_NOTHING, null=True, verbose_name="车位")
    item = models.ForeignKey(FeeItem, models.DO_NOTHING, verbose_name="收费项目")
    period = models.DateField("账期")
    amount = ExactDecimal("应收金额", max_digits=14, decimal_places=2)
    paid = ExactDecimal("已收金额", max_digits=14, decimal_places=2)
    outstanding = ExactDecimal("欠费金额", max_digits=14, decimal_places=2)
    Meta = _unmanaged("bill", "账单")


class StaffScope(models.Model):
    """Which estate a staff user manages (none: every estate, the official)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="scope")
    estate = models.ForeignKey(Estate, models.DO_NOTHING, null=True, db_constraint=False)

    class Meta:
        db_table = "bench_admin_staff_scope"
