"""包含 searches read a trigram index where one is declared (models.base.contains): on SQLite an
FTS5 trigram table kept by triggers. They must find exactly the rows LIKE finds, whatever was
typed, and follow every insert, rename and delete of the searched rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select, text

from app.extensions import db
from models.base import TRIGRAM_SEARCHES, contains
from models.estate import Building, Unit
from models.parking import ParkingSpace, Vehicle
from models.people import Owner

SEARCHED = {"unit": (Unit, "room_no"), "owner": (Owner, "name"), "parking_space": (ParkingSpace, "code"),
            "vehicle": (Vehicle, "plate")}
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture()
def sqlite_only(ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL answers 包含 with ILIKE and pg_trgm's index: nothing of its own to compare")


def _found(model, condition) -> list[int]:
    return list(db.session.scalars(select(model.id).where(condition).order_by(model.id)))


def _through_the_index(model, column, typed: str) -> list[int]:
    condition = contains(model, column, typed, "sqlite")
    assert " MATCH " in str(condition.compile()), "three characters or more are read from the trigram table"
    return _found(model, condition)


def test_every_trigram_search_of_the_models_has_its_table(sqlite_only):
    assert {table for table, _column in TRIGRAM_SEARCHES} == set(SEARCHED)
    tables = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'")))
    assert {f"{table}_{column}_trgm" for table, column in TRIGRAM_SEARCHES} <= tables


@EXAMPLES
@given(table=st.sampled_from(sorted(SEARCHED)), pick=st.integers(0, 10_000), start=st.integers(0, 6),
       length=st.integers(3, 6), noise=st.sampled_from(["", "%", "_", '"', "\\", " "]))
def test_a_search_of_three_characters_or_more_finds_what_like_finds(sqlite_only, table, pick, start, length, noise):
    model, column = SEARCHED[table]
    values = list(db.session.scalars(select(getattr(model, column)).where(getattr(model, column).is_not(None))
                                     .order_by(model.id).limit(300)))
    value = values[pick % len(values)]
    typed = (value[start:start + length] or value[:3]) + noise
    if len(typed) < 3:
        typed = value
    if len(typed) < 3:
        return  # a two-character name is searched with LIKE (below)
    assert _through_the_index(model, column, typed) == _found(model, getattr(model, column).icontains(typed,
                                                                                                      autoescape=True))


def test_a_search_for_a_room_finds_it_in_every_building_case_and_quote_aside(sqlite_only):
    hits = _through_the_index(Unit, "room_no", "1-10")
    assert hits and hits == _found(Unit, Unit.room_no.like("%1-10%"))
    assert _through_the_index(Unit, "room_no", 'x"1-10') == []


def test_fewer_than_three_characters_are_searched_with_like(sqlite_only):
    condition = contains(Unit, "room_no", "01", "sqlite")
    assert " MATCH " not in str(condition.compile())
    assert _found(Unit, condition) == _found(Unit, Unit.room_no.like("%01%"))


def test_the_trigram_table_follows_a_units_insert_rename_and_delete(sqlite_only):
    building = db.session.scalars(select(Building).order_by(Building.id)).first()
    unit = Unit(estate_id=building.estate_id, building=building, entrance=1, floor=99, room_no="Z-9901",
                floor_area=Decimal("88.00"), status="vacant")
    db.session.add(unit)
    db.session.flush()
    assert _through_the_index(Unit, "room_no", "z-99") == [unit.id]
    db.session.execute(text("UPDATE unit SET room_no = 'Q-7702' WHERE id = :id"), {"id": unit.id})
    assert _through_the_index(Unit, "room_no", "Z-99") == []
    assert _through_the_index(Unit, "room_no", "Q-770") == [unit.id]
    db.session.execute(text("DELETE FROM unit WHERE id = :id"), {"id": unit.id})
    assert _through_the_index(Unit, "room_no", "Q-770") == []
    db.session.rollback()


def test_a_short_search_ignores_the_case_of_latin_letters_as_lower_does(sqlite_only):
    plate = db.session.scalar(select(Vehicle.plate).where(Vehicle.plate.is_not(None)).order_by(Vehicle.id))
    pairs = (plate[i:i + 2] for i in range(len(plate) - 1))
    letters = next(p for p in pairs if p.isascii() and any(c.isalpha() for c in p))
    typed = letters.swapcase()
    found = _found(Vehicle, contains(Vehicle, "plate", typed, "sqlite"))
    assert found and found == _found(Vehicle, Vehicle.plate.icontains(typed, autoescape=True))
