"""The demo data set: realistic, valid by every model rule, and loaded only once.

The session fixture has already run ``demo.load(units=TEST_UNITS, estates=3, seed=7)``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash

from app import demo, fakes, roles
from app.extensions import db
from models import clock
from models.base import declared_entities
from models.company import Employee, ServiceContract
from models.estate import Building, Estate, Unit
from models.facility import Facility, MaintenancePlan
from models.parking import Vehicle
from models.people import Owner, Resident, UnitOwnership
from models.rules import violations
from models.validators import check_id_card, check_plate, check_uscc
from tests.conftest import TEST_UNITS


def _all(model, *options):
    return db.session.scalars(select(model).options(*options).order_by(model.id)).all()


def _row_counts() -> dict[str, int]:
    counts = {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in declared_entities()}
    counts["users"] = current_app.appbuilder.sm.count_users()
    return counts


def _units_per_estate() -> dict[str, int]:
    query = select(Estate.name, func.count(Unit.id)).join(Unit, Unit.estate_id == Estate.id)
    return dict(db.session.execute(query.group_by(Estate.name)).all())


def test_demo_load_is_idempotent(ctx):
    before = _row_counts()
    assert demo.load(units=TEST_UNITS, estates=3, seed=7) is None
    assert demo.load(units=10 * TEST_UNITS, estates=5, seed=1) is None
    assert _row_counts() == before


def test_large_estate_has_requested_unit_count(ctx):
    per_estate = _units_per_estate()
    assert len(per_estate) == 3
    assert abs(per_estate[demo.FLAGSHIP_ESTATE] - TEST_UNITS) <= TEST_UNITS * 0.1
    small = max(40, TEST_UNITS // 10)
    others = [n for name, n in per_estate.items() if name != demo.FLAGSHIP_ESTATE]
    assert all(small * 0.7 <= n <= small * 1.3 for n in others), others


def test_every_unit_follows_its_buildings_estate(ctx):
    strays = select(func.count()).select_from(Unit).join(Building, Unit.building_id == Building.id).where(
        Unit.estate_id != Building.estate_id
    )
    assert db.session.scalar(strays) == 0


def test_units_per_building_are_floors_times_entrances_times_rooms(ctx):
    for building in _all(Building):
        units = db.session.scalars(select(Unit).where(Unit.building_id == building.id)).all()
        rooms, remainder = divmod(len(units), building.floors * building.entrances)
        assert remainder == 0 and 2 <= rooms <= 4, building.name
        assert building.has_elevator == (building.floors > 6)
        assert building.floor_area == sum(u.floor_area for u in units)
        for unit in units:
            assert re.fullmatch(rf"{unit.entrance}-{unit.floor}0[1-4]", unit.room_no), unit.room_no


def test_demo_id_numbers_pass_the_checksum(ctx):
    people = [o for o in _all(Owner) if o.id_type == "resident_id"] + _all(Resident) + _all(Employee)
    assert len(people) > TEST_UNITS
    assert [p.id_number for p in people if p.id_number is None or check_id_card(p.id_number)] == []


def test_unsold_units_belong_to_one_developer_per_estate(ctx):
    titles = _all(UnitOwnership, selectinload(UnitOwnership.unit), selectinload(UnitOwnership.owner))
    for estate in _all(Estate):
        developers = db.session.scalars(
            select(Owner).where(Owner.estate_id == estate.id, Owner.is_developer)
        ).all()
        assert len(developers) == 1, estate.name
        developer = developers[0]
        assert developer.id_type == "uscc" and check_uscc(developer.id_number) is None
        assert any(developer.name.endswith("房地产开发" + form) for form in fakes.COMPANY_FORMS)
        held = [t for t in titles if t.unit.estate_id == estate.id]
        unsold = [t for t in held if t.unit.status == "unsold"]
        assert unsold, estate.name
        assert {t.owner_id for t in unsold} == {developer.id}
        assert all(t.share == 100 for t in unsold)
        assert all(t.unit.status == "unsold" for t in held if t.owner_id == developer.id)


def test_some_owners_hold_several_units(ctx):
    titles = _all(UnitOwnership, selectinload(UnitOwnership.owner))
    units_of = Counter(t.owner_id for t in titles if not t.owner.is_developer)
    assert any(n >= 2 for n in units_of.values())
    assert sum(n >= 2 for n in units_of.values()) < 0.15 * len(units_of)
    shares = defaultdict(list)
    for title in titles:
        shares[title.unit_id].append(title.share)
    assert all(sum(s) == 100 for s in shares.values())
    assert [Decimal("50.00"), Decimal("50.00")] in shares.values(), "some units are held by a couple"
    sold = db.session.scalar(select(func.count()).select_from(Unit).where(Unit.status != "unsold"))
    assert len(shares) == db.session.scalar(select(func.count()).select_from(Unit))
    assert sold < len(shares), "unsold units have titles too (the developer's)"


def test_unit_areas_are_realistic(ctx):
    for unit in _all(Unit):
        assert Decimal(60) <= unit.floor_area <= Decimal(180), unit.room_no
        assert unit.floor_area == unit.floor_area.quantize(Decimal("0.01"))
        assert Decimal("0.745") <= unit.inner_area / unit.floor_area <= Decimal("0.855"), unit.room_no


def test_unit_statuses_have_the_demo_mix(ctx):
    statuses = Counter(db.session.scalars(select(Unit.status)))
    total = sum(statuses.values())
    assert set(statuses) == {"owner_occupied", "rented", "vacant", "unsold"}
    assert statuses["owner_occupied"] > total / 2
    shops = db.session.scalars(select(Unit).where(Unit.unit_type == "shop")).all()
    assert shops and all(s.floor == 1 and s.estate.name == demo.FLAGSHIP_ESTATE for s in shops)


def test_rented_units_have_tenants(ctx):
    rented = set(db.session.scalars(select(Unit.id).where(Unit.status == "rented")))
    tenanted = set(db.session.scalars(select(Resident.unit_id).where(Resident.relation == "tenant")))
    assert rented and rented <= tenanted


def test_all_five_demo_accounts_exist_with_their_roles(ctx):
    sm = current_app.appbuilder.sm
    expected = {
        "admin": roles.ADMIN, "manager_a": roles.MANAGER, "staff_a": roles.STAFF,
        "committee_a": roles.COMMITTEE, "official_jd": roles.OFFICIAL,
    }
    users = {username: sm.find_user(username=username) for username in expected}
    for username, role in expected.items():
        user = users[username]
        assert user is not None and user.active, username
        assert [r.name for r in user.roles] == [role]
        assert user.email == f"{username}@example.com"
    # each distinct hash once: a scrypt check costs ~0.1 s
    hashes = {user.password for user in users.values()}
    assert all(check_password_hash(h, current_app.config["DEMO_PASSWORD"]) for h in hashes)


def _values(model, row) -> dict:
    """What a form would submit: columns and many-to-one relations, by attribute name."""
    mapper = inspect(model)
    names = [a.key for a in mapper.column_attrs]
    names += [r.key for r in mapper.relationships if r.direction.name == "MANYTOONE"]
    return {name: getattr(row, name) for name in names}


def test_every_demo_row_passes_the_model_rules(ctx):
    checked = 0
    for model in declared_entities():
        many_to_one = [r for r in inspect(model).relationships if r.direction.name == "MANYTOONE"]
        rows = _all(model, *(selectinload(getattr(model, r.key)) for r in many_to_one))
        assert rows, f"demo data has no {model.Admin.label}"
        for row in rows:
            found = violations(model, _values(model, row))
            assert found == [], (model.__name__, row.id, found)
        checked += len(rows)
    assert checked > 3 * TEST_UNITS


def test_plates_are_valid(ctx):
    vehicles = _all(Vehicle)
    assert vehicles
    assert [v.plate for v in vehicles if check_plate(v.plate)] == []
    new_energy = [v for v in vehicles if v.vehicle_type == "ev"]
    assert new_energy and all(len(v.plate) == 8 for v in new_energy)
    assert all(len(v.plate) == 7 for v in vehicles if v.vehicle_type != "ev")
    assert any(v.space_id for v in vehicles) and any(v.space_id is None for v in vehicles)


def test_one_service_contract_expires_within_60_days(ctx):
    today = clock.today()
    contracts = [c for c in _all(ServiceContract) if c.decided_by_id is None]  # typed in by 物业
    assert len(contracts) == 3 and all(c.starts_on < c.ends_on for c in contracts)
    assert any(today <= c.ends_on <= today + timedelta(days=60) for c in contracts)
    assert all(c.estate.company_id == c.company_id for c in contracts)


def test_the_renewals_the_owners_passed_are_contract_records_awaiting_signature(ctx):
    renewals = [c for c in _all(ServiceContract) if c.decided_by_id is not None]
    assert len(renewals) == 2  # the two counted meetings each renewed their company
    assert all(c.company_id == c.estate.company_id and c.signed_on is None and c.starts_on < c.ends_on
               for c in renewals)


def test_every_lift_entrance_has_an_elevator(ctx):
    entrances = db.session.scalar(select(func.sum(Building.entrances)).where(Building.has_elevator))
    lifts = db.session.scalar(select(func.count(Facility.id)).where(Facility.category == "elevator"))
    assert entrances and lifts == entrances


def test_facility_dates_and_plans_run_forward(ctx):
    for facility in _all(Facility, selectinload(Facility.events)):
        assert facility.purchased_on <= facility.installed_on <= facility.warranty_until
        assert 1 <= len(facility.events) <= 4
        assert all(e.occurred_on >= facility.purchased_on for e in facility.events)
    plans = _all(MaintenancePlan, selectinload(MaintenancePlan.facility))
    assert all(p.last_done_on < p.next_due_on for p in plans)
    assert {p.cycle for p in plans if p.facility.category == "elevator"} == {"half_month"}
    assert {p.cycle for p in plans if p.facility.category == "fire"} == {"monthly"}


def test_certified_posts_hold_their_certificates(ctx):
    staff = _all(Employee)
    assert all(15 <= n <= 30 for n in Counter(e.estate_id for e in staff).values())
    for employee in staff:
        certified_post = employee.position in ("电工", "电梯安全管理员")
        assert employee.certified == certified_post == (employee.certificate is not None), employee.name


def _day_after(day):
    return day + timedelta(days=1)


def _steps_and_dates():
    from models.committee import CommitteeTerm
    from models.fees import FeeStandard
    from models.first_assembly import PreparatoryGroup
    from models.owners_assembly import OwnersMeeting
    from models.repair_fund import FundApplication

    return [
        (FeeStandard, "publish", lambda s: s.published_on),
        (OwnersMeeting, "announce", lambda m: m.announced_on),
        (OwnersMeeting, "open_vote", lambda m: m.vote_from),
        (OwnersMeeting, "close_vote", lambda m: _day_after(m.vote_until)),
        (FundApplication, "approve", lambda a: a.publicity_from),
        (FundApplication, "open_vote", lambda a: a.vote_from),
        (FundApplication, "close_vote", lambda a: _day_after(a.vote_until)),
        (PreparatoryGroup, "form", lambda g: g.formed_on),
        (PreparatoryGroup, "announce", lambda g: g.announced_on),
        (PreparatoryGroup, "publish_roll", lambda g: g.roll_published_on),
        (CommitteeTerm, "file", lambda t: t.filed_on),
    ]


def test_the_demos_timelines_date_each_step_on_the_day_its_record_says(ctx):
    """A 办理记录 and the record's own dates tell the same days: a meeting announced on its
    公告日期, a vote opened on its 表决开始, a standard published on its 公示日期..."""
    from models.workflow import WorkflowEvent

    mismatches, unseen = [], []
    for model, transition, recorded in _steps_and_dates():
        events = db.session.execute(select(WorkflowEvent.record_id, WorkflowEvent.created_at).where(
            WorkflowEvent.table_name == model.__tablename__, WorkflowEvent.transition == transition)).all()
        if not events:
            unseen.append(f"{model.__name__} {transition}")
        for record_id, at in events:
            day = recorded(db.session.get(model, record_id))
            if at.date() != day:
                mismatches.append(f"{model.__name__} {record_id} {transition}: {at.date()} ≠ {day}")
    assert unseen == [] and mismatches == []


def test_a_demo_applications_vote_fixed_its_rules_when_it_opened(ctx):
    """An application that went to the owners' vote carries the rules it was counted by,
    whether silence counted as consent among them."""
    from models.repair_fund import FundApplication

    voted = [a for a in _all(FundApplication) if a.vote_from is not None]
    assert voted
    assert all(None not in (a.rule_quorum, a.rule_approval, a.rule_strict, a.silent_consent) for a in voted)
