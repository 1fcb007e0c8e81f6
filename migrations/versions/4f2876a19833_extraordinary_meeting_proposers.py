"""临时会议 on the owners' proposal: the owners who signed it, and the share of area and persons
they must hold (a setting a district may lower, 业主大会和业主委员会指导规则第二十一条).

Revision ID: 4f2876a19833
Revises: 0fd715044a20
Create Date: 2026-12-04 15:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '4f2876a19833'
down_revision = '0fd715044a20'
branch_labels = None
depends_on = None


LOCAL_BEFORE = ("'assembly_notice_days', 'committee_seats_min', 'committee_seats_max', 'candidate_no_arrears', "
                "'committee_filing_days', 'first_assembly_delivered_percent', 'preparation_form_days', "
                "'preparation_owner_percent', 'preparation_announce_days', 'preparation_days'")
LOCAL_NOW = LOCAL_BEFORE + ", 'extraordinary_proposal_percent'"


def _local_settings(codes: str) -> None:
    with op.batch_alter_table('local_setting', schema=None) as batch_op:
        batch_op.drop_constraint('ck_local_setting_setting', type_='check')
        batch_op.create_check_constraint('ck_local_setting_setting', f"setting IN ({codes})")


def upgrade():
    op.create_table('meeting_proposer',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['owners_meeting.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['owner.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'owner_id', name='uq_meeting_proposer_owner')
    )
    with op.batch_alter_table('meeting_proposer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_proposer_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_proposer_owner_id'), ['owner_id'], unique=False)

    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extraordinary_proposal_percent', sa.Integer(), server_default='20', nullable=False))
        batch_op.create_check_constraint('ck_settings_proposal_percent', "extraordinary_proposal_percent BETWEEN 1 AND 20")
    _local_settings(LOCAL_NOW)



def downgrade():
    _local_settings(LOCAL_BEFORE)
    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.drop_constraint('ck_settings_proposal_percent', type_='check')
        batch_op.drop_column('extraordinary_proposal_percent')

    with op.batch_alter_table('meeting_proposer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_proposer_owner_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_proposer_meeting_id'))

    op.drop_table('meeting_proposer')
