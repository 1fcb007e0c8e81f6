"""Drafts of the 管理规约 / 议事规则 put out for comment, as specifications: owners comment from the
public board (proving their unit) or on paper, the convener answers, the board shows comments and
answers without names, and nothing is taken outside the period or changed once a version is adopted.

The estate is the meeting tests' one: five owners A–E, A holding two units.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.errors import Refused
from models.estate import Unit
from models.governing_documents import NOT_UNDER_COMMENT, DraftComment, GoverningDocument, adopt
from models.people import Owner
from models.workflow import Frozen
from tests.support import client_of, in_db, text_of
from tests.test_owners_meeting import DAY, TODAY, _estate

LARGE_ESTATE, OTHER_ESTATE = 1, 2


def _draft(estate_id: int, comment_until=TODAY + 5 * DAY) -> GoverningDocument:
    document = GoverningDocument(estate_id=estate_id, kind="covenant", title="管理规约（征求意见稿）",
                                 comment_until=comment_until)
    db.session.add(document)
    db.session.flush()
    return document


def _owner(estate_id: int, person: str) -> Owner:
    return db.session.execute(select(Owner).where(Owner.estate_id == estate_id,
                                                  Owner.name == f"业主{person}")).scalar_one()


def _seed(app, comment_until=TODAY + 5 * DAY):
    """(estate id, draft id, B's unit form fields with B's 证件号后六位)."""
    def make():
        estate, units = _estate()
        document = _draft(estate.id, comment_until)
        unit = db.session.get(Unit, units["B"][0])
        fields = {"building": str(unit.building_id), "room": unit.room_no,
                  "id_suffix": _owner(estate.id, "B").id_number[-6:]}
        db.session.commit()
        return estate.id, document.id, fields

    return in_db(app, make)


def _comments(app, document_id: int) -> list[tuple]:
    return in_db(app, lambda: db.session.execute(
        select(DraftComment.channel, DraftComment.content, DraftComment.submitted_on, Owner.name)
        .join(Owner, Owner.id == DraftComment.owner_id).where(DraftComment.document_id == document_id)).all())


# -- from the public board ------------------------------------------------------------------------

def test_an_owner_comments_on_a_draft_out_for_comment_from_the_board(app):
    estate_id, document_id, fields = _seed(app)
    response = app.test_client().post(f"/public/estate/{estate_id}/governance",
                                      data={**fields, "document": str(document_id), "content": "建议增加充电桩条款"})
    assert response.status_code == 200 and "已收到您对「管理规约（征求意见稿）」的意见" in text_of(response)
    assert _comments(app, document_id) == [("online", "建议增加充电桩条款", TODAY, "业主B")]


def test_a_wrong_id_suffix_writes_nothing_and_says_why_in_chinese(app):
    estate_id, document_id, fields = _seed(app)
    response = app.test_client().post(f"/public/estate/{estate_id}/governance", data={
        **fields, "id_suffix": "000000", "document": str(document_id), "content": "意见"})
    assert response.status_code == 400 and "房屋或证件号码后六位不正确" in text_of(response)
    assert _comments(app, document_id) == []


def test_no_comment_is_taken_from_the_board_after_the_period(app):
    estate_id, document_id, fields = _seed(app, comment_until=TODAY - DAY)
    response = app.test_client().post(f"/public/estate/{estate_id}/governance",
                                      data={**fields, "document": str(document_id), "content": "意见"})
    assert response.status_code == 400 and NOT_UNDER_COMMENT in text_of(response)
    assert "征求意见已于" in text_of(response) and 'name="content"' not in text_of(response)
    assert _comments(app, document_id) == []


def test_a_comment_longer_than_the_limit_is_refused_with_its_length(app):
    estate_id, document_id, fields = _seed(app)
    response = app.test_client().post(f"/public/estate/{estate_id}/governance",
                                      data={**fields, "document": str(document_id), "content": "长" * 1001})
    assert response.status_code == 400 and "不能超过 1000 字，现为 1001 字" in text_of(response)
    assert _comments(app, document_id) == []


def test_another_estates_draft_takes_no_comment_through_this_estates_board(app):
    estate_id, _document_id, fields = _seed(app)

    def theirs():
        document = _draft(OTHER_ESTATE)
        db.session.commit()
        return document.id

    other_id = in_db(app, theirs)
    response = app.test_client().post(f"/public/estate/{estate_id}/governance",
                                      data={**fields, "document": str(other_id), "content": "意见"})
    assert response.status_code == 400 and NOT_UNDER_COMMENT in text_of(response)
    assert _comments(app, other_id) == []


def test_the_board_shows_comments_and_answers_without_names(app):
    estate_id, document_id, _fields = _seed(app)

    def comment():
        db.session.add(DraftComment(document_id=document_id, owner_id=_owner(estate_id, "C").id, channel="paper",
                                    submitted_on=TODAY, content="车位条款请再斟酌", reply="已采纳，改为按需租赁"))
        db.session.commit()

    in_db(app, comment)
    page = text_of(app.test_client().get(f"/public/estate/{estate_id}/governance"))
    assert "车位条款请再斟酌" in page and "已采纳，改为按需租赁" in page and f"{TODAY} 答复" in page
    assert "业主C" not in page
    assert f"征求意见至 {TODAY + 5 * DAY}" in page and 'name="content"' in page


# -- the rules of a comment ------------------------------------------------------------------------

def test_a_draft_not_out_for_comment_takes_no_comment(ctx):
    estate, _units = _estate()
    document = _draft(estate.id, comment_until=None)
    db.session.add(DraftComment(document_id=document.id, owner_id=_owner(estate.id, "B").id, submitted_on=TODAY,
                                content="意见"))
    with pytest.raises(Refused, match=NOT_UNDER_COMMENT):
        db.session.flush()


def test_a_paper_comment_dated_after_the_period_is_refused(ctx):
    estate, _units = _estate()
    document = _draft(estate.id, comment_until=TODAY - 2 * DAY)
    db.session.add(DraftComment(document_id=document.id, owner_id=_owner(estate.id, "B").id,
                                submitted_on=TODAY - DAY, content="意见"))
    with pytest.raises(Refused, match="征求意见已于 .* 截止"):
        db.session.flush()


def test_a_paper_comment_received_on_the_last_day_is_taken(ctx):
    estate, _units = _estate()
    document = _draft(estate.id, comment_until=TODAY - 2 * DAY)
    comment = DraftComment(document_id=document.id, owner_id=_owner(estate.id, "B").id, channel="paper",
                           submitted_on=TODAY - 2 * DAY, content="意见")
    db.session.add(comment)
    db.session.flush()
    assert comment.id is not None


def test_the_answer_is_dated_the_day_it_is_written(ctx):
    estate, _units = _estate()
    comment = DraftComment(document_id=_draft(estate.id).id, owner_id=_owner(estate.id, "B").id, submitted_on=TODAY,
                           content="意见")
    db.session.add(comment)
    db.session.flush()
    assert comment.replied_on is None
    comment.reply = "已采纳"
    db.session.flush()
    assert comment.replied_on == TODAY


def test_a_commenter_is_an_owner_of_the_drafts_estate(ctx):
    estate, _units = _estate()
    stranger = db.session.execute(select(Owner).where(Owner.estate_id != estate.id)).scalars().first()
    db.session.add(DraftComment(document_id=_draft(estate.id).id, owner_id=stranger.id, submitted_on=TODAY,
                                content="意见"))
    with pytest.raises(Refused, match="所选的业主不属于同一小区"):
        db.session.flush()


def test_comments_no_longer_change_once_the_version_is_adopted(ctx):
    estate, _units = _estate()
    document = _draft(estate.id)
    comment = DraftComment(document_id=document.id, owner_id=_owner(estate.id, "B").id, submitted_on=TODAY,
                           content="意见")
    db.session.add(comment)
    db.session.flush()

    class Decision:  # the matter that passed (only its id is kept)
        id = None

    adopt(db.session, document, Decision())
    db.session.flush()
    comment.reply = "迟到的答复"
    with pytest.raises(Frozen):
        db.session.flush()


# -- who may record and answer ------------------------------------------------------------------

def _comment_in(estate_id: int) -> int:
    document = _draft(estate_id)
    owner = db.session.execute(select(Owner).where(Owner.estate_id == estate_id)).scalars().first()
    row = DraftComment(document_id=document.id, owner_id=owner.id, submitted_on=TODAY, content="意见")
    db.session.add(row)
    db.session.commit()
    return row.id


def test_the_committee_answers_and_a_manager_only_reads(app):
    pk = in_db(app, lambda: _comment_in(LARGE_ESTATE))  # the estate of manager_a and committee_a
    manager = client_of(app, "manager_a")
    assert manager.get(f"/api/v1/draft_comment/{pk}").status_code == 200
    assert manager.put(f"/api/v1/draft_comment/{pk}", json={"reply": "物业答复"}).status_code in (401, 403)
    committee = client_of(app, "committee_a")
    answer = committee.put(f"/api/v1/draft_comment/{pk}", json={"reply": "已采纳"})
    assert answer.status_code == 200, answer.get_json()
    assert in_db(app, lambda: db.session.get(DraftComment, pk).reply) == "已采纳"


def test_another_estates_committee_cannot_reach_a_comment(app):
    pk = in_db(app, lambda: _comment_in(OTHER_ESTATE))
    committee = client_of(app, "committee_a")
    assert committee.get(f"/draft_comment/show/{pk}").status_code == 404
    assert committee.put(f"/api/v1/draft_comment/{pk}", json={"reply": "越权答复"}).status_code == 404
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(DraftComment).where(
        DraftComment.id == pk, DraftComment.reply.is_not(None)))) == 0


def test_an_owner_sends_at_most_five_comments_on_a_draft_from_the_board(app):
    estate_id, document_id, fields = _seed(app)
    board = app.test_client()
    for number in range(1, 6):
        response = board.post(f"/public/estate/{estate_id}/governance",
                              data={**fields, "document": str(document_id), "content": f"第 {number} 条意见"})
        assert response.status_code == 200
    sixth = board.post(f"/public/estate/{estate_id}/governance",
                       data={**fields, "document": str(document_id), "content": "第 6 条意见"})
    assert sixth.status_code == 400 and "您已在网上对该草案提出 5 条意见" in text_of(sixth)
    assert len(_comments(app, document_id)) == 5


def test_a_paper_comment_without_a_date_is_dated_today(app):
    pk = in_db(app, lambda: _comment_in(LARGE_ESTATE))
    document_id = in_db(app, lambda: db.session.get(DraftComment, pk).document_id)
    owner_id = in_db(app, lambda: db.session.get(DraftComment, pk).owner_id)
    response = client_of(app, "committee_a").post("/api/v1/draft_comment/", json={
        "document": document_id, "owner": owner_id, "content": "书面意见：请公示停车位分配细则"})
    assert response.status_code == 201, response.get_json()
    assert in_db(app, lambda: db.session.get(DraftComment, response.get_json()["id"]).submitted_on) == TODAY
