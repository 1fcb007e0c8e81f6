"""续交预警 read from an index of the whole percent of its first deposit each unit has left

The warning compares balance * 100 with first_deposit * threshold, a condition no index
holds, so the jurisdiction's count read all 100,000 units of a city (20 ms on PostgreSQL,
where the partial index of 9a4e1c7b2d50 did not even help). The whole percent left is an
exact integer (SQLite divides the integers it stores; PostgreSQL's div) and is at most the
threshold whenever the balance is below it: the count reads only those units from this
index and the exact comparison decides (0.1 ms). PostgreSQL keeps no statistics of the
expression of a partial index, and without them guesses that a third of the units match and
reads them all: statistics on the expression itself (CREATE STATISTICS) tell it how few do.

Revision ID: a8d4f0b6c2e1
Revises: d7a3c9e5f1b2
Create Date: 2026-12-05 11:35:00
"""
from alembic import op

revision = 'a8d4f0b6c2e1'
down_revision = 'd7a3c9e5f1b2'
branch_labels = None
depends_on = None

WHERE = "unit_key != 0 AND first_deposit > 0"


def upgrade():
    percent = ("balance * 100 / first_deposit" if op.get_context().dialect.name == "sqlite"
               else "div(balance * 100, first_deposit)")
    op.drop_index('ix_fund_unit_total_top_up', table_name='fund_unit_total')
    op.execute(f"CREATE INDEX ix_fund_unit_total_percent_left ON fund_unit_total (({percent})) WHERE {WHERE}")
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"CREATE STATISTICS st_fund_unit_total_percent_left ON ({percent}) FROM fund_unit_total")
        op.execute("ANALYZE fund_unit_total")


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_fund_unit_total_percent_left")
    op.drop_index('ix_fund_unit_total_percent_left', table_name='fund_unit_total')
    op.execute(f"CREATE INDEX ix_fund_unit_total_top_up ON fund_unit_total (estate_id, first_deposit, balance)"
               f" WHERE {WHERE}")
