"""A delete that would be refused says so before the click, and says why.

Two things refuse a delete (models/deleting.py): the row, or the document it is a line of, is
in a frozen state; or other rows still refer to it. The list greys the row's 删除 (and 编辑, for a
frozen row) with the reason; the delete itself is refused with the same words, on the page and
through the REST API, and nothing changes.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import ForeignKey, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.checks import _deletion_problems
from app.extensions import db
from models.base import declared_entities
from models.deleting import delete_refusals
from models.errors import Refused
from models.estate import Building, Estate, Unit
from models.fees import FeeStandard
from models.repair_fund import FundApplication
from models.service_orders import RepairOrder
from models.staff_quality import Survey, SurveyResponse
from models.workflow import Frozen
from tests.support import client_of, count_queries, flashed, in_db

ESTATE = 1  # manager_a's estate


def _row_of(page: str, path: str) -> str:
    """The table row whose buttons or cells mention ``path`` ("/building/show/7")."""
    for row in re.findall(r"<tr>.*?</tr>", page, re.S):
        if path in row:
            return row
    raise AssertionError(f"no row for {path}")


def _new_building(app, code: str, *, with_unit: bool) -> int:
    def make() -> int:
        building = Building(estate_id=ESTATE, code=code, name=f"{code}号楼", floors=6, entrances=1,
                            floor_area=Decimal("1200.00"), has_elevator=False)
        db.session.add(building)
        db.session.flush()
        if with_unit:
            db.session.add(Unit(estate_id=ESTATE, building_id=building.id, entrance=1, floor=1, room_no=f"{code}-101",
                                floor_area=Decimal("88.00")))
        db.session.commit()
        return building.id

    return in_db(app, make)


def _exists(app, model, pk: int) -> bool:
    return in_db(app, lambda: db.session.get(model, pk) is not None)


def _closed_repair_order(app) -> int:
    """A repair order of estate 1, closed (set in the database: the product only closes one
    after its 回访)."""
    def close() -> int:
        pk = db.session.scalar(select(RepairOrder.id).where(RepairOrder.estate_id == ESTATE).order_by(RepairOrder.id))
        db.session.execute(update(RepairOrder).where(RepairOrder.id == pk).values(state="closed"))
        db.session.commit()
        return pk

    return in_db(app, close)


def test_a_closed_repair_order_cannot_be_deleted(app):
    pk = _closed_repair_order(app)
    page = client_of(app, "manager_a").post(f"/repair_order/delete/{pk}", follow_redirects=True).get_data(as_text=True)

    assert any("报修工单处于「已关闭」状态，不能删除" in text for _category, text in flashed(page))
    assert _exists(app, RepairOrder, pk)


def test_a_closed_repair_order_cannot_be_deleted_through_rest(app):
    pk = _closed_repair_order(app)
    response = client_of(app, "manager_a").delete(f"/api/v1/repair_order/{pk}")

    assert response.status_code == 400 and "不能删除" in response.get_json()["message"]
    assert _exists(app, RepairOrder, pk)


def test_a_building_with_units_is_refused_with_what_is_in_the_way(app):
    pk = _new_building(app, "88", with_unit=True)
    page = client_of(app, "manager_a").post(f"/building/delete/{pk}", follow_redirects=True).get_data(as_text=True)

    assert any("还有房屋与它关联，不能删除；请先删除或改动这些记录" in text for _category, text in flashed(page))
    assert _exists(app, Building, pk)


def test_a_building_with_units_is_refused_through_rest_with_what_is_in_the_way(app):
    pk = _new_building(app, "88", with_unit=True)
    response = client_of(app, "manager_a").delete(f"/api/v1/building/{pk}")

    assert response.status_code == 400
    assert response.get_json()["message"] == "还有房屋与它关联，不能删除；请先删除或改动这些记录"
    assert _exists(app, Building, pk)


def test_an_empty_building_is_deleted(app):
    pk = _new_building(app, "89", with_unit=False)
    client_of(app, "manager_a").post(f"/building/delete/{pk}")

    assert not _exists(app, Building, pk)


def test_the_list_greys_the_delete_of_a_building_with_units_and_keeps_it_for_an_empty_one(app):
    full, empty = _new_building(app, "88", with_unit=True), _new_building(app, "89", with_unit=False)
    page = client_of(app, "manager_a").get("/building/list/?_oc_BuildingView=id&_od_BuildingView=desc") \
        .get_data(as_text=True)

    full_row, empty_row = _row_of(page, f"/building/show/{full}"), _row_of(page, f"/building/show/{empty}")
    assert f'data-delete="/building/delete/{full}"' not in full_row
    assert 'class="btn btn-sm btn-default refused"' in full_row and "还有房屋与它关联，不能删除" in full_row
    assert f'data-delete="/building/delete/{empty}"' in empty_row and "refused" not in empty_row


def test_a_published_fee_standard_offers_neither_edit_nor_delete_and_says_why(app):
    pk = in_db(app, lambda: db.session.scalar(select(FeeStandard.id).where(
        FeeStandard.estate_id == ESTATE, FeeStandard.state == "published")))
    page = client_of(app, "manager_a").get("/fee_standard/list/").get_data(as_text=True)

    row = _row_of(page, f"/fee_standard/show/{pk}")
    assert f"/fee_standard/edit/{pk}" not in row and "data-delete" not in row
    assert "收费标准处于「已公示」状态，不能修改" in row and "收费标准处于「已公示」状态，不能删除" in row


def test_a_published_fee_standards_edit_form_is_not_offered_and_says_why(app):
    pk = in_db(app, lambda: db.session.scalar(select(FeeStandard.id).where(
        FeeStandard.estate_id == ESTATE, FeeStandard.state == "published")))
    manager = client_of(app, "manager_a")
    manager.get("/fee_standard/list/")
    answer = manager.get(f"/fee_standard/edit/{pk}")

    assert answer.headers["Location"].endswith("/fee_standard/list/")  # back where the click was made
    assert ("danger", "收费标准处于「已公示」状态，不能修改") in flashed(manager.get("/fee_standard/list/").get_data(as_text=True))


def test_a_fund_application_under_way_keeps_its_edit_form_for_the_fields_still_open(app):
    def under_way() -> int:
        pk = db.session.scalar(select(FundApplication.id).where(FundApplication.estate_id == ESTATE))
        db.session.execute(update(FundApplication).where(FundApplication.id == pk).values(state="in_progress"))
        db.session.commit()
        return pk

    pk = in_db(app, under_way)
    response = client_of(app, "manager_a").get(f"/fund_application/edit/{pk}")

    assert response.status_code == 200 and 'name="actual_cost"' in response.get_data(as_text=True)


def test_the_lines_of_a_published_fee_standard_are_greyed_on_its_page(app):
    pk = in_db(app, lambda: db.session.scalar(select(FeeStandard.id).where(
        FeeStandard.estate_id == ESTATE, FeeStandard.state == "published")))
    page = client_of(app, "manager_a").get(f"/fee_standard/show/{pk}").get_data(as_text=True)

    assert "/fee_standard_line/edit/" not in page and 'data-delete="/fee_standard_line/' not in page
    assert "所属收费标准处于「已公示」状态，不能删除" in page


def test_a_documents_lines_are_greyed_by_the_state_its_page_has_read(app):
    """On the standard's own page its lines' state is the standard's, already on the page: not
    read again for the lines' buttons (they still say why, as above)."""
    pk = in_db(app, lambda: db.session.scalar(select(FeeStandard.id).where(
        FeeStandard.estate_id == ESTATE, FeeStandard.state == "published")))
    client = client_of(app, "manager_a")
    with count_queries(app) as statements:
        page = client.get(f"/fee_standard/show/{pk}").get_data(as_text=True)
    assert "所属收费标准处于「已公示」状态，不能删除" in page
    assert not [s for s in statements if re.match(r"SELECT fee_standard_line\.id, fee_standard\.state", s)]


def _tools(page: str) -> str:
    """The buttons under a record's page (编辑, 删除, 变更历史)."""
    found = re.search(r'<div class="well well-sm record-tools".*?</div>', page, re.S)
    assert found, "no buttons under the record"
    return found.group(0)


def test_a_records_page_offers_edit_and_delete_as_its_list_row_does(app):
    pk = _new_building(app, "S1", with_unit=False)
    tools = _tools(client_of(app, "manager_a").get(f"/building/show/{pk}").get_data(as_text=True))

    assert f'href="/building/edit/{pk}"' in tools and f'data-delete="/building/delete/{pk}"' in tools


def test_a_records_page_greys_delete_with_the_reason(app):
    pk = _new_building(app, "S2", with_unit=True)
    tools = _tools(client_of(app, "manager_a").get(f"/building/show/{pk}").get_data(as_text=True))

    assert 'data-delete="' not in tools and "还有房屋与它关联，不能删除；请先删除或改动这些记录" in tools
    assert f'href="/building/edit/{pk}"' in tools


def test_a_published_standards_page_greys_edit_and_delete_with_the_reasons(app):
    pk = _standard_in(app, "published")
    tools = _tools(client_of(app, "manager_a").get(f"/fee_standard/show/{pk}").get_data(as_text=True))

    assert 'href="/fee_standard/edit' not in tools and 'data-delete="' not in tools
    assert "收费标准处于「已公示」状态，不能修改" in tools and "收费标准处于「已公示」状态，不能删除" in tools


def test_a_records_page_offers_no_edit_or_delete_to_a_reader(app):
    pk = _new_building(app, "S3", with_unit=False)
    tools = _tools(client_of(app, "official_jd").get(f"/building/show/{pk}").get_data(as_text=True))

    assert "/building/edit/" not in tools and 'data-delete="' not in tools and "refused" not in tools


def test_a_record_deleted_from_its_page_leads_to_the_list(app):
    pk = _new_building(app, "S4", with_unit=False)
    manager = client_of(app, "manager_a")
    manager.get("/building/list/")
    manager.get(f"/building/show/{pk}")
    answer = manager.post(f"/building/delete/{pk}")

    assert not _exists(app, Building, pk)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/building/list/")


def _standard_in(app, state: str, estate: int = ESTATE) -> int:
    """A new 收费标准 of ``estate`` in ``state`` (set in the database, as its workflow would)."""
    def make() -> int:
        standard = FeeStandard(estate_id=estate, title="测试标准", company_name="测试物业", service_content="保洁",
                               service_standard="二级", basis="合同", effective_from=dt.date(2027, 1, 1))
        db.session.add(standard)
        db.session.flush()
        db.session.execute(update(FeeStandard).where(FeeStandard.id == standard.id).values(state=state))
        db.session.commit()
        return standard.id

    return in_db(app, make)


def _edit_title(app, pk: int) -> str:
    """Change a 收费标准's title in the database, as any route would; the refusal's words."""
    def edit() -> str:
        db.session.get(FeeStandard, pk).title = "改过的标题"
        with pytest.raises(Frozen) as refused:
            db.session.flush()
        db.session.rollback()
        return str(refused.value)

    return in_db(app, edit)


def test_a_submitted_standards_refusal_names_the_step_that_reopens_it(app):
    pk = _standard_in(app, "submitted")
    tools = _tools(client_of(app, "manager_a").get(f"/fee_standard/show/{pk}").get_data(as_text=True))

    assert "收费标准处于「待审核」状态，不能修改；「退回修改」后可再修改" in tools


def test_a_refused_save_says_what_the_greyed_button_says(app):
    assert _edit_title(app, _standard_in(app, "submitted")) == "收费标准处于「待审核」状态，不能修改；「退回修改」后可再修改"


def test_a_published_standards_refusal_offers_no_step_back(app):
    """公示 is final: no step leads back to a state that may change (a new version is a new standard)."""
    assert _edit_title(app, _standard_in(app, "published")) == "收费标准处于「已公示」状态，不能修改"


def _add_button(page: str, endpoint: str = "fee_standard_line") -> str:
    found = re.search(rf'<(a|span)[^>]*(?:href="/{endpoint}/add[^"]*"|class="btn btn-sm btn-primary refused")'
                      r'[^>]*>.*?</\1>', page, re.S)
    assert found, "no 新增 on the page"
    return found.group(0)


def test_a_published_standards_lines_offer_no_add_and_say_why(app):
    pk = _standard_in(app, "published")
    button = _add_button(client_of(app, "manager_a").get(f"/fee_standard/show/{pk}").get_data(as_text=True))

    assert "href=" not in button and "所属收费标准处于「已公示」状态，不能新增" in button


def test_a_draft_standards_lines_offer_add(app):
    pk = _standard_in(app, "draft")
    button = _add_button(client_of(app, "manager_a").get(f"/fee_standard/show/{pk}").get_data(as_text=True))

    assert f'href="/fee_standard_line/add?_flt_0_standard={pk}"' in button and "refused" not in button


def test_the_add_form_for_a_published_standards_line_leads_back_with_why(app):
    pk = _standard_in(app, "published")
    manager = client_of(app, "manager_a")
    manager.get(f"/fee_standard/show/{pk}")
    answer = manager.get(f"/fee_standard_line/add?_flt_0_standard={pk}")

    assert answer.status_code == 302 and f"/fee_standard/show/{pk}" in answer.headers["Location"]
    page = manager.get(answer.headers["Location"]).get_data(as_text=True)
    assert ("danger", "所属收费标准处于「已公示」状态，不能新增") in flashed(page)


def test_the_add_form_does_not_tell_the_state_of_another_estates_standard(app):
    pk = _standard_in(app, "published", estate=2)
    answer = client_of(app, "manager_a").get(f"/fee_standard_line/add?_flt_0_standard={pk}")

    # the form, as for any id (saving it is refused as a missing page), and no word of the state
    assert answer.status_code == 200 and "已公示" not in answer.get_data(as_text=True)


def _survey_sheet(app, state: str) -> tuple[int, int]:
    """A new 满意度调查 of estate 1 with one answer sheet, then put in ``state``."""
    def make() -> tuple[int, int]:
        survey = Survey(estate_id=ESTATE, title="测试调查", starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 11, 30),
                        state="open")
        sheet = SurveyResponse(survey=survey, answered_on=dt.date(2026, 11, 2))
        db.session.add_all([survey, sheet])
        db.session.flush()
        db.session.execute(update(Survey).where(Survey.id == survey.id).values(state=state))
        db.session.commit()
        return survey.id, sheet.id

    return in_db(app, make)


def test_a_closed_surveys_answer_sheet_greys_edit_and_delete_saying_when_they_may_change(app):
    survey_id, sheet_id = _survey_sheet(app, "closed")
    page = client_of(app, "manager_a").get(f"/survey_response/list/?_flt_0_survey={survey_id}").get_data(as_text=True)
    row = _row_of(page, f"/survey_response/show/{sheet_id}")

    assert "data-delete" not in row and f"/survey_response/edit/{sheet_id}" not in row
    assert "调查答卷只能在满意度调查处于「进行中」时删除，所属满意度调查现为「已结束」" in row
    assert "调查答卷只能在满意度调查处于「进行中」时修改，所属满意度调查现为「已结束」" in row


def test_an_open_surveys_answer_sheet_is_deleted(app):
    _survey_id, sheet_id = _survey_sheet(app, "open")
    manager = client_of(app, "manager_a")
    page = manager.get("/survey_response/list/").get_data(as_text=True)

    assert f'data-delete="/survey_response/delete/{sheet_id}"' in _row_of(page, f"/survey_response/show/{sheet_id}")
    manager.post(f"/survey_response/delete/{sheet_id}")
    assert not _exists(app, SurveyResponse, sheet_id)


def test_no_answer_sheet_is_added_to_a_draft_survey_and_the_form_says_why(app):
    survey_id, _sheet_id = _survey_sheet(app, "draft")
    manager = client_of(app, "manager_a")
    listed = manager.get(f"/survey_response/list/?_flt_0_survey={survey_id}").get_data(as_text=True)
    answer = manager.get(f"/survey_response/add?_flt_0_survey={survey_id}")

    assert "调查答卷只能在满意度调查处于「进行中」时新增，所属满意度调查现为「草稿」" in _add_button(listed, "survey_response")
    assert answer.status_code == 302
    page = manager.get(answer.headers["Location"]).get_data(as_text=True)
    assert ("danger", "调查答卷只能在满意度调查处于「进行中」时新增，所属满意度调查现为「草稿」") in flashed(page)


def test_a_property_company_serving_an_estate_is_not_deleted_and_the_estate_keeps_it(app):
    company_id = in_db(app, lambda: db.session.get(Estate, ESTATE).company_id)
    response = client_of(app, "admin").delete(f"/api/v1/property_company/{company_id}")

    assert response.status_code == 400 and response.get_json()["message"].startswith("还有小区")
    assert in_db(app, lambda: db.session.get(Estate, ESTATE).company_id) == company_id


def test_ones_own_account_row_says_why_it_cannot_be_deleted(app):
    page = client_of(app, "admin").get("/users/list/").get_data(as_text=True)
    admin_id = in_db(app, lambda: app.appbuilder.sm.find_user("admin").id)
    other_id = in_db(app, lambda: app.appbuilder.sm.find_user("staff_a").id)

    own = _row_of(page, f"/users/show/{admin_id}")
    assert "data-delete" not in own and "不能删除自己正在使用的账号" in own
    assert f'data-delete="/users/delete/{other_id}"' in _row_of(page, f"/users/show/{other_id}")


DELETED, RULE, DATABASE = "deleted", "refused by a rule", "refused by the database"

def _outcome(obj) -> str:
    """What deleting ``obj`` meets (then undone): nothing, a rule's refusal or the database's."""
    savepoint = db.session.begin_nested()
    try:
        db.session.delete(obj)
        db.session.flush()
        return DELETED
    except Refused:
        return RULE
    except IntegrityError:
        return DATABASE
    finally:
        savepoint.rollback()


@pytest.mark.parametrize("model", [m for m in declared_entities() if "delete" in m.Admin.actions],
                         ids=lambda m: m.__name__)
def test_what_the_button_says_is_what_the_database_does(app, ctx, model):
    """For every entity that can be deleted: the rows predicted refused are refused, the rows
    predicted free are deleted (two of each where the seeded data has them)."""
    ids = list(db.session.scalars(select(model.id).order_by(model.id).limit(60)))
    refusals = delete_refusals(db.session, model, ids)
    chosen = [pk for pk in ids if pk in refusals][:2] + [pk for pk in ids if pk not in refusals][:2]
    for pk in chosen:
        outcome = _outcome(db.session.get(model, pk))
        if pk in refusals:
            assert outcome != DELETED, (model.__name__, pk, refusals[pk])
        else:
            assert outcome == DELETED, (model.__name__, pk)


class _Base(DeclarativeBase):
    pass


class _Parent(_Base):
    __tablename__ = "parent_for_check"
    id: Mapped[int] = mapped_column(primary_key=True)
    children: Mapped[list["_Child"]] = relationship(back_populates="parent")


class _Child(_Base):
    __tablename__ = "child_for_check"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("parent_for_check.id", ondelete="RESTRICT"))
    parent: Mapped[_Parent] = relationship(back_populates="children")


def test_startup_refuses_a_collection_that_would_blank_its_rows_references_on_delete():
    (problem,) = _deletion_problems([_Parent, _Child])

    assert problem.startswith("_Parent.children: 删除时应由数据库的 ON DELETE 决定")
