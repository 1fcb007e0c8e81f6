"""Scoping fails closed: every estate-owned table anywhere in a statement is limited.

A user of one estate counts the units with the statement shapes a view or a report might
build — a bare select_from, a subquery, a CTE, a scalar subquery, EXISTS, a join, IN —
and always gets that estate's number; raw SQL, which no criterion can reach, is refused.
"""

from __future__ import annotations

from typing import Any

import flask_login
import pytest
from flask import g
from sqlalchemy import event, exists, func, select, text
from werkzeug.security import generate_password_hash

from app import roles
from app.extensions import db
from app.scoping import OutOfScope
from models.access import UserScope
from models.base import ALL_ESTATES
from models.estate import Building, Estate, Unit


@pytest.fixture()
def small_estate_user(app, ctx):
    """A new 物业经理 of the estate with the fewest units (not the first one)."""
    sizes = db.session.execute(select(Unit.estate_id, func.count()).group_by(Unit.estate_id)).all()
    estate_id = min(sizes, key=lambda row: row[1])[0]
    sm = app.appbuilder.sm
    user = sm.add_user("scope_probe", "范围", "测试", "scope_probe@example.com", sm.find_role(roles.MANAGER),
                       hashed_password=generate_password_hash("x" * 12, method="pbkdf2:sha256:1000"))
    db.session.add(UserScope(user_id=user.id, estate_id=estate_id))
    db.session.commit()
    own_units = db.session.scalar(select(func.count()).select_from(Unit).where(Unit.estate_id == estate_id))
    own_buildings = db.session.scalar(select(func.count()).select_from(Building).where(Building.estate_id == estate_id))
    assert own_units < db.session.scalar(select(func.count()).select_from(Unit))
    with app.test_request_context("/"):
        flask_login.login_user(user)
        g.user = user
        yield own_units, own_buildings, estate_id
    db.session.rollback()


SHAPES = {
    "select_from an entity": lambda: select(func.count()).select_from(Unit),
    "a subquery of entities": lambda: select(func.count()).select_from(select(Unit).subquery()),
    "a subquery of ids": lambda: select(func.count()).select_from(select(Unit.id).subquery()),
    "a CTE": lambda: (lambda cte: select(func.count()).select_from(cte))(select(Unit.id).cte()),
    "a scalar subquery": lambda: select(select(func.count(Unit.id)).scalar_subquery()),
    "a join from another table": lambda: select(func.count(Unit.id)).select_from(Estate).join(
        Unit, Unit.estate_id == Estate.id),
    "a column expression": lambda: select(func.count(Unit.id)),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_a_count_of_units_is_the_users_estates_whatever_the_statement_shape(small_estate_user, shape):
    own_units, _buildings, _estate = small_estate_user
    assert db.session.scalar(SHAPES[shape]()) == own_units


def test_buildings_counted_through_an_in_subquery_are_the_users(small_estate_user):
    _units, own_buildings, _estate = small_estate_user
    statement = select(func.count()).select_from(Building).where(Building.id.in_(select(Unit.building_id)))
    assert db.session.scalar(statement) <= own_buildings


def test_exists_sees_no_other_estates_rows(small_estate_user):
    _units, _buildings, estate_id = small_estate_user
    foreign = db.session.execute(select(Unit.id).where(Unit.estate_id != estate_id).limit(1),
                                 execution_options={ALL_ESTATES: True}).scalar()
    assert foreign is not None
    assert db.session.scalar(select(exists().where(Unit.id == foreign))) is False


def test_raw_sql_is_refused_for_a_scoped_user(small_estate_user):
    with pytest.raises(OutOfScope, match="无法按小区限定"):
        db.session.execute(text("SELECT count(*) FROM unit"))


def _statement_of(query) -> tuple[str, Any]:
    seen = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        db.session.scalar(query)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen[-1]


def test_the_estate_of_a_one_estate_user_is_an_equality(small_estate_user):
    """PostgreSQL (before 17) reads rows in an index's order only after an equality on its first
    column: a manager's newest bills are the head of (estate_id, period, id), not a filtered scan
    of every bill, which is what "estate_id = ANY('{1}')" became over a city's 13 million."""
    _units, _buildings, estate_id = small_estate_user
    statement, parameters = _statement_of(select(func.count()).select_from(Unit))
    assert "unit.estate_id = " in statement and " IN " not in statement and "ANY" not in statement
    assert estate_id in (parameters.values() if isinstance(parameters, dict) else parameters)


@pytest.fixture()
def two_estate_user(app, ctx):
    """A new 物业经理 of two of the three estates."""
    estate_ids = db.session.scalars(select(Estate.id).order_by(Estate.id).limit(2)).all()
    sm = app.appbuilder.sm
    user = sm.add_user("scope_pair", "范围", "两个", "scope_pair@example.com", sm.find_role(roles.MANAGER),
                       hashed_password=generate_password_hash("x" * 12, method="pbkdf2:sha256:1000"))
    db.session.add_all([UserScope(user_id=user.id, estate_id=estate_id) for estate_id in estate_ids])
    db.session.commit()
    own_units = db.session.scalar(select(func.count()).select_from(Unit).where(Unit.estate_id.in_(estate_ids)))
    with app.test_request_context("/"):
        flask_login.login_user(user)
        g.user = user
        yield own_units, estate_ids
    db.session.rollback()


def test_the_estates_of_a_user_reach_postgresql_as_one_array_parameter(two_estate_user):
    """However many estates (a city's official has a thousand), the criterion is one array
    parameter on PostgreSQL, not one placeholder per estate to render, send and parse."""
    own_units, estate_ids = two_estate_user
    assert db.session.scalar(select(func.count()).select_from(Unit)) == own_units
    statement, parameters = _statement_of(select(func.count()).select_from(Unit))
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no arrays: one placeholder per estate")
    assert "= ANY" in statement and list(parameters.values()) == [sorted(estate_ids)]
