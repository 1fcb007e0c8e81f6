"""The REST API, fuzzed from its own published description: schemathesis generates requests
for every operation of /api/v1/_openapi (valid and invalid paths, queries and bodies), sent
as the administrator and as a 物业经理 limited to one estate. The bar is no server error.

How many requests per operation is ``EXAMPLES``; the same run happens on SQLite and on
PostgreSQL (make test-pg). The examples are derandomized (the same ones every run), so a
red run is a finding to fix, never a coincidence; run ``FUZZ_SEED=<n> pytest
tests/test_api_fuzz.py`` to explore further.
"""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.support import login

EXAMPLES = 5


def _token(app, username: str) -> dict[str, str]:
    answer = app.test_client().post("/api/v1/security/login", json={
        "username": username, "password": app.config["DEMO_PASSWORD"], "provider": "db"})
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


def _published_schema(app):
    answer = app.test_client().get("/api/v1/_openapi", headers=_token(app, "admin"))
    assert answer.status_code == 200
    return schemathesis.openapi.from_dict(answer.get_json())


@pytest.mark.parametrize("username", ["admin", "manager_a"])
def test_generated_requests_to_every_operation_get_no_server_error(app, username):
    schema, auth = _published_schema(app), _token(app, username)
    failures: list[tuple[str, str, int | str, str]] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 300, "every entity's list, item, _info, add, edit and delete is described"

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), derandomize="FUZZ_SEED" not in os.environ)
        def send(case):
            try:
                answer = case.call(app=app, headers=auth)
            except Exception as error:  # the test app raises what a server would answer with 500
                failures.append((operation.method.upper(), operation.path, repr(error)[:200], repr(case.query)))
                return
            if answer.status_code >= 500:
                failures.append((operation.method.upper(), operation.path, answer.status_code,
                                 f"{case.path_parameters} {case.query} {str(case.body)[:200]}"))

        if "FUZZ_SEED" in os.environ:
            send = seed(int(os.environ["FUZZ_SEED"]))(send)
        send()
    assert failures == []


def test_the_api_description_and_its_swagger_page_are_for_administrators_only(app):
    manager = app.test_client()
    login(manager, "manager_a")
    assert manager.get("/api/v1/_openapi").status_code in (401, 403)
    assert manager.get("/swagger/v1").status_code in (302, 403)
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/swagger/v1").get_data(as_text=True)
    assert "swagger-ui-bundle.js" in page and "//cdn" not in page and "https://" not in page


def _texts(value, key=None):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v, key)
    elif isinstance(value, str) and key in ("description", "summary"):
        yield value


def test_the_api_description_reads_in_chinese(app):
    spec = app.test_client().get("/api/v1/_openapi", headers=_token(app, "admin")).get_json()
    unit_list = spec["paths"]["/api/v1/unit/"]["get"]
    assert unit_list["summary"].startswith("房屋列表") and unit_list["tags"] == ["房屋"]
    untranslated = {text for text in _texts(spec) if not re.search(r"[\u4e00-\u9fff]", text)}
    assert untranslated == set()
