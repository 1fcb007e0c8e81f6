"""A row links only rows of its own estate — whoever writes, the admin included."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from models.parking import ParkingSpace, Vehicle
from models.people import Owner, Unit, UnitOwnership


def _first(model, estate_id):
    return db.session.execute(select(model).where(model.estate_id == estate_id).limit(1)).scalar_one()


def test_the_admin_cannot_put_a_vehicle_on_another_estates_parking_space(app, admin_client):
    with app.app_context():
        vehicle, space = _first(Vehicle, 1), _first(ParkingSpace, 2)
        vehicle_id, space_id, before = vehicle.id, space.id, vehicle.space_id
    response = admin_client.put(f"/api/v1/vehicle/{vehicle_id}", json={"space": space_id})
    assert response.status_code == 400 and "所选的车位不属于同一小区" in response.get_json()["message"]
    with app.app_context():
        assert db.session.get(Vehicle, vehicle_id).space_id == before


def test_an_owner_cannot_hold_title_to_a_unit_of_another_estate(app, admin_client):
    with app.app_context():
        owner = _first(Owner, 1)
        unit = db.session.execute(select(Unit).where(Unit.estate_id == 2).limit(1)).scalar_one()
        owner_id, unit_id = owner.id, unit.id
        before = db.session.query(UnitOwnership).count()
    response = admin_client.post("/api/v1/unit_ownership/", json={"unit": unit_id, "owner": owner_id, "share": "100"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.query(UnitOwnership).count() == before


def test_links_within_one_estate_are_accepted(app, admin_client):
    with app.app_context():
        vehicle = _first(Vehicle, 1)
        free = db.session.execute(select(ParkingSpace).where(ParkingSpace.estate_id == 1)
                                  .order_by(ParkingSpace.id.desc()).limit(1)).scalar_one()
        vehicle_id, space_id = vehicle.id, free.id
    assert admin_client.put(f"/api/v1/vehicle/{vehicle_id}", json={"space": space_id}).status_code == 200
