"""The live count of an owners' meeting's matters kept per choice by the database

As for the repair-fund vote (d7a3c9e5f1b2): a matter's count joined every unit of the
roll to its person's ballot and that ballot's choice on the matter, and counted distinct
persons, on every view of the meeting. The roll and the choices are append-only, so insert
triggers keep matter_tally exact in the same transaction: a roll row adds its unit to every
matter of its meeting ('' while its person has no choice on the matter; the person counts
once), a choice moves all of its person's units from '' to the choice, and a matter added
after the roll (not done by the application: the agenda is frozen once announced) starts
with the whole roll under ''. ix_meeting_roll_person finds a person's units.

Revision ID: e5b1d7f3a9c4
Revises: d7a3c9e5f1b2
Create Date: 2026-12-05 11:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'e5b1d7f3a9c4'
down_revision = 'd7a3c9e5f1b2'
branch_labels = None
depends_on = None

COLUMNS = "matter_id, choice, estate_id, units, area_hundredths, persons"


def _statements(dialect: str) -> dict[str, str]:
    """Per source table the SQL of its trigger's body, and the backfill, for ``dialect``: the
    area is stored in hundredths on SQLite already (models.base.ExactDecimal)."""
    sqlite = dialect == "sqlite"
    hundredths = (lambda column: column) if sqlite else (lambda column: f"({column} * 100)::bigint")
    into = "INSERT INTO matter_tally" + ("" if sqlite else " AS t") + f" ({COLUMNS})"
    t = "matter_tally" if sqlite else "t"
    add = (f"ON CONFLICT (matter_id, choice) DO UPDATE SET units = {t}.units + excluded.units,"
           f" area_hundredths = {t}.area_hundredths + excluded.area_hundredths,"
           f" persons = {t}.persons + excluded.persons;")
    voter = "(SELECT person FROM meeting_ballot WHERE id = NEW.ballot_id)"
    units_of_voter = f"FROM meeting_roll WHERE meeting_id = NEW.meeting_id AND person = {voter}"
    return {
        "meeting_roll": f"""
            {into}
            SELECT m.id, coalesce((SELECT c.choice FROM meeting_ballot b JOIN meeting_choice c ON c.ballot_id = b.id
                                   WHERE b.meeting_id = NEW.meeting_id AND b.person = NEW.person AND c.matter_id = m.id), ''),
                   NEW.estate_id, 1, {hundredths('NEW.area')},
                   CASE WHEN EXISTS (SELECT 1 FROM meeting_roll WHERE meeting_id = NEW.meeting_id AND person = NEW.person
                                     AND id <> NEW.id) THEN 0 ELSE 1 END
            FROM meeting_matter m WHERE m.meeting_id = NEW.meeting_id
            {add}""",
        "meeting_choice": f"""
            UPDATE matter_tally SET units = units - (SELECT count(*) {units_of_voter}),
                area_hundredths = area_hundredths - (SELECT coalesce(sum({hundredths('area')}), 0) {units_of_voter}),
                persons = persons - 1
            WHERE matter_id = NEW.matter_id AND choice = '';
            {into}
            SELECT NEW.matter_id, NEW.choice, NEW.estate_id, count(*), sum({hundredths('area')}), 1 {units_of_voter}
            GROUP BY meeting_id
            {add}""",
        "meeting_matter": f"""
            {into}
            SELECT NEW.id, '', min(estate_id), count(*), sum({hundredths('area')}), count(DISTINCT person)
            FROM meeting_roll WHERE meeting_id = NEW.meeting_id GROUP BY meeting_id
            {add}""",
        "backfill": f"""
            INSERT INTO matter_tally ({COLUMNS})
            SELECT m.id, coalesce(c.choice, ''), min(r.estate_id), count(*), sum({hundredths('r.area')}),
                   count(DISTINCT r.person)
            FROM meeting_matter m JOIN meeting_roll r ON r.meeting_id = m.meeting_id
            LEFT JOIN meeting_ballot b ON b.meeting_id = r.meeting_id AND b.person = r.person
            LEFT JOIN meeting_choice c ON c.ballot_id = b.id AND c.matter_id = m.id
            GROUP BY m.id, coalesce(c.choice, '')""",
    }


def upgrade():
    dialect = op.get_context().dialect.name
    op.create_table(
        'matter_tally',
        sa.Column('matter_id', sa.Integer(), sa.ForeignKey('meeting_matter.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('choice', sa.String(10), primary_key=True),
        sa.Column('estate_id', sa.Integer(), sa.ForeignKey('estate.id', ondelete='CASCADE'), nullable=False),
        sa.Column('units', sa.Integer(), nullable=False),
        sa.Column('area_hundredths', sa.BigInteger(), nullable=False),
        sa.Column('persons', sa.Integer(), nullable=False),
    )
    op.create_index('ix_meeting_roll_person', 'meeting_roll', ['meeting_id', 'person'])
    op.drop_index('ix_meeting_roll_meeting_id', table_name='meeting_roll')
    statements = _statements(dialect)
    op.execute(statements.pop("backfill"))
    for table, body in statements.items():
        if dialect == "postgresql":
            op.execute(f"CREATE FUNCTION matter_tally_{table}() RETURNS trigger LANGUAGE plpgsql AS $$"
                       f" BEGIN {body} RETURN NULL; END $$")
            op.execute(f"CREATE TRIGGER matter_tally_{table} AFTER INSERT ON {table}"
                       f" FOR EACH ROW EXECUTE FUNCTION matter_tally_{table}()")
        else:
            op.execute(f"CREATE TRIGGER matter_tally_{table} AFTER INSERT ON {table} BEGIN {body} END")


def downgrade():
    for table in ("meeting_roll", "meeting_choice", "meeting_matter"):
        if op.get_context().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS matter_tally_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS matter_tally_{table}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS matter_tally_{table}")
    op.create_index('ix_meeting_roll_meeting_id', 'meeting_roll', ['meeting_id'])
    op.drop_index('ix_meeting_roll_person', table_name='meeting_roll')
    op.drop_table('matter_tally')
