"""The unit list reads in its order from one index: each unit carries its building's sort key

The unit list sorts by 小区, 楼栋 (as people number them), 单元, 楼层, 房号. The 楼栋 part lived
on the building, so every page joined the buildings and sorted all of an estate's units (page
300 of a 10,000-unit estate: the whole estate sorted to show 25). ``unit.building_key`` copies
the building's ``code_key``; the (building_id, building_key) -> building (id, code_key) key
checks the copy and cascades a renumbered building to its units, and ix_unit_list_order holds
the list's whole order.

Revision ID: a6d2c8e4f0b7
Revises: e4c8a2f6b1d3
Create Date: 2026-12-05 21:00:00
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = 'a6d2c8e4f0b7'
down_revision = 'e4c8a2f6b1d3'
branch_labels = None
depends_on = None

LIST_ORDER = ["estate_id", "building_key", "building_id", "entrance", "floor", "room_key", "id"]


def _rebuild_unit(change) -> None:
    """The unit table's copy on SQLite keeps its 房号 search triggers: the bill-keys revision's
    helper does it (it drops none of the unit table's unnamed keys, so it needs no naming
    convention)."""
    spec = importlib.util.spec_from_file_location(
        "bill_keys_revision", Path(__file__).with_name("e4c8a2f6b1d3_bill_keys_of_estate_and_standard_line.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.rebuild_keeping_triggers("unit", change)


def upgrade():
    op.create_index("uq_building_id_code_key", "building", ["id", "code_key"], unique=True)
    with op.batch_alter_table("unit") as batch:
        batch.add_column(sa.Column("building_key", sa.String(80), nullable=True))
    op.execute("UPDATE unit SET building_key = (SELECT code_key FROM building WHERE building.id = unit.building_id)")

    def change(batch, sqlite):
        batch.alter_column("building_key", existing_type=sa.String(80), nullable=False)
        batch.create_foreign_key("fk_unit_building_key", "building", ["building_id", "building_key"],
                                 ["id", "code_key"], ondelete="RESTRICT", onupdate="CASCADE")
        batch.create_index("ix_unit_list_order", LIST_ORDER)

    _rebuild_unit(change)


def downgrade():
    def change(batch, sqlite):
        batch.drop_index("ix_unit_list_order")
        batch.drop_constraint("fk_unit_building_key", type_="foreignkey")
        batch.drop_column("building_key")

    _rebuild_unit(change)
    op.drop_index("uq_building_id_code_key", table_name="building")
