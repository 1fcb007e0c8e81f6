"""What the REST API says by itself is Chinese: a malformed query, an unknown sort column,
the field descriptions of ``_info`` (FAB's own English texts, translated or replaced)."""

from __future__ import annotations

import pytest

from tests.support import login


@pytest.mark.parametrize(("query", "message"), [
    ("junk((", "查询参数 q 的格式不正确（应为 Rison 或 JSON）"),
    ("(order_column:no_such_column,order_direction:asc)", "不能按该字段排序：no_such_column"),
])
def test_a_malformed_rest_query_is_refused_in_chinese(client, query, message):
    login(client, "admin")
    response = client.get("/api/v1/unit/", query_string={"q": query})
    assert response.status_code == 400
    assert response.get_json()["message"] == message


def test_info_describes_fields_without_help_text_as_empty_not_with_the_catalogue_header(client):
    login(client, "admin")
    info = client.get("/api/v1/unit/_info")
    assert info.status_code == 200
    assert "Project-Id-Version" not in info.get_data(as_text=True)
    descriptions = {field["name"]: field["description"] for field in info.get_json()["add_columns"]}
    assert descriptions["building"] == descriptions["unit_type"] == ""
    assert any(descriptions.values()), "fields with help text keep it"


@pytest.mark.parametrize("building", [{"id": 1}, "1", [1], 2**31, 0, -3, True, 1.5])
def test_a_relation_given_as_anything_but_a_row_id_is_refused_in_chinese_and_adds_nothing(client, building):
    login(client, "admin")
    before = client.get("/api/v1/unit/", query_string={"q": "(page_size:1)"}).get_json()["count"]
    answer = client.post("/api/v1/unit/", json={"building": building, "floor": 9, "room_no": "9-901", "floor_area": "88.00"})
    assert answer.status_code == 422
    assert answer.get_json()["message"]["building"] == ["「楼栋」请填写关联记录的编号（正整数）"]
    assert client.get("/api/v1/unit/", query_string={"q": "(page_size:1)"}).get_json()["count"] == before

