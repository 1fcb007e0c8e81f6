"""续交预警's percent-left expression is NULL without a first deposit (PostgreSQL)

The statistics of an expression are computed over every row of the table, the estate's own
row (first deposit 0) included: div(balance * 100, 0) made ANALYZE of fund_unit_total fail
whenever its sample held such a row (autovacuum's too, leaving the table without statistics).
The index and its statistics are rebuilt over div(balance * 100, nullif(first_deposit, 0)),
the expression the warning's query now writes. SQLite's division by zero is NULL already.

Revision ID: b3d7f1a5c9e2
Revises: a8d4f0b6c2e1
Create Date: 2026-12-05 15:40:00
"""
from alembic import op

revision = 'b3d7f1a5c9e2'
down_revision = 'a8d4f0b6c2e1'
branch_labels = None
depends_on = None

WHERE = "unit_key != 0 AND first_deposit > 0"


def _rebuild(percent: str) -> None:
    """The index and statistics over ``percent`` (no ANALYZE: the previous expression fails it)."""
    op.execute("DROP STATISTICS IF EXISTS st_fund_unit_total_percent_left")
    op.drop_index('ix_fund_unit_total_percent_left', table_name='fund_unit_total')
    op.execute(f"CREATE INDEX ix_fund_unit_total_percent_left ON fund_unit_total (({percent})) WHERE {WHERE}")
    op.execute(f"CREATE STATISTICS st_fund_unit_total_percent_left ON ({percent}) FROM fund_unit_total")


def upgrade():
    if op.get_context().dialect.name == "postgresql":
        _rebuild("div(balance * 100, nullif(first_deposit, 0))")
        op.execute("ANALYZE fund_unit_total")


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        _rebuild("div(balance * 100, first_deposit)")
