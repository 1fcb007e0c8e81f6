"""Totals the database keeps: bills per estate and month, repair-fund ledger per 分户账

The dashboards summed a year of bills (1.3 M rows at city scale) and the whole fund ledger on
every view. These tables hold the sums instead; triggers add every change of the source rows
in the same transaction, whatever wrote it (ORM, a bill run's INSERT ... SELECT, raw SQL).
PostgreSQL: one statement-level trigger per event over its transition tables (a bill run of
240,000 rows updates each total once); SQLite: row-level triggers.

Revision ID: c3f7a9d1e5b8
Revises: b8d4f2a6c3e1
Create Date: 2026-12-03 22:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c3f7a9d1e5b8'
down_revision = 'b8d4f2a6c3e1'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2)
#: the ledger kinds counted as 交存及收益 (models.repair_fund.INFLOWS when this was written;
#: a new inflow kind needs a migration that replaces the trigger)
INFLOWS = "'deposit', 'top_up', 'interest', 'public_income'"


def _fund_values(row: str = "") -> list[str]:
    """inflow, used, balance, first_deposit of one ledger entry (``row``: "NEW." in a row trigger)."""
    return [f"CASE WHEN {row}kind IN ({INFLOWS}) THEN {row}amount ELSE 0 END",
            f"CASE WHEN {row}amount < 0 THEN {row}amount ELSE 0 END", f"{row}amount",
            f"CASE WHEN {row}kind = 'deposit' THEN {row}amount ELSE 0 END"]


def _fund_sums() -> str:
    return ", ".join(f"sum({value})" for value in _fund_values())


def upgrade():
    op.create_table(
        'bill_month_total',
        sa.Column('estate_id', sa.Integer(), sa.ForeignKey('estate.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('period', sa.Date(), primary_key=True),
        sa.Column('due', MONEY, nullable=False),
        sa.Column('paid', MONEY, nullable=False),
        sa.Column('outstanding', MONEY, nullable=False),
        sa.Column('bills', sa.Integer(), nullable=False),
    )
    op.create_table(
        'fund_unit_total',
        sa.Column('estate_id', sa.Integer(), sa.ForeignKey('estate.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('unit_key', sa.Integer(), primary_key=True),
        sa.Column('inflow', MONEY, nullable=False),
        sa.Column('used', MONEY, nullable=False),
        sa.Column('balance', MONEY, nullable=False),
        sa.Column('first_deposit', MONEY, nullable=False),
    )
    op.execute("INSERT INTO bill_month_total (estate_id, period, due, paid, outstanding, bills)"
               " SELECT estate_id, period, sum(amount), sum(paid), sum(outstanding), count(*)"
               " FROM bill GROUP BY estate_id, period")
    op.execute("INSERT INTO fund_unit_total (estate_id, unit_key, inflow, used, balance, first_deposit)"
               f" SELECT estate_id, coalesce(unit_id, 0), {_fund_sums()}"
               " FROM fund_entry GROUP BY estate_id, coalesce(unit_id, 0)")
    if op.get_context().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _sqlite_triggers():
    bill_add = ("INSERT INTO bill_month_total (estate_id, period, due, paid, outstanding, bills)"
                " VALUES (NEW.estate_id, NEW.period, NEW.amount, NEW.paid, NEW.outstanding, 1)"
                " ON CONFLICT (estate_id, period) DO UPDATE SET due = due + excluded.due, paid = paid + excluded.paid,"
                " outstanding = outstanding + excluded.outstanding, bills = bills + 1;")
    bill_remove = ("UPDATE bill_month_total SET due = due - OLD.amount, paid = paid - OLD.paid,"
                   " outstanding = outstanding - OLD.outstanding, bills = bills - 1"
                   " WHERE estate_id = OLD.estate_id AND period = OLD.period;"
                   " DELETE FROM bill_month_total WHERE estate_id = OLD.estate_id AND period = OLD.period AND bills = 0;")
    op.execute(f"CREATE TRIGGER bill_month_total_insert AFTER INSERT ON bill BEGIN {bill_add} END")
    op.execute(f"CREATE TRIGGER bill_month_total_delete AFTER DELETE ON bill BEGIN {bill_remove} END")
    op.execute("CREATE TRIGGER bill_month_total_update AFTER UPDATE OF estate_id, period, amount, paid, outstanding"
               f" ON bill BEGIN {bill_remove} {bill_add} END")
    op.execute(
        "CREATE TRIGGER fund_unit_total_insert AFTER INSERT ON fund_entry BEGIN"
        " INSERT INTO fund_unit_total (estate_id, unit_key, inflow, used, balance, first_deposit)"
        f" VALUES (NEW.estate_id, coalesce(NEW.unit_id, 0), {', '.join(_fund_values('NEW.'))})"
        " ON CONFLICT (estate_id, unit_key) DO UPDATE SET inflow = inflow + excluded.inflow,"
        " used = used + excluded.used, balance = balance + excluded.balance,"
        " first_deposit = first_deposit + excluded.first_deposit; END")


def _postgresql_triggers():
    def bill_upsert(rows: str, sign: str) -> str:
        # ordered by key: two transactions touching the same totals lock them in the same order
        return ("INSERT INTO bill_month_total AS t (estate_id, period, due, paid, outstanding, bills)"
                f" SELECT estate_id, period, {sign}sum(amount), {sign}sum(paid), {sign}sum(outstanding), {sign}count(*)"
                f" FROM {rows} GROUP BY estate_id, period ORDER BY estate_id, period"
                " ON CONFLICT (estate_id, period) DO UPDATE SET due = t.due + excluded.due,"
                " paid = t.paid + excluded.paid, outstanding = t.outstanding + excluded.outstanding,"
                " bills = t.bills + excluded.bills;")

    op.execute(f"""
        CREATE FUNCTION bill_month_total_apply() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                {bill_upsert("old_rows", "-")}
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                {bill_upsert("new_rows", "")}
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                DELETE FROM bill_month_total t USING (SELECT DISTINCT estate_id, period FROM old_rows) o
                 WHERE t.estate_id = o.estate_id AND t.period = o.period AND t.bills = 0;
            END IF;
            RETURN NULL;
        END $$
    """)
    op.execute("CREATE TRIGGER bill_month_total_insert AFTER INSERT ON bill REFERENCING NEW TABLE AS new_rows"
               " FOR EACH STATEMENT EXECUTE FUNCTION bill_month_total_apply()")
    op.execute("CREATE TRIGGER bill_month_total_update AFTER UPDATE ON bill"
               " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
               " FOR EACH STATEMENT EXECUTE FUNCTION bill_month_total_apply()")
    op.execute("CREATE TRIGGER bill_month_total_delete AFTER DELETE ON bill REFERENCING OLD TABLE AS old_rows"
               " FOR EACH STATEMENT EXECUTE FUNCTION bill_month_total_apply()")
    op.execute(f"""
        CREATE FUNCTION fund_unit_total_apply() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO fund_unit_total AS t (estate_id, unit_key, inflow, used, balance, first_deposit)
            SELECT estate_id, coalesce(unit_id, 0), {_fund_sums()}
              FROM new_rows GROUP BY estate_id, coalesce(unit_id, 0) ORDER BY 1, 2
            ON CONFLICT (estate_id, unit_key) DO UPDATE SET inflow = t.inflow + excluded.inflow,
                used = t.used + excluded.used, balance = t.balance + excluded.balance,
                first_deposit = t.first_deposit + excluded.first_deposit;
            RETURN NULL;
        END $$
    """)
    op.execute("CREATE TRIGGER fund_unit_total_insert AFTER INSERT ON fund_entry REFERENCING NEW TABLE AS new_rows"
               " FOR EACH STATEMENT EXECUTE FUNCTION fund_unit_total_apply()")


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        for trigger in ("bill_month_total_insert", "bill_month_total_update", "bill_month_total_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON bill")
        op.execute("DROP TRIGGER IF EXISTS fund_unit_total_insert ON fund_entry")
        op.execute("DROP FUNCTION IF EXISTS bill_month_total_apply()")
        op.execute("DROP FUNCTION IF EXISTS fund_unit_total_apply()")
    else:
        for trigger in ("bill_month_total_insert", "bill_month_total_update", "bill_month_total_delete",
                        "fund_unit_total_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_table('fund_unit_total')
    op.drop_table('bill_month_total')
