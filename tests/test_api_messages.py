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



@pytest.mark.parametrize("authorization", [None, "Bearer abc", "Bearer a.b.c", "Basic eHg6eHg="])
def test_a_missing_or_malformed_token_is_401_in_chinese(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answer = client.get("/api/v1/unit/", headers=headers)
    assert answer.status_code == 401
    assert answer.get_json()["message"] in {"未登录：请在请求头 Authorization 中提供 Bearer 令牌", "令牌无效，请重新登录获取"}


@pytest.mark.parametrize(("body", "content_type", "message"), [
    ("not json", "text/plain", "请求内容必须是 JSON"),
    ('{"username":', "application/json", "请求内容无法解析，请检查 JSON 格式"),
    ('{"username": 1}', "application/json", {"username": ["不是有效的文本。"], "password": ["必填项不能为空。"]}),
])
def test_a_malformed_rest_login_is_refused_in_chinese(client, body, content_type, message):
    answer = client.post("/api/v1/security/login", data=body, content_type=content_type)
    assert answer.status_code == 400
    assert answer.get_json()["message"] == message


def test_rest_labels_name_related_rows_and_keys_in_chinese(client):
    login(client, "admin")
    labels = client.get("/api/v1/estate/", query_string={"q": "(page_size:1)"}).get_json()["label_columns"]
    assert labels["community.id"] == "所属社区编号" and labels["id"] == "编号"
    assert not [text for text in labels.values() if text.endswith(" Id") or text == "ID"]


def test_an_upload_over_the_size_limit_is_refused_in_chinese(app, client):
    login(client, "admin")
    answer = client.post("/unit/import/", data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
                         content_type="multipart/form-data; boundary=x")
    assert answer.status_code == 413
    assert "超过了 20 兆字节" in answer.get_data(as_text=True)


def test_a_rest_login_without_a_provider_uses_the_database(app, client):
    answer = client.post("/api/v1/security/login", json={"username": "admin", "password": app.config["DEMO_PASSWORD"]})
    assert answer.status_code == 200 and answer.get_json()["access_token"]
