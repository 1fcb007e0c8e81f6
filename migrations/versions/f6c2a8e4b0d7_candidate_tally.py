"""An election's live count per candidate kept by the database

As for the matters of a meeting (e5b1d7f3a9c4): each candidate's count joined every unit of
the roll to its person's ballot and approvals on every view. Roll, ballots and approvals are
append-only, and candidates are frozen once the meeting is announced, so insert triggers
keep candidate_tally exact in the same transaction: a roll row adds its unit to every
candidate of its meeting (under 'yes', 'abstain' or '' as its person approved, returned a
ballot or not; the person counts once), a ballot moves its person's units from '' to
'abstain' for every candidate of the meeting, an approval from 'abstain' to 'yes' for its
candidate, and a candidate added after the roll starts from the roll and the ballots.

Revision ID: f6c2a8e4b0d7
Revises: a8d4f0b6c2e1
Create Date: 2026-12-05 11:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'f6c2a8e4b0d7'
down_revision = 'a8d4f0b6c2e1'
branch_labels = None
depends_on = None

COLUMNS = "candidate_id, choice, estate_id, units, area_hundredths, persons"
CANDIDATES_OF_MEETING = "SELECT c.id FROM candidate c JOIN meeting_matter m ON m.id = c.matter_id WHERE m.meeting_id = {}"


def _statements(dialect: str) -> dict[str, str]:
    """Per source table the SQL of its trigger's body, and the backfill, for ``dialect``: the
    area is stored in hundredths on SQLite already (models.base.ExactDecimal)."""
    sqlite = dialect == "sqlite"
    hundredths = (lambda column: column) if sqlite else (lambda column: f"({column} * 100)::bigint")
    into = "INSERT INTO candidate_tally" + ("" if sqlite else " AS t") + f" ({COLUMNS})"
    t = "candidate_tally" if sqlite else "t"
    add = (f"ON CONFLICT (candidate_id, choice) DO UPDATE SET units = {t}.units + excluded.units,"
           f" area_hundredths = {t}.area_hundredths + excluded.area_hundredths,"
           f" persons = {t}.persons + excluded.persons;")

    def move(person: str, candidates: str, source: str, target: str, estate: str) -> str:
        """All of ``person``'s units of the roll, for ``candidates``, from ``source`` to ``target``."""
        units = f"FROM meeting_roll WHERE meeting_id = NEW.meeting_id AND person = {person}"
        count, area = f"(SELECT count(*) {units})", f"(SELECT coalesce(sum({hundredths('area')}), 0) {units})"
        return f"""
            UPDATE candidate_tally SET units = units - {count}, area_hundredths = area_hundredths - {area},
                persons = persons - 1
            WHERE choice = '{source}' AND candidate_id IN ({candidates});
            {into}
            SELECT candidate.id, '{target}', {estate}, {count}, {area}, 1 FROM candidate
            WHERE candidate.id IN ({candidates})
            {add}"""

    ballot_of_person = "SELECT 1 FROM meeting_ballot b WHERE b.meeting_id = {0}.meeting_id AND b.person = {0}.person"
    return {
        "meeting_roll": f"""
            {into}
            SELECT c.id,
                   CASE WHEN EXISTS (SELECT 1 FROM meeting_ballot b JOIN meeting_approval a ON a.ballot_id = b.id
                                     WHERE b.meeting_id = NEW.meeting_id AND b.person = NEW.person
                                     AND a.candidate_id = c.id) THEN 'yes'
                        WHEN EXISTS ({ballot_of_person.format('NEW')}) THEN 'abstain' ELSE '' END,
                   NEW.estate_id, 1, {hundredths('NEW.area')},
                   CASE WHEN EXISTS (SELECT 1 FROM meeting_roll WHERE meeting_id = NEW.meeting_id AND person = NEW.person
                                     AND id <> NEW.id) THEN 0 ELSE 1 END
            FROM candidate c JOIN meeting_matter m ON m.id = c.matter_id WHERE m.meeting_id = NEW.meeting_id
            {add}""",
        "meeting_ballot": move("NEW.person", CANDIDATES_OF_MEETING.format("NEW.meeting_id"), "", "abstain",
                               "NEW.estate_id"),
        "meeting_approval": move("(SELECT person FROM meeting_ballot WHERE id = NEW.ballot_id)", "NEW.candidate_id",
                                 "abstain", "yes", "NEW.estate_id"),
        "candidate": f"""
            {into}
            SELECT NEW.id, CASE WHEN EXISTS ({ballot_of_person.format('r')}) THEN 'abstain' ELSE '' END,
                   min(r.estate_id), count(*), sum({hundredths('r.area')}), count(DISTINCT r.person)
            FROM meeting_matter m JOIN meeting_roll r ON r.meeting_id = m.meeting_id
            WHERE m.id = NEW.matter_id
            GROUP BY CASE WHEN EXISTS ({ballot_of_person.format('r')}) THEN 'abstain' ELSE '' END
            {add}""",
        "backfill": f"""
            INSERT INTO candidate_tally ({COLUMNS})
            SELECT c.id, CASE WHEN a.id IS NOT NULL THEN 'yes' WHEN b.id IS NOT NULL THEN 'abstain' ELSE '' END,
                   min(r.estate_id), count(*), sum({hundredths('r.area')}), count(DISTINCT r.person)
            FROM candidate c JOIN meeting_matter m ON m.id = c.matter_id
            JOIN meeting_roll r ON r.meeting_id = m.meeting_id
            LEFT JOIN meeting_ballot b ON b.meeting_id = r.meeting_id AND b.person = r.person
            LEFT JOIN meeting_approval a ON a.ballot_id = b.id AND a.candidate_id = c.id
            GROUP BY c.id, CASE WHEN a.id IS NOT NULL THEN 'yes' WHEN b.id IS NOT NULL THEN 'abstain' ELSE '' END""",
    }


def upgrade():
    dialect = op.get_context().dialect.name
    op.create_table(
        'candidate_tally',
        sa.Column('candidate_id', sa.Integer(), sa.ForeignKey('candidate.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('choice', sa.String(10), primary_key=True),
        sa.Column('estate_id', sa.Integer(), sa.ForeignKey('estate.id', ondelete='CASCADE'), nullable=False),
        sa.Column('units', sa.Integer(), nullable=False),
        sa.Column('area_hundredths', sa.BigInteger(), nullable=False),
        sa.Column('persons', sa.Integer(), nullable=False),
    )
    statements = _statements(dialect)
    op.execute(statements.pop("backfill"))
    for table, body in statements.items():
        if dialect == "postgresql":
            op.execute(f"CREATE FUNCTION candidate_tally_{table}() RETURNS trigger LANGUAGE plpgsql AS $$"
                       f" BEGIN {body} RETURN NULL; END $$")
            op.execute(f"CREATE TRIGGER candidate_tally_{table} AFTER INSERT ON {table}"
                       f" FOR EACH ROW EXECUTE FUNCTION candidate_tally_{table}()")
        else:
            op.execute(f"CREATE TRIGGER candidate_tally_{table} AFTER INSERT ON {table} BEGIN {body} END")


def downgrade():
    for table in ("meeting_roll", "meeting_ballot", "meeting_approval", "candidate"):
        if op.get_context().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS candidate_tally_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS candidate_tally_{table}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS candidate_tally_{table}")
    op.drop_table('candidate_tally')
