"""业主大会会议: meetings, their agenda of matters, the roll, one ballot per person with a
choice per matter, and each matter's stored result; the notice days of a meeting

The roll, ballots, choices and results are append-only, in the database too (the guards
of the repair-fund revision).

Revision ID: f4c8a2e6b1d3
Revises: e2b8f4a6c1d9
Create Date: 2026-12-04 07:21:18
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = 'f4c8a2e6b1d3'
down_revision = 'e2b8f4a6c1d9'
branch_labels = None
depends_on = None

APPEND_ONLY = ("meeting_roll", "meeting_ballot", "meeting_choice", "matter_result")
# a migration keeps its own copy: the application's defaults may change after it has run
MEETING_TEMPLATES = [{
    "key": "meeting_announced", "subject": "{{ estate }}业主大会会议公告",
    "body": "{{ estate }}「{{ title }}」已公告，表决期{{ vote_from }}至{{ vote_until }}，议程和表决规则详见小区公示栏。",
    "sms_template_code": None, "variables": "estate 小区、title 会议名称、vote_from 表决开始、vote_until 表决截止",
}, {
    "key": "meeting_cancelled", "subject": "{{ estate }}业主大会会议取消",
    "body": "{{ estate }}「{{ title }}」已取消（{{ reason }}），详见小区公示栏。",
    "sms_template_code": None, "variables": "estate 小区、title 会议名称、reason 取消原因",
}]


def _guards():
    """The append-only triggers as the repair-fund revision defines them."""
    spec = importlib.util.spec_from_file_location("repair_fund_revision",
                                                  Path(__file__).with_name("a741257224ee_repair_fund.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade():
    op.create_table('owners_meeting',
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('form', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('vote_from', sa.Date(), nullable=False),
    sa.Column('vote_until', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('announced_on', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("form IN ('discussion', 'written')", name='ck_owners_meeting_form'),
    sa.CheckConstraint("kind IN ('regular', 'extraordinary')", name='ck_owners_meeting_kind'),
    sa.CheckConstraint("reason IN ('proposal', 'emergency', 'rules')", name='ck_owners_meeting_reason'),
    sa.CheckConstraint("state IN ('draft', 'announced', 'voting', 'counted', 'cancelled')", name='ck_owners_meeting_state'),
    sa.CheckConstraint('vote_until >= vote_from', name='ck_owners_meeting_dates'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('owners_meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_owners_meeting_estate_id'), ['estate_id'], unique=False)

    op.create_table('meeting_matter',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('matter', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('rule_quorum', sa.String(length=10), nullable=True),
    sa.Column('rule_approval', sa.String(length=10), nullable=True),
    sa.Column('rule_strict', sa.Boolean(), nullable=True),
    sa.Column('rule_base', sa.String(length=20), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("matter IN ('rules_of_procedure', 'covenant', 'committee', 'property_manager', 'use', 'raise_fund', 'rebuild', 'common_parts', 'other')", name='ck_meeting_matter_matter'),
    sa.CheckConstraint('position > 0', name='ck_meeting_matter_position'),
    sa.ForeignKeyConstraint(['meeting_id'], ['owners_meeting.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'position', name='uq_meeting_matter_position')
    )
    with op.batch_alter_table('meeting_matter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_matter_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('matter_result',
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('total_area', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('total_heads', sa.Integer(), nullable=False),
    sa.Column('participating_area', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('participating_heads', sa.Integer(), nullable=False),
    sa.Column('yes_area', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('yes_heads', sa.Integer(), nullable=False),
    sa.Column('no_area', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('no_heads', sa.Integer(), nullable=False),
    sa.Column('abstain_area', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('abstain_heads', sa.Integer(), nullable=False),
    sa.Column('silent_area', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('silent_heads', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=300), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['matter_id'], ['meeting_matter.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['meeting_id'], ['owners_meeting.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('matter_id', name='uq_matter_result_matter')
    )
    with op.batch_alter_table('matter_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matter_result_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matter_result_matter_id'), ['matter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matter_result_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('meeting_roll',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('area', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('person', sa.String(length=200), nullable=False),
    sa.Column('voter_name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['meeting_id'], ['owners_meeting.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'unit_id', 'person', name='uq_meeting_roll_unit_person'),
    sa.UniqueConstraint('meeting_id', 'unit_id', name='uq_meeting_roll_unit')
    )
    with op.batch_alter_table('meeting_roll', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_roll_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_roll_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_roll_unit_id'), ['unit_id'], unique=False)

    op.create_table('meeting_ballot',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('person', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('scan', sa.String(length=255), nullable=True),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('cast_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("channel <> 'paper' OR scan IS NOT NULL", name='ck_meeting_ballot_paper_scan'),
    sa.CheckConstraint("channel IN ('paper', 'electronic')", name='ck_meeting_ballot_channel'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['meeting_id', 'unit_id', 'person'], ['meeting_roll.meeting_id', 'meeting_roll.unit_id', 'meeting_roll.person'], name='fk_meeting_ballot_roll'),
    sa.ForeignKeyConstraint(['meeting_id'], ['owners_meeting.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'person', name='uq_meeting_ballot_person')
    )
    with op.batch_alter_table('meeting_ballot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_ballot_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_ballot_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_ballot_unit_id'), ['unit_id'], unique=False)

    op.create_table('meeting_choice',
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('choice', sa.String(length=10), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("choice IN ('yes', 'no', 'abstain')", name='ck_meeting_choice_choice'),
    sa.ForeignKeyConstraint(['ballot_id'], ['meeting_ballot.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['matter_id'], ['meeting_matter.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ballot_id', 'matter_id', name='uq_meeting_choice_matter')
    )
    with op.batch_alter_table('meeting_choice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_choice_ballot_id'), ['ballot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_choice_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_choice_matter_id'), ['matter_id'], unique=False)

    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assembly_notice_days', sa.Integer(), server_default='15', nullable=False))
    for table in APPEND_ONLY:
        _guards().create_guards(table)
    templates = sa.table("message_template", *(sa.column(name) for name in MEETING_TEMPLATES[0]))
    op.bulk_insert(templates, MEETING_TEMPLATES)


def downgrade():
    op.execute("DELETE FROM message_template WHERE key IN ('meeting_announced', 'meeting_cancelled')")
    for table in APPEND_ONLY:
        _guards().drop_guards(table)
    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.drop_column('assembly_notice_days')

    with op.batch_alter_table('meeting_choice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_choice_matter_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_choice_estate_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_choice_ballot_id'))

    op.drop_table('meeting_choice')
    with op.batch_alter_table('meeting_ballot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_ballot_unit_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_ballot_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_ballot_estate_id'))

    op.drop_table('meeting_ballot')
    with op.batch_alter_table('meeting_roll', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_roll_unit_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_roll_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_roll_estate_id'))

    op.drop_table('meeting_roll')
    with op.batch_alter_table('matter_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matter_result_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_matter_result_matter_id'))
        batch_op.drop_index(batch_op.f('ix_matter_result_estate_id'))

    op.drop_table('matter_result')
    with op.batch_alter_table('meeting_matter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_matter_meeting_id'))

    op.drop_table('meeting_matter')
    with op.batch_alter_table('owners_meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_owners_meeting_estate_id'))

    op.drop_table('owners_meeting')
