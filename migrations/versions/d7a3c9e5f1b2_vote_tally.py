"""The repair-fund vote's live count kept per choice by the database

The tally page joined every unit of the roll (10,000 in a large estate) to its person's
ballot and counted distinct persons per choice on every view (~10 ms on SQLite). The roll
and the ballots are append-only (their update/delete triggers refuse), so two insert
triggers keep vote_tally exact in the same transaction: a roll row adds its unit to its
person's choice ('' while the person has no ballot; the person counts once), a ballot
moves all of its person's units from '' to its choice. ix_vote_roll_person finds a
person's units for both (and for the ballot's own checks).

Revision ID: d7a3c9e5f1b2
Revises: b5e3d9a1f7c2
Create Date: 2026-12-05 11:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd7a3c9e5f1b2'
down_revision = 'b5e3d9a1f7c2'
branch_labels = None
depends_on = None

COLUMNS = "application_id, choice, estate_id, units, area_hundredths, persons"


def _statements(dialect: str) -> tuple[str, str, str]:
    """The SQL of the two triggers' bodies and of the backfill, for ``dialect``: the area is
    stored in hundredths on SQLite already (models.base.ExactDecimal), NUMERIC on PostgreSQL."""
    new_area, area = ("NEW.area", "r.area") if dialect == "sqlite" else ("(NEW.area * 100)::bigint", "(r.area * 100)::bigint")
    t = "vote_tally" if dialect == "sqlite" else "t"
    same_person = "application_id = NEW.application_id AND person = NEW.person"
    roll = f"""
        INSERT INTO vote_tally{'' if dialect == 'sqlite' else ' AS t'} ({COLUMNS})
        VALUES (NEW.application_id, coalesce((SELECT choice FROM ballot WHERE {same_person}), ''), NEW.estate_id, 1,
                {new_area}, CASE WHEN EXISTS (SELECT 1 FROM vote_roll WHERE {same_person} AND id <> NEW.id) THEN 0 ELSE 1 END)
        ON CONFLICT (application_id, choice) DO UPDATE SET units = {t}.units + 1,
            area_hundredths = {t}.area_hundredths + excluded.area_hundredths, persons = {t}.persons + excluded.persons;"""
    person_area = "sum(area)" if dialect == "sqlite" else "sum((area * 100)::bigint)"
    ballot = f"""
        UPDATE vote_tally SET units = units - (SELECT count(*) FROM vote_roll WHERE {same_person}),
            area_hundredths = area_hundredths - (SELECT coalesce({person_area}, 0) FROM vote_roll WHERE {same_person}),
            persons = persons - 1
        WHERE application_id = NEW.application_id AND choice = '';
        INSERT INTO vote_tally{'' if dialect == 'sqlite' else ' AS t'} ({COLUMNS})
        SELECT NEW.application_id, NEW.choice, NEW.estate_id, count(*), {person_area}, 1 FROM vote_roll WHERE {same_person}
        ON CONFLICT (application_id, choice) DO UPDATE SET units = {t}.units + excluded.units,
            area_hundredths = {t}.area_hundredths + excluded.area_hundredths, persons = {t}.persons + 1;"""
    backfill = f"""
        INSERT INTO vote_tally ({COLUMNS})
        SELECT r.application_id, coalesce(b.choice, ''), min(r.estate_id), count(*), sum({area}), count(DISTINCT r.person)
        FROM vote_roll r LEFT JOIN ballot b ON b.application_id = r.application_id AND b.person = r.person
        GROUP BY r.application_id, coalesce(b.choice, '')"""
    return roll, ballot, backfill


def upgrade():
    dialect = op.get_context().dialect.name
    op.create_table(
        'vote_tally',
        sa.Column('application_id', sa.Integer(), sa.ForeignKey('fund_application.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('choice', sa.String(10), primary_key=True),
        sa.Column('estate_id', sa.Integer(), sa.ForeignKey('estate.id', ondelete='CASCADE'), nullable=False),
        sa.Column('units', sa.Integer(), nullable=False),
        sa.Column('area_hundredths', sa.BigInteger(), nullable=False),
        sa.Column('persons', sa.Integer(), nullable=False),
    )
    op.create_index('ix_vote_roll_person', 'vote_roll', ['application_id', 'person'])
    op.drop_index('ix_vote_roll_application_id', table_name='vote_roll')
    roll, ballot, backfill = _statements(dialect)
    op.execute(backfill)
    if dialect == "postgresql":
        for table, body in (("vote_roll", roll), ("ballot", ballot)):
            op.execute(f"CREATE FUNCTION vote_tally_{table}() RETURNS trigger LANGUAGE plpgsql AS $$"
                       f" BEGIN {body} RETURN NULL; END $$")
            op.execute(f"CREATE TRIGGER vote_tally_{table} AFTER INSERT ON {table}"
                       f" FOR EACH ROW EXECUTE FUNCTION vote_tally_{table}()")
    else:
        for table, body in (("vote_roll", roll), ("ballot", ballot)):
            op.execute(f"CREATE TRIGGER vote_tally_{table} AFTER INSERT ON {table} BEGIN {body} END")


def downgrade():
    for table in ("vote_roll", "ballot"):
        if op.get_context().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS vote_tally_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS vote_tally_{table}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS vote_tally_{table}")
    op.create_index('ix_vote_roll_application_id', 'vote_roll', ['application_id'])
    op.drop_index('ix_vote_roll_person', table_name='vote_roll')
    op.drop_table('vote_tally')
