"""Junk in a URL is the client's mistake: a list's order, filter and paging parameters and
the record ids in paths answer 4xx (or are ignored), never 500, for every generated page."""

from __future__ import annotations

import pytest
from flask_appbuilder import ModelView

from tests.support import client_of

#: "²" is a digit to str.isdigit() and not a number to int()
JUNK_VALUES = ["\x00", "99999999999999999999", "2026-13-45", "-1", "'; DROP TABLE unit; --", "²"]
JUNK_IDS = ["99999999999", "-1", "0", "abc", "1.5", "1e3"]


def _answer(client, url: str, **query: str) -> int | str:
    try:
        return client.get(url, query_string=query).status_code
    except Exception as error:  # the test app propagates what would be a 500
        return repr(error)[:120]


def _list_views(app):
    return [v for v in app.appbuilder.baseviews if isinstance(v, ModelView) and hasattr(v, "list")]


@pytest.mark.parametrize("username", ["admin", "manager_a"])
def test_junk_filter_values_on_every_filter_of_every_list_are_not_a_server_error(app, username):
    client = client_of(app, username)
    failures = []
    for view in _list_views(app):
        for value in JUNK_VALUES:
            query = {f"_flt_{index}_{column}": value
                     for column, found in view._filters.get_search_filters().items()
                     for index in range(len(found) + 1)}  # one past the end too
            answer = _answer(client, view.route_base + "/list/", **query)
            if not isinstance(answer, int) or answer >= 500:
                failures.append((view.route_base, value, answer))
    assert failures == []


@pytest.mark.parametrize("username", ["admin", "manager_a"])
def test_junk_order_and_paging_parameters_of_every_list_are_not_a_server_error(app, username):
    client = client_of(app, username)
    failures = []
    for view in _list_views(app):
        name = view.__class__.__name__
        first = next(iter(view.order_columns or ["id"]))
        for query in ({f"_oc_{name}": "room_no'"}, {f"_oc_{name}": "no_such_column"},
                      {f"_oc_{name}": first, f"_od_{name}": "sideways"},
                      {f"page_{name}": "-5"}, {f"page_{name}": "²"}, {f"psize_{name}": "²"}, {"_flt_x_y": "1"}):
            answer = _answer(client, view.route_base + "/list/", **query)
            if not isinstance(answer, int) or answer >= 500:
                failures.append((view.route_base, query, answer))
    assert failures == []


def test_a_record_id_no_column_can_hold_is_not_found_on_every_route(app):
    client = client_of(app, "admin")
    failures = []
    for rule in app.url_map.iter_rules():
        if "pk" not in rule.arguments or "GET" not in rule.methods or set(rule.arguments) != {"pk"}:
            continue
        for pk in JUNK_IDS:
            url = rule.rule.replace("<pk>", pk).replace("<int:pk>", pk)
            answer = _answer(client, url)
            # beyond INTEGER: no such record; other junk may also match no route at all (405)
            if answer != 404 if pk == JUNK_IDS[0] else not (isinstance(answer, int) and 400 <= answer < 500):
                failures.append((url, answer))
    assert failures == []


@pytest.mark.parametrize(("method", "where"), [("GET", "query"), ("POST", "form"), ("POST", "json")])
def test_a_nul_character_anywhere_in_a_request_is_refused_in_chinese(app, method, where):
    client = client_of(app, "admin")
    url = "/api/v1/unit/" if where == "json" else "/unit/list/" if where == "query" else "/unit/add"
    sent = {"room_no": "9-\x00901", "floor": "9"}
    answer = client.open(url, method=method, **{"query": {"query_string": sent}, "form": {"data": sent},
                                                "json": {"json": sent}}[where])
    assert answer.status_code == 400
    said = answer.get_json()["message"] if where == "json" else answer.get_data(as_text=True)
    assert "无效的控制字符" in said


def test_a_lone_surrogate_in_a_rest_query_is_refused_in_chinese(app):
    q = '{"filters": [{"col": "room_no", "opr": "ct", "value": "\\ud80f"}]}'  # JSON's escape of half a character
    answer = client_of(app, "admin").get("/api/v1/unit/", query_string={"q": q})
    assert answer.status_code == 400
    assert "无效的控制字符" in answer.get_json()["message"]


def _post(client, url: str, data: dict) -> int | str:
    try:
        return client.post(url, data=data).status_code
    except Exception as error:  # the test app propagates what would be a 500
        return repr(error)[:120]


def test_a_digit_int_refuses_is_no_id_on_the_hand_written_pages(app):
    """Ids typed into the pages written by hand (not generated) are read by one rule: "²" or a
    number beyond the id column is no record, so the answer is a 4xx or the page as if none was chosen."""
    admin, board = client_of(app, "admin"), app.test_client()
    answers = {
        "账单 催缴 ?unit": _answer(admin, "/bill/dunning/", unit="²"),
        "账单 催缴 ?building": _answer(admin, "/bill/dunning/", building="99999999999"),
        "小区概览 ?estate": _answer(admin, "/dashboard/estate/", estate="²"),
        "批量生成账单": _post(admin, "/bill/generate/", {"estate": "²", "first": "2026-01", "months": "²"}),
        "首期交存": _post(admin, "/fund_entry/deposit/", {"estate": "²", "day": "2026-01-01"}),
        "分户账查询": _post(board, "/public/estate/1/fund/ledger", {"building": "²", "room": "1-0101", "id_suffix": "123456"}),
        "草案意见": _post(board, "/public/estate/1/governance", {"document": "²", "building": "²", "content": "意见"}),
        "表单的关联选择": _post(admin, "/unit/add", {"building": "²", "room_no": "1-0101"}),
    }
    failures = {name: answer for name, answer in answers.items() if not isinstance(answer, int) or answer >= 500}
    assert failures == {}
