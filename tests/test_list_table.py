"""The rows of a list table (views/list_table.py): each row's buttons lead to its own record,
a row the person does not act on offers only 详情, and every value is shown as text."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from views.list_table import table_rows

NO_FILTERS = SimpleNamespace(get_filters_values=lambda: [])


@pytest.fixture()
def rows(app):
    """The rows of two units (ids 7 and 12) on the 房屋 list, as the page would ask for them."""
    def render(*, acts_on=None, filters=NO_FILTERS, actions=None, values=None):
        values = values or [{"room_no": "1-101", "status": "rented"}, {"room_no": "1-102", "status": "vacant"}]
        with app.test_request_context("/unit/list/"):
            html = str(table_rows(
                modelview_name="UnitView", pks=[7, 12], value_columns=values, include_columns=["room_no", "status"],
                formatters={"status": {"rented": "出租", "vacant": "空置"}.get}, filters=filters, actions=actions,
                can_show=True, can_edit=True, can_delete=True, acts_on=acts_on))
        return [row for row in html.split("</tr>") if row.strip()]
    return render


def test_each_rows_buttons_lead_to_its_own_record(rows):
    first, second = rows()
    assert 'href="/unit/show/7"' in first and 'href="/unit/edit/7"' in first and 'data-delete="/unit/delete/7"' in first
    assert 'href="/unit/show/12"' in second and 'href="/unit/edit/12"' in second
    assert 'data-delete="/unit/delete/12"' in second


def test_no_row_offers_a_get_link_that_deletes(rows):
    assert not any('href="/unit/delete/' in row for row in rows())


def test_the_buttons_are_named_in_chinese_for_screen_readers_and_tooltips(rows):
    first, _ = rows()
    assert re.findall(r'<span class="sr-only">([^<]*)</span>', first) == ["详情", "编辑", "删除"]
    assert re.findall(r'title="([^"]*)"', first) == ["查看详情", "编辑记录", "删除记录"]


def test_a_row_the_person_does_not_act_on_offers_only_its_details(rows):
    mine, other = rows(acts_on={7})
    assert "/unit/edit/7" in mine and "/unit/delete/7" in mine
    assert "/unit/show/12" in other
    assert "/unit/edit/12" not in other and "/unit/delete/12" not in other


def test_each_column_is_shown_through_its_formatter(rows):
    first, second = rows()
    assert first.endswith("<td>1-101</td><td>出租</td>")
    assert second.endswith("<td>1-102</td><td>空置</td>")


def test_a_value_is_shown_as_text_never_as_markup(rows):
    first, _ = rows(values=[{"room_no": '<img src=x onerror="alert(1)">', "status": "rented"},
                            {"room_no": "1-102", "status": "vacant"}])
    assert "<img" not in first
    assert "<td>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</td>" in first


def test_a_list_with_bulk_actions_has_a_check_box_per_row(rows):
    first, second = rows(actions={"delete": object()})
    assert '<input class="action_check" name="rowid" value="7" type="checkbox" aria-label="选择">' in first
    assert 'value="12"' in second


def test_a_related_list_keeps_its_filter_in_the_show_and_edit_links(rows):
    """A 房屋's bills listed on its page: 详情 and 编辑 come back to the same filtered list."""
    related = SimpleNamespace(is_related_view=True, column_name="unit")
    first, _ = rows(filters=SimpleNamespace(get_filters_values=lambda: [(related, 3)]))
    assert 'href="/unit/show/7?_flt_0_unit=3"' in first and 'href="/unit/edit/7?_flt_0_unit=3"' in first
    assert 'data-delete="/unit/delete/7"' in first
