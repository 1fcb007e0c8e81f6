"""The scope stamp: one number the database moves whenever the estates a grant reaches may change
(a 用户辖区 row written, an estate or a community created, removed or moved), so each process may
keep a user's estates between requests (app.scoping) and still see a change at its next request.

Triggers, so that every writer counts: forms, imports, the demo's bulk inserts, raw SQL. On SQLite
a later batch migration that rebuilds one of these tables drops its triggers: create them again
there (``create_triggers``).

Revision ID: 8d2f6b1c4e70
Revises: 7c1e5a9d3b20
Create Date: 2026-12-04 21:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '8d2f6b1c4e70'
down_revision = '7c1e5a9d3b20'
branch_labels = None
depends_on = None

#: table -> the changes that move the stamp (an UPDATE only of the columns that place a row)
WATCHED = {
    "user_scope": ("INSERT", "DELETE", "UPDATE"),
    "estate": ("INSERT", "DELETE", "UPDATE OF community_id"),
    "community": ("INSERT", "DELETE", "UPDATE OF street_id"),
}
BUMP = "UPDATE scope_stamp SET version = version + 1 WHERE id = 1"


def _name(table: str, event: str) -> str:
    return f"{table}_moves_scope_stamp_{event.split()[0].lower()}"


def create_triggers():
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"CREATE FUNCTION move_scope_stamp() RETURNS trigger AS $$ BEGIN {BUMP}; RETURN NULL; END; "
                   "$$ LANGUAGE plpgsql")
        for table, events in WATCHED.items():
            # once per statement: a bulk insert of estates moves it once
            op.execute(f"CREATE TRIGGER {table}_moves_scope_stamp AFTER {' OR '.join(events)} ON {table}"
                       " FOR EACH STATEMENT EXECUTE FUNCTION move_scope_stamp()")
        return
    for table, events in WATCHED.items():
        for event in events:
            op.execute(f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} BEGIN {BUMP}; END")


def drop_triggers():
    if op.get_context().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_moves_scope_stamp ON {table}")
        op.execute("DROP FUNCTION IF EXISTS move_scope_stamp()")
        return
    for table, events in WATCHED.items():
        for event in events:
            op.execute(f"DROP TRIGGER IF EXISTS {_name(table, event)}")


def upgrade():
    stamp = op.create_table(
        'scope_stamp',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.CheckConstraint('id = 1', name='ck_scope_stamp_single_row'),
    )
    op.bulk_insert(stamp, [{"id": 1, "version": 0}])
    create_triggers()


def downgrade():
    drop_triggers()
    op.drop_table('scope_stamp')
