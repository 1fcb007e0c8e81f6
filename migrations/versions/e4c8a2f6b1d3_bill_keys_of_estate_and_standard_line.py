"""A bill's keys: its payer is of its own 小区, its item is a line of its 收费标准

Five foreign keys were checked for every bill (小区, 房屋, 车位, 收费项目, 收费标准): half the
time of a bill run on PostgreSQL. Two composite keys now say more and cost less:
(unit_id, estate_id) -> unit (id, estate_id) and its 车位 twin, and (standard_id, item_id) ->
fee_standard_line. They imply that the 小区, the item and the standard exist, so those keys are
no longer built (the models still declare them for the ORM's joins). The item's and the
standard's single-column indexes become one (standard_id, item_id) index, which the check of a
removed standard line reads.

Existing bills are checked against the new keys as they are added (PostgreSQL validates the
constraint; SQLite's migration environment runs PRAGMA foreign_key_check before committing).

Revision ID: e4c8a2f6b1d3
Revises: b3d7f1a5c9e2
Create Date: 2026-12-05 19:10:00
"""
from alembic import op

revision = 'e4c8a2f6b1d3'
down_revision = 'b3d7f1a5c9e2'
branch_labels = None
depends_on = None

# names for SQLite's unnamed foreign keys, so batch mode can drop them
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
SINGLE = (("estate_id", "estate"), ("unit_id", "unit"), ("space_id", "parking_space"),
          ("item_id", "fee_item"), ("standard_id", "fee_standard"))
COMPOSITE = (
    ("fk_bill_unit_of_estate", "unit", ["unit_id", "estate_id"], ["id", "estate_id"]),
    ("fk_bill_space_of_estate", "parking_space", ["space_id", "estate_id"], ["id", "estate_id"]),
    ("fk_bill_standard_line", "fee_standard_line", ["standard_id", "item_id"], ["standard_id", "item_id"]),
)


def _single_name(column: str, target: str, sqlite: bool) -> str:
    return f"fk_bill_{column}_{target}" if sqlite else f"bill_{column}_fkey"


def rebuild_keeping_triggers(table: str, change, **options) -> None:
    """Change a table's keys or indexes. SQLite copies the table for it, and a copy has none
    of the table's triggers (the bill's month totals, the unit's 房号 search index), so they
    are read first and created again. A later revision loads this function from here."""
    sqlite = op.get_context().dialect.name == "sqlite"
    triggers = op.get_bind().exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)).scalars().all() if sqlite else []
    with op.batch_alter_table(table, recreate="always" if sqlite else "never", **options) as batch:
        change(batch, sqlite)
    for sql in triggers:
        op.execute(sql)


def upgrade():
    op.create_index("uq_unit_id_estate", "unit", ["id", "estate_id"], unique=True)
    op.create_index("uq_parking_space_id_estate", "parking_space", ["id", "estate_id"], unique=True)

    def change(batch, sqlite):
        for column, target in SINGLE:
            batch.drop_constraint(_single_name(column, target, sqlite), type_="foreignkey")
        batch.drop_index("ix_bill_item_id")
        batch.drop_index("ix_bill_standard_id")
        batch.create_index("ix_bill_standard_item", ["standard_id", "item_id"])
        for name, target, columns, targets in COMPOSITE:
            batch.create_foreign_key(name, target, columns, targets, ondelete="RESTRICT")

    rebuild_keeping_triggers("bill", change, naming_convention=NAMING)


def downgrade():
    def change(batch, sqlite):
        for name, _target, _columns, _targets in COMPOSITE:
            batch.drop_constraint(name, type_="foreignkey")
        batch.drop_index("ix_bill_standard_item")
        batch.create_index("ix_bill_item_id", ["item_id"])
        batch.create_index("ix_bill_standard_id", ["standard_id"])
        for column, target in SINGLE:
            batch.create_foreign_key(_single_name(column, target, sqlite), target, [column], ["id"],
                                     ondelete="RESTRICT")

    rebuild_keeping_triggers("bill", change, naming_convention=NAMING)
    op.drop_index("uq_parking_space_id_estate", table_name="parking_space")
    op.drop_index("uq_unit_id_estate", table_name="unit")
