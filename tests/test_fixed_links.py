"""A line never moves to another document, by any route (the attacker's side).

Moving a price line out of a published 收费标准 took the price off the public notice; moving
a building out of the 列支范围 of an application under vote changed what owners vote on.
Every relation declared fixed (``Admin.frozen_by`` and ``Admin.fixed_links``) keeps the row
it had at creation: the ORM refuses the change, the edit form and the REST body do not offer it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import inspect, select

from app.extensions import db
from models import clock
from models.base import declared_entities, fixed_links
from models.estate import Estate
from models.fees import FeeItem, FeeStandard, FeeStandardLine
from models.staff_quality import Survey, SurveyResponse
from models.workflow import Frozen
from tests.support import login

#: (model, relation) of every declared fixed link
LINKS = sorted(((m, link) for m in declared_entities() for link in fixed_links(m)),
               key=lambda pair: (pair[0].__name__, pair[1]))


def test_the_lines_of_every_frozen_document_are_declared_fixed():
    assert {(m.__name__, link) for m, link in LINKS} >= {
        ("FeeStandardLine", "standard"), ("FundScope", "application"), ("AssessmentItem", "assessment"),
        ("SurveyQuestion", "survey"), ("SurveyResponse", "survey"), ("SurveyAnswer", "response"),
        ("SurveyAnswer", "question"),
    }


def _two_targets(target: type) -> list:
    return db.session.execute(select(target).order_by(target.id).limit(2)).scalars().all()


@pytest.mark.parametrize(("model", "link"), LINKS, ids=[f"{m.__name__}.{link}" for m, link in LINKS])
def test_a_fixed_link_cannot_be_changed_through_the_relation(app, ctx, model, link):
    row = db.session.execute(select(model).order_by(model.id).limit(1)).scalar_one_or_none()
    target = inspect(model).relationships[link].mapper.class_
    assert row is not None, f"the demo data has a {model.__name__}"
    other = next(t for t in _two_targets(target) if t is not getattr(row, link))
    setattr(row, link, other)
    with pytest.raises(Frozen, match="创建后不能更改"):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(("model", "link"), LINKS, ids=[f"{m.__name__}.{link}" for m, link in LINKS])
def test_a_fixed_link_cannot_be_changed_through_its_key(app, ctx, model, link):
    row = db.session.execute(select(model).order_by(model.id).limit(1)).scalar_one_or_none()
    relation = inspect(model).relationships[link]
    key = inspect(model).get_property_by_column(next(iter(relation.local_columns))).key
    other = next(t for t in _two_targets(relation.mapper.class_) if t.id != getattr(row, key))
    setattr(row, key, other.id)
    with pytest.raises(Frozen, match="创建后不能更改"):
        db.session.flush()
    db.session.rollback()


def _published_line_and_a_draft() -> tuple[int, int, int]:
    """A line of a published standard of estate 1, and a draft standard of the same estate."""
    estate = db.session.execute(select(Estate).order_by(Estate.id)).scalars().first()
    item = db.session.execute(select(FeeItem).where(FeeItem.code == "WYF")).scalar_one()
    published = FeeStandard(estate=estate, title="已公示标准", company_name="测试物业", service_content="清洁",
                            service_standard="二级", basis="业主大会决议", effective_from=clock.today(),
                            state="published", published_on=clock.today() - dt.timedelta(days=40))
    published.lines = [FeeStandardLine(item=item, billing_basis="per_area", unit_price=Decimal("2.60"),
                                       price_form="market")]
    db.session.add(published)
    db.session.commit()  # each standard takes the next version number of its estate
    draft = FeeStandard(estate=estate, title="草稿标准", company_name="测试物业", service_content="清洁",
                        service_standard="二级", basis="业主大会决议", effective_from=clock.today(), state="draft")
    db.session.add(draft)
    db.session.commit()
    return published.lines[0].id, published.id, draft.id


@pytest.mark.parametrize("body_key", ["standard", "standard_id"])
def test_rest_cannot_move_a_price_line_out_of_a_published_standard(app, client, body_key):
    with app.app_context():
        line_id, published_id, draft_id = _published_line_and_a_draft()
    login(client, "manager_a")
    response = client.put(f"/api/v1/fee_standard_line/{line_id}", json={body_key: draft_id})
    assert 400 <= response.status_code < 500
    with app.app_context():
        assert db.session.get(FeeStandardLine, line_id).standard_id == published_id


def test_the_edit_form_of_a_line_offers_no_other_document(app, client):
    with app.app_context():
        line_id, published_id, draft_id = _published_line_and_a_draft()
    login(client, "admin")
    form = client.get(f"/fee_standard_line/edit/{line_id}").get_data(as_text=True)
    assert 'name="standard"' not in form
    client.post(f"/fee_standard_line/edit/{line_id}", data={"standard": str(draft_id), "unit_price": "9.99"})
    with app.app_context():
        line = db.session.get(FeeStandardLine, line_id)
        assert (line.standard_id, line.unit_price) == (published_id, Decimal("2.6000"))


def test_a_closed_surveys_answer_sheets_cannot_be_changed_or_added_to(app, ctx):
    from models.errors import Refused

    survey = db.session.execute(select(Survey).where(Survey.state == "closed").limit(1)).scalar_one_or_none()
    assert survey is not None, "the demo data has a closed survey"
    sheet = db.session.execute(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id).limit(1)).scalar_one()
    sheet.comment = "事后修改"
    with pytest.raises(Refused, match="调查答卷只能在满意度调查处于「进行中」时修改，所属满意度调查现为「已结束」"):
        db.session.flush()
    db.session.rollback()
