"""ModelAdmins equivalent to the product's unit and bill pages (columns, filters, search,
order, 25 rows), configured as a competent team would for tables of this size."""

from __future__ import annotations

from django.contrib import admin

from bench.django_baseline.models import Bill, Unit


class EstateScopedAdmin(admin.ModelAdmin):
    list_per_page = 25
    show_full_result_count = False  # no second COUNT over the whole table on filtered pages

    def _estate_id(self, request) -> int | None:
        return request.user.scope.estate_id

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        estate_id = self._estate_id(request)
        return rows if estate_id is None else rows.filter(estate_id=estate_id)

    def get_list_filter(self, request):
        # the estate filter only for whoever sees more than one estate
        return (*self.list_filter, "estate") if self._estate_id(request) is None else self.list_filter


class InArrears(admin.SimpleListFilter):
    title = "欠费"
    parameter_name = "arrears"

    def lookups(self, request, model_admin):
        return (("yes", "欠费"),)

    def queryset(self, request, queryset):
        return queryset.filter(outstanding__gt=0) if self.value() == "yes" else queryset


@admin.register(Unit)
class UnitAdmin(EstateScopedAdmin):
    list_display = ("building", "entrance", "floor", "room_no", "floor_area", "unit_type", "status")
    list_select_related = ("building__estate",)
    list_filter = ("status", "unit_type", "usage")
    # room numbers have no letter case: a plain LIKE, which PostgreSQL's trigram index serves
    search_fields = ("room_no__contains",)
    # the reading order 楼栋 → 单元 → 楼层 → 房号, by the natural-order keys the unit table carries
    # (the same columns and index as ours: no join needed to sort)
    ordering = ("estate_id", "building_key", "building_id", "entrance", "floor", "room_key", "id")
    fields = ("building", "entrance", "floor", "room_no", "floor_area", "inner_area", "unit_type", "usage",
              "status", "delivered_on", "certificate_no")


@admin.register(Bill)
class BillAdmin(EstateScopedAdmin):
    list_display = ("period", "unit", "space", "item", "amount", "paid", "outstanding")
    list_select_related = ("unit__building__estate", "space", "item")
    list_filter = ("item", InArrears, "period")
    ordering = ("-period", "-id")
