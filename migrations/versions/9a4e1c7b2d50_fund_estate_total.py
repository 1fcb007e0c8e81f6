"""The repair fund's sums per estate, kept like the per-分户账 ones; 续交预警 read from an index

The jurisdiction's fund figure summed fund_unit_total (one row per unit: 100,000 at city scale)
on every view. fund_estate_total holds the estate's sums, added by a trigger on the ledger's
inserts (the ledger is append-only) in the same transaction. The warnings still depend on a
threshold the settings may change, so they stay a count over the units, from a partial index
holding only the columns the condition reads.

Revision ID: 9a4e1c7b2d50
Revises: 8d2f6b1c4e70
Create Date: 2026-12-05 08:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '9a4e1c7b2d50'
down_revision = '8d2f6b1c4e70'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2)
#: the kinds counted as 交存及收益, as in the per-unit trigger of c3f7a9d1e5b8
INFLOWS = "'deposit', 'top_up', 'interest', 'public_income'"


def _values(row: str = "") -> list[str]:
    """inflow, used, balance of one ledger entry (``row``: "NEW." in a row trigger)."""
    return [f"CASE WHEN {row}kind IN ({INFLOWS}) THEN {row}amount ELSE 0 END",
            f"CASE WHEN {row}amount < 0 THEN {row}amount ELSE 0 END", f"{row}amount"]


def _sums() -> str:
    return ", ".join(f"sum({value})" for value in _values())


def upgrade():
    op.create_table(
        'fund_estate_total',
        sa.Column('estate_id', sa.Integer(), sa.ForeignKey('estate.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('inflow', MONEY, nullable=False),
        sa.Column('used', MONEY, nullable=False),
        sa.Column('balance', MONEY, nullable=False),
    )
    op.execute(f"INSERT INTO fund_estate_total (estate_id, inflow, used, balance)"
               f" SELECT estate_id, {_sums()} FROM fund_entry GROUP BY estate_id")
    # the 续交预警 condition (models.repair_fund.in_top_up_warning) reads these columns of unit rows only
    op.create_index('ix_fund_unit_total_top_up', 'fund_unit_total', ['estate_id', 'first_deposit', 'balance'],
                    sqlite_where=sa.text("unit_key != 0 AND first_deposit > 0"),
                    postgresql_where=sa.text("unit_key != 0 AND first_deposit > 0"))
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION fund_estate_total_apply() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO fund_estate_total AS t (estate_id, inflow, used, balance)
                SELECT estate_id, {_sums()} FROM new_rows GROUP BY estate_id ORDER BY 1
                ON CONFLICT (estate_id) DO UPDATE SET inflow = t.inflow + excluded.inflow,
                    used = t.used + excluded.used, balance = t.balance + excluded.balance;
                RETURN NULL;
            END $$
        """)
        op.execute("CREATE TRIGGER fund_estate_total_insert AFTER INSERT ON fund_entry"
                   " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fund_estate_total_apply()")
    else:
        op.execute(
            "CREATE TRIGGER fund_estate_total_insert AFTER INSERT ON fund_entry BEGIN"
            " INSERT INTO fund_estate_total (estate_id, inflow, used, balance)"
            f" VALUES (NEW.estate_id, {', '.join(_values('NEW.'))})"
            " ON CONFLICT (estate_id) DO UPDATE SET inflow = inflow + excluded.inflow,"
            " used = used + excluded.used, balance = balance + excluded.balance; END")


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS fund_estate_total_insert ON fund_entry")
        op.execute("DROP FUNCTION IF EXISTS fund_estate_total_apply()")
    else:
        op.execute("DROP TRIGGER IF EXISTS fund_estate_total_insert")
    op.drop_index('ix_fund_unit_total_top_up', table_name='fund_unit_total')
    op.drop_table('fund_estate_total')
