"""one ballot per person: a ballot belongs to the person of the roll and counts for all
of that person's units (建筑物区分所有权解释第九条)

Revision ID: d5e1f7a3c9b2
Revises: c4d2e8f1a9b3
Create Date: 2026-12-02 20:00:00

Until now a ballot was recorded per unit, and the roll only required the units of one
owner to agree. Each ballot now names its person, unique per vote. Where an owner had
already returned a ballot for several units (always with the same choice, which the roll
enforced), the first of them is kept: it carries the same choice for all of their units.
Both tables are append-only; their guards are lifted for this change and restored.
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = 'd5e1f7a3c9b2'
down_revision = 'c4d2e8f1a9b3'
branch_labels = None
depends_on = None


def _guards():
    """The append-only triggers as the repair-fund revision defines them."""
    spec = importlib.util.spec_from_file_location("repair_fund_revision",
                                                  Path(__file__).with_name("a741257224ee_repair_fund.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TABLES = ("vote_roll", "ballot")


def upgrade():
    guards = _guards()
    for table in TABLES:
        guards.drop_guards(table)
    with op.batch_alter_table("vote_roll") as batch:
        batch.create_unique_constraint("uq_vote_roll_unit_person", ["application_id", "unit_id", "person"])
    with op.batch_alter_table("ballot") as batch:
        batch.add_column(sa.Column("person", sa.String(200), nullable=True))
    op.execute("UPDATE ballot SET person = (SELECT r.person FROM vote_roll r WHERE r.application_id = ballot.application_id"
               " AND r.unit_id = ballot.unit_id)")
    op.execute("DELETE FROM ballot WHERE id NOT IN (SELECT MIN(id) FROM ballot GROUP BY application_id, person)")
    with op.batch_alter_table("ballot") as batch:
        batch.alter_column("person", existing_type=sa.String(200), nullable=False)
        batch.drop_constraint("uq_ballot_unit", type_="unique")
        batch.drop_constraint("fk_ballot_roll", type_="foreignkey")
        batch.create_unique_constraint("uq_ballot_person", ["application_id", "person"])
        batch.create_foreign_key("fk_ballot_roll", "vote_roll", ["application_id", "unit_id", "person"],
                                 ["application_id", "unit_id", "person"])
    for table in TABLES:
        guards.create_guards(table)


def downgrade():
    guards = _guards()
    for table in TABLES:
        guards.drop_guards(table)
    with op.batch_alter_table("ballot") as batch:
        batch.drop_constraint("fk_ballot_roll", type_="foreignkey")
        batch.drop_constraint("uq_ballot_person", type_="unique")
        batch.create_unique_constraint("uq_ballot_unit", ["application_id", "unit_id"])
        batch.create_foreign_key("fk_ballot_roll", "vote_roll", ["application_id", "unit_id"],
                                 ["application_id", "unit_id"])
        batch.drop_column("person")
    with op.batch_alter_table("vote_roll") as batch:
        batch.drop_constraint("uq_vote_roll_unit_person", type_="unique")
    for table in TABLES:
        guards.create_guards(table)
