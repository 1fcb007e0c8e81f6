"""A user's estates are kept between requests under the scope stamp, and any change to what a
grant reaches — whoever makes it, through whatever path — moves the stamp, so the next request
of every process sees it."""

from __future__ import annotations

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from app.extensions import db
from models.access import ScopeStamp, UserScope
from models.estate import Estate
from models.region import Community, Street
from tests.support import client_of

LARGE, SMALL = 1, 2


def _stamp() -> int:
    return db.session.execute(select(ScopeStamp.version)).scalar_one()


def _user_id(app, username: str) -> int:
    return app.appbuilder.sm.find_user(username).id


def test_a_new_grant_moves_the_scope_stamp(app, ctx):
    before = _stamp()
    db.session.add(UserScope(user_id=_user_id(app, "staff_a"), estate_id=SMALL))
    db.session.flush()
    assert _stamp() == before + 1


def test_estates_inserted_in_bulk_move_the_scope_stamp(ctx):
    community_id = db.session.scalar(select(Estate.community_id).where(Estate.id == LARGE))
    before = _stamp()
    db.session.execute(insert(Estate), [
        {"community_id": community_id, "name": f"批量小区{i}", "code": f"PL000{i}", "address": "测试路"} for i in (1, 2)])
    assert _stamp() > before


def test_moving_a_community_to_another_street_moves_the_scope_stamp(ctx):
    other_street = db.session.scalar(select(Street.id).order_by(Street.id.desc()))
    community_id = db.session.scalar(select(Estate.community_id).where(Estate.id == SMALL))
    before = _stamp()
    db.session.execute(text("UPDATE community SET street_id = :street WHERE id = :id"),
                       {"street": other_street, "id": community_id})
    assert _stamp() == before + 1


def test_renaming_an_estate_leaves_the_scope_stamp(ctx):
    before = _stamp()
    db.session.execute(update(Estate).where(Estate.id == LARGE).values(address="新地址 2 号"))
    db.session.execute(update(Community).where(Community.id == 1).values(name="改名社区"))
    assert _stamp() == before


def test_a_grant_added_in_another_process_applies_at_the_next_request(app):
    """staff_a sees only the large estate, twice (the second time from what this process kept);
    a separate session grants the small estate too, as an administrator on another machine
    would: the next request lists both."""
    staff = client_of(app, "staff_a")
    with app.app_context():
        large, small = (db.session.get(Estate, estate_id).name for estate_id in (LARGE, SMALL))

    def estates_listed() -> set[str]:
        listed = staff.get("/api/v1/estate/?q=(columns:!(name),page_size:100)").get_json()["result"]
        return {row["name"] for row in listed}

    assert estates_listed() == {large}
    assert estates_listed() == {large}
    with app.app_context(), Session(db.engine) as other:
        other.add(UserScope(user_id=_user_id(app, "staff_a"), estate_id=SMALL))
        other.commit()
    try:
        assert estates_listed() == {large, small}
    finally:
        with app.app_context(), Session(db.engine) as other:
            other.execute(UserScope.__table__.delete().where(UserScope.user_id == _user_id(app, "staff_a"),
                                                             UserScope.estate_id == SMALL))
            other.commit()
