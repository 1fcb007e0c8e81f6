"""The live counts of the owners' votes kept per choice by the database

The 表决与计票 pages joined every unit of the roll (10,000 in a large estate) to its person's
ballot and counted distinct persons per choice on every view (~10 ms on SQLite). The rolls,
ballots, choices and approvals are append-only (their update/delete triggers refuse) and an
agenda is frozen once announced, so insert triggers keep three tables exact in the same
transaction, each holding the units, area (0.01 ㎡) and persons per choice ('' while the
person has no ballot; a person counts once however many units they hold):

- vote_tally, per repair-fund application: a roll row adds its unit to its person's choice,
  a ballot moves all of its person's units from '' to its choice;
- matter_tally, per matter of a meeting: a roll row adds its unit to every matter of the
  meeting, a choice moves its person's units from '' to the choice, a matter added after the
  roll starts from the whole roll;
- candidate_tally, per candidate of an election: a roll row adds its unit to every candidate
  of the meeting, a ballot moves its person's units from '' to 'abstain' (took part) for
  each of them, an approval from 'abstain' to 'yes' for its candidate, a candidate added
  after the roll starts from the roll and the ballots.

ix_vote_roll_person and ix_meeting_roll_person find a person's units; they replace the
single-column indexes they start with.

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

#: kept table -> (its key column, the table the key refers to)
TABLES = {"vote_tally": ("application_id", "fund_application"), "matter_tally": ("matter_id", "meeting_matter"),
          "candidate_tally": ("candidate_id", "candidate")}
CANDIDATES_OF_MEETING = "SELECT c.id FROM candidate c JOIN meeting_matter m ON m.id = c.matter_id WHERE m.meeting_id = {}"


class Sql:
    """The SQL pieces of one kept table for one database: the area is stored in hundredths on
    SQLite already (models.base.ExactDecimal), NUMERIC on PostgreSQL."""

    def __init__(self, table: str, dialect: str):
        self.table, self.sqlite = table, dialect == "sqlite"
        key = TABLES[table][0]
        self.columns = f"{key}, choice, estate_id, units, area_hundredths, persons"
        self.into = f"INSERT INTO {table}" + ("" if self.sqlite else " AS t") + f" ({self.columns})"
        t = table if self.sqlite else "t"
        self.add = (f"ON CONFLICT ({key}, choice) DO UPDATE SET units = {t}.units + excluded.units,"
                    f" area_hundredths = {t}.area_hundredths + excluded.area_hundredths,"
                    f" persons = {t}.persons + excluded.persons;")

    def hundredths(self, column: str) -> str:
        return column if self.sqlite else f"({column} * 100)::bigint"

    def move(self, units: str, keys: str, source: str, target: str, estate: str) -> str:
        """The units of the roll selected by ``units`` (a FROM ... WHERE of one person's), for the
        rows of ``keys``, from choice ``source`` to choice ``target`` (SQL expressions)."""
        key = TABLES[self.table][0]
        count, area = f"(SELECT count(*) {units})", f"(SELECT coalesce(sum({self.hundredths('area')}), 0) {units})"
        return f"""
            UPDATE {self.table} SET units = units - {count}, area_hundredths = area_hundredths - {area},
                persons = persons - 1
            WHERE choice = {source} AND {key} IN ({keys});
            {self.into}
            SELECT key_row.id, {target}, {estate}, {count}, {area}, 1 FROM {TABLES[self.table][1]} key_row
            WHERE key_row.id IN ({keys})
            {self.add}"""


def _first_unit(roll: str, group: str) -> str:
    """1 for a person's first unit on the roll, 0 for the others: a person counts once."""
    return (f"CASE WHEN EXISTS (SELECT 1 FROM {roll} WHERE {group} = NEW.{group} AND person = NEW.person"
            " AND id <> NEW.id) THEN 0 ELSE 1 END")


def _triggers(dialect: str) -> dict[tuple[str, str], str]:
    """(kept table, source table) -> the body of the source's insert trigger."""
    fund, matter, candidate = (Sql(table, dialect) for table in TABLES)
    voter = "(SELECT person FROM meeting_ballot WHERE id = NEW.ballot_id)"
    units_of = "FROM meeting_roll WHERE meeting_id = NEW.meeting_id AND person = {}"
    ballot_of_person = "SELECT 1 FROM meeting_ballot b WHERE b.meeting_id = {0}.meeting_id AND b.person = {0}.person"
    return {
        ("vote_tally", "vote_roll"): f"""
            {fund.into}
            VALUES (NEW.application_id, coalesce((SELECT choice FROM ballot WHERE application_id = NEW.application_id
                                                  AND person = NEW.person), ''),
                    NEW.estate_id, 1, {fund.hundredths('NEW.area')}, {_first_unit('vote_roll', 'application_id')})
            {fund.add}""",
        ("vote_tally", "ballot"): fund.move(
            "FROM vote_roll WHERE application_id = NEW.application_id AND person = NEW.person",
            "NEW.application_id", "''", "NEW.choice", "NEW.estate_id"),
        ("matter_tally", "meeting_roll"): f"""
            {matter.into}
            SELECT m.id, coalesce((SELECT c.choice FROM meeting_ballot b JOIN meeting_choice c ON c.ballot_id = b.id
                                   WHERE b.meeting_id = NEW.meeting_id AND b.person = NEW.person AND c.matter_id = m.id), ''),
                   NEW.estate_id, 1, {matter.hundredths('NEW.area')}, {_first_unit('meeting_roll', 'meeting_id')}
            FROM meeting_matter m WHERE m.meeting_id = NEW.meeting_id
            {matter.add}""",
        ("matter_tally", "meeting_choice"): matter.move(
            units_of.format(voter), "NEW.matter_id", "''", "NEW.choice", "NEW.estate_id"),
        ("matter_tally", "meeting_matter"): f"""
            {matter.into}
            SELECT NEW.id, '', min(estate_id), count(*), sum({matter.hundredths('area')}), count(DISTINCT person)
            FROM meeting_roll WHERE meeting_id = NEW.meeting_id GROUP BY meeting_id
            {matter.add}""",
        ("candidate_tally", "meeting_roll"): f"""
            {candidate.into}
            SELECT c.id,
                   CASE WHEN EXISTS (SELECT 1 FROM meeting_ballot b JOIN meeting_approval a ON a.ballot_id = b.id
                                     WHERE b.meeting_id = NEW.meeting_id AND b.person = NEW.person
                                     AND a.candidate_id = c.id) THEN 'yes'
                        WHEN EXISTS ({ballot_of_person.format('NEW')}) THEN 'abstain' ELSE '' END,
                   NEW.estate_id, 1, {candidate.hundredths('NEW.area')}, {_first_unit('meeting_roll', 'meeting_id')}
            FROM candidate c JOIN meeting_matter m ON m.id = c.matter_id WHERE m.meeting_id = NEW.meeting_id
            {candidate.add}""",
        ("candidate_tally", "meeting_ballot"): candidate.move(
            units_of.format("NEW.person"), CANDIDATES_OF_MEETING.format("NEW.meeting_id"), "''", "'abstain'",
            "NEW.estate_id"),
        ("candidate_tally", "meeting_approval"): candidate.move(
            units_of.format(voter), "NEW.candidate_id", "'abstain'", "'yes'", "NEW.estate_id"),
        ("candidate_tally", "candidate"): f"""
            {candidate.into}
            SELECT NEW.id, CASE WHEN EXISTS ({ballot_of_person.format('r')}) THEN 'abstain' ELSE '' END,
                   min(r.estate_id), count(*), sum({candidate.hundredths('r.area')}), count(DISTINCT r.person)
            FROM meeting_matter m JOIN meeting_roll r ON r.meeting_id = m.meeting_id
            WHERE m.id = NEW.matter_id
            GROUP BY CASE WHEN EXISTS ({ballot_of_person.format('r')}) THEN 'abstain' ELSE '' END
            {candidate.add}""",
    }


def _backfills(dialect: str) -> list[str]:
    """The counts of the votes already held, from the rolls and ballots."""
    fund, matter, candidate = (Sql(table, dialect) for table in TABLES)
    return [
        f"""INSERT INTO vote_tally ({fund.columns})
            SELECT r.application_id, coalesce(b.choice, ''), min(r.estate_id), count(*), sum({fund.hundredths('r.area')}),
                   count(DISTINCT r.person)
            FROM vote_roll r LEFT JOIN ballot b ON b.application_id = r.application_id AND b.person = r.person
            GROUP BY r.application_id, coalesce(b.choice, '')""",
        f"""INSERT INTO matter_tally ({matter.columns})
            SELECT m.id, coalesce(c.choice, ''), min(r.estate_id), count(*), sum({matter.hundredths('r.area')}),
                   count(DISTINCT r.person)
            FROM meeting_matter m JOIN meeting_roll r ON r.meeting_id = m.meeting_id
            LEFT JOIN meeting_ballot b ON b.meeting_id = r.meeting_id AND b.person = r.person
            LEFT JOIN meeting_choice c ON c.ballot_id = b.id AND c.matter_id = m.id
            GROUP BY m.id, coalesce(c.choice, '')""",
        f"""INSERT INTO candidate_tally ({candidate.columns})
            SELECT c.id, CASE WHEN a.id IS NOT NULL THEN 'yes' WHEN b.id IS NOT NULL THEN 'abstain' ELSE '' END,
                   min(r.estate_id), count(*), sum({candidate.hundredths('r.area')}), count(DISTINCT r.person)
            FROM candidate c JOIN meeting_matter m ON m.id = c.matter_id
            JOIN meeting_roll r ON r.meeting_id = m.meeting_id
            LEFT JOIN meeting_ballot b ON b.meeting_id = r.meeting_id AND b.person = r.person
            LEFT JOIN meeting_approval a ON a.ballot_id = b.id AND a.candidate_id = c.id
            GROUP BY c.id, CASE WHEN a.id IS NOT NULL THEN 'yes' WHEN b.id IS NOT NULL THEN 'abstain' ELSE '' END""",
    ]


def upgrade():
    dialect = op.get_context().dialect.name
    for table, (key, target) in TABLES.items():
        op.create_table(
            table,
            sa.Column(key, sa.Integer(), sa.ForeignKey(f'{target}.id', ondelete='CASCADE'), primary_key=True),
            sa.Column('choice', sa.String(10), primary_key=True),
            sa.Column('estate_id', sa.Integer(), sa.ForeignKey('estate.id', ondelete='CASCADE'), nullable=False),
            sa.Column('units', sa.Integer(), nullable=False),
            sa.Column('area_hundredths', sa.BigInteger(), nullable=False),
            sa.Column('persons', sa.Integer(), nullable=False),
        )
    for roll, group in (("vote_roll", "application_id"), ("meeting_roll", "meeting_id")):
        op.create_index(f'ix_{roll}_person', roll, [group, 'person'])
        op.drop_index(f'ix_{roll}_{group}', table_name=roll)
    for backfill in _backfills(dialect):
        op.execute(backfill)
    for (kept, source), body in _triggers(dialect).items():
        name = f"{kept}_{source}"
        if dialect == "postgresql":
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$")
            op.execute(f"CREATE TRIGGER {name} AFTER INSERT ON {source} FOR EACH ROW EXECUTE FUNCTION {name}()")
        else:
            op.execute(f"CREATE TRIGGER {name} AFTER INSERT ON {source} BEGIN {body} END")


def downgrade():
    dialect = op.get_context().dialect.name
    for kept, source in _triggers(dialect):
        name = f"{kept}_{source}"
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {source}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for roll, group in (("vote_roll", "application_id"), ("meeting_roll", "meeting_id")):
        op.create_index(f'ix_{roll}_{group}', roll, [group])
        op.drop_index(f'ix_{roll}_person', table_name=roll)
    for table in TABLES:
        op.drop_table(table)
