"""Every declaration is checked at start-up: a typo stops the app and names itself."""

from __future__ import annotations

import pytest

from app import checks, roles
from models.estate import Unit
from models.fees import FeeStandard
from views import registry


def test_the_shipped_declarations_pass_every_check(app):
    assert checks.problems() == []


@pytest.mark.parametrize("attribute, value, named", [
    ("list_columns", ("building", "room_nr"), "Unit.Admin.list_columns: 「room_nr」"),
    ("search_columns", ("estate", "ownerships"), "Unit.Admin.search_columns: 「ownerships」"),
    ("keyword_columns", ("building.nam",), "Unit.Admin.keyword_columns: 「building.nam」"),
    ("lookup_columns", ("room_no", "estate.title"), "Unit.Admin.lookup_columns: 「estate.title」"),
    ("order_by", ("room", "asc"), "Unit.Admin.order_by"),
    ("sort_by", {"building": ("building.cod",)}, "Unit.Admin.sort_by[building]: 「building.cod」"),
    ("scope_path", "building.estate", "Unit.Admin.scope_path"),
    ("str_loads", ("building.estat",), "Unit.Admin.str_loads: 「building.estat」"),
    ("changes_while", frozenset({"open"}), "Unit.Admin.changes_while: 须经 frozen_by"),
])
def test_a_misspelt_entity_declaration_is_named(app, monkeypatch, attribute, value, named):
    monkeypatch.setattr(Unit.Admin, attribute, value)
    assert any(problem.startswith(named) for problem in checks.problems()), checks.problems()
    with pytest.raises(checks.DeclarationError, match=attribute):
        checks.check_declarations()


def test_a_line_changing_in_a_state_its_document_lacks_is_named(app, monkeypatch):
    from models.staff_quality import SurveyResponse

    monkeypatch.setattr(SurveyResponse.Admin, "changes_while", frozenset({"opne"}))
    assert "SurveyResponse.Admin.changes_while: 「opne」不全是所属单据的状态" in checks.problems()


def test_an_action_the_entity_does_not_offer_is_named_not_dropped(app, monkeypatch):
    grants = dict(roles.MATRIX[roles.COMMITTEE])
    grants["FeeStandard"] = grants["FeeStandard"] | {"aprove"}
    monkeypatch.setitem(roles.MATRIX, roles.COMMITTEE, grants)
    assert f"角色矩阵 {roles.COMMITTEE} → FeeStandard: 没有「aprove」这个操作" in checks.problems()


def test_a_grant_on_an_unknown_entity_is_named(app, monkeypatch):
    grants = {**roles.MATRIX[roles.STAFF], "Uint": roles.READ}
    monkeypatch.setitem(roles.MATRIX, roles.STAFF, grants)
    assert f"角色矩阵 {roles.STAFF}: 「Uint」不是已声明的实体" in checks.problems()


def test_generic_levels_may_name_actions_an_entity_lacks(app):
    # MANAGE includes import: granting it on entities without an import is no typo
    assert "import" in roles.MATRIX[roles.MANAGER][roles.Menu.MASTER] and checks.problems() == []


def test_a_second_extension_of_one_entity_is_named(app, monkeypatch):
    monkeypatch.setattr(registry, "DUPLICATE_EXTENSIONS", [])
    monkeypatch.setitem(registry.EXTENSIONS, FeeStandard, registry.EXTENSIONS[FeeStandard])
    registry.extends(FeeStandard)(type("AnotherFeeStandardMixin", (), {}))
    assert any("FeeStandard: 同一实体有两个扩展" in p for p in checks.problems())


def test_a_workflow_naming_an_undeclared_state_is_named(app, monkeypatch):
    import dataclasses

    flow = FeeStandard.Admin.workflow
    broken = dataclasses.replace(flow.transitions[0], target="submited")
    monkeypatch.setattr(FeeStandard.Admin, "workflow", dataclasses.replace(flow, transitions=(broken, *flow.transitions[1:])))
    assert any("「submited」未在状态列表中声明" in p for p in checks.problems())


def _tables_of_a_bill(*keys):
    """estate, unit (each unit of an estate) and a bill with ``keys`` besides an unbuilt
    reference bill.estate_id -> estate."""
    from sqlalchemy import Column, ForeignKey, ForeignKeyConstraint, Integer, MetaData, Table

    from models.base import implied_reference

    metadata = MetaData()
    Table("estate", metadata, Column("id", Integer, primary_key=True))
    Table("unit", metadata, Column("id", Integer, primary_key=True),
          Column("estate_id", Integer, ForeignKey("estate.id")))
    bill = Table("bill", metadata, Column("id", Integer, primary_key=True), Column("estate_id", Integer),
                 Column("unit_id", Integer), implied_reference("estate_id", "estate.id"),
                 *(ForeignKeyConstraint(columns, targets) for columns, targets in keys))
    return [bill]


def test_an_unbuilt_reference_that_a_checked_composite_key_implies_passes():
    key = (["unit_id", "estate_id"], ["unit.id", "unit.estate_id"])
    assert list(checks._reference_problems(_tables_of_a_bill(key))) == []


def test_an_unbuilt_reference_that_no_checked_key_implies_is_named():
    key = (["unit_id"], ["unit.id"])  # says nothing about the bill's estate
    assert list(checks._reference_problems(_tables_of_a_bill(key))) == [
        "bill.estate_id: 不建的外键（→ estate.id）没有本表受检查的复合外键保证"]


@pytest.mark.parametrize("present, empty", [(("estate_id",), ()), ((), ("name",)), ((), ())])
def test_a_partial_key_that_would_keep_rows_the_forms_skip_is_refused(present, empty):
    """The forms' duplicate check skips a row with an empty column of the key; a key whose
    condition does not say so (a present column outside the key, an empty one inside it) would
    refuse in the database what the form let through. Without a condition it is a plain unique
    constraint, which is declared as one."""
    from models.base import unique_where

    with pytest.raises(ValueError, match="uq_example"):
        unique_where("uq_example", "company_id", "name", present=present, empty=empty, message="重复")
