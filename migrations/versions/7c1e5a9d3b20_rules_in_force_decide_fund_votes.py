"""The repair-fund vote takes silent consent from the rules in force (fixed when it opens), as
meetings do; local alternatives for founding an owners' assembly; the fund settings localities
vary become local; a meeting's choices and approvals are held to their ballot's meeting by keys;
drafts of the 管理规约 / 议事规则 put out for comment, with the owners' comments and the answers; a
repair-fund application on a meeting's agenda.

Revision ID: 7c1e5a9d3b20
Revises: 4f2876a19833
Create Date: 2026-12-04 21:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '7c1e5a9d3b20'
down_revision = '4f2876a19833'
branch_labels = None
depends_on = None


LOCAL_BEFORE = ("'assembly_notice_days', 'committee_seats_min', 'committee_seats_max', 'candidate_no_arrears', "
                "'committee_filing_days', 'first_assembly_delivered_percent', 'preparation_form_days', "
                "'preparation_owner_percent', 'preparation_announce_days', 'preparation_days', "
                "'extraordinary_proposal_percent'")
LOCAL_NOW = (LOCAL_BEFORE + ", 'first_assembly_units_percent', 'first_assembly_years', 'fund_deposit_rate', "
             "'fund_publicity_days', 'fund_vote_days', 'fund_audit_threshold', 'fund_overrun_percent', "
             "'fund_disclosure_months'")
FIRST_ASSEMBLY_BEFORE = (
    "first_assembly_delivered_percent BETWEEN 1 AND 100 AND preparation_owner_percent BETWEEN 50 AND 100 "
    "AND preparation_form_days BETWEEN 1 AND 60 AND preparation_announce_days BETWEEN 1 AND 7 "
    "AND preparation_days BETWEEN 1 AND 90")
FIRST_ASSEMBLY_NOW = (FIRST_ASSEMBLY_BEFORE + " AND first_assembly_units_percent BETWEEN 0 AND 100 "
                      "AND first_assembly_years BETWEEN 0 AND 10")


def _local_settings(codes: str) -> None:
    with op.batch_alter_table('local_setting', schema=None) as batch_op:
        batch_op.drop_constraint('ck_local_setting_setting', type_='check')
        batch_op.create_check_constraint('ck_local_setting_setting', f"setting IN ({codes})")


def upgrade():
    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_assembly_units_percent', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('first_assembly_years', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint('ck_settings_first_assembly', type_='check')
        batch_op.create_check_constraint('ck_settings_first_assembly', FIRST_ASSEMBLY_NOW)
    _local_settings(LOCAL_NOW)

    # a vote already open keeps the answer its account's switch gave it
    with op.batch_alter_table('fund_application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('silent_consent', sa.Boolean(), nullable=True))
    op.execute("UPDATE fund_application SET silent_consent = (SELECT fund_account.silent_consent FROM fund_account "
               "WHERE fund_account.estate_id = fund_application.estate_id) WHERE rule_quorum IS NOT NULL")
    with op.batch_alter_table('fund_account', schema=None) as batch_op:
        batch_op.drop_column('silent_consent')

    with op.batch_alter_table('meeting_ballot', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_meeting_ballot_of_meeting', ['id', 'meeting_id'])
    with op.batch_alter_table('meeting_matter', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_meeting_matter_of_meeting', ['id', 'meeting_id'])
        batch_op.add_column(sa.Column('fund_application_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_meeting_matter_fund_application_id'), ['fund_application_id'], unique=False)
        batch_op.create_foreign_key('fk_meeting_matter_fund_application',
                                    'fund_application', ['fund_application_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_check_constraint('ck_meeting_matter_fund_application',
                                         "fund_application_id IS NULL OR matter IN ('use', 'rebuild')")
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_candidate_of_matter', ['id', 'matter_id'])

    with op.batch_alter_table('meeting_choice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_id', sa.Integer(), nullable=True))
    op.execute("UPDATE meeting_choice SET meeting_id = (SELECT meeting_ballot.meeting_id FROM meeting_ballot "
               "WHERE meeting_ballot.id = meeting_choice.ballot_id)")
    with op.batch_alter_table('meeting_choice', schema=None) as batch_op:
        batch_op.alter_column('meeting_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_meeting_choice_ballot_meeting', 'meeting_ballot',
                                    ['ballot_id', 'meeting_id'], ['id', 'meeting_id'])
        batch_op.create_foreign_key('fk_meeting_choice_matter_meeting', 'meeting_matter',
                                    ['matter_id', 'meeting_id'], ['id', 'meeting_id'])

    with op.batch_alter_table('meeting_approval', schema=None) as batch_op:
        batch_op.add_column(sa.Column('matter_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('meeting_id', sa.Integer(), nullable=True))
    op.execute("UPDATE meeting_approval SET matter_id = (SELECT candidate.matter_id FROM candidate "
               "WHERE candidate.id = meeting_approval.candidate_id), meeting_id = (SELECT meeting_ballot.meeting_id "
               "FROM meeting_ballot WHERE meeting_ballot.id = meeting_approval.ballot_id)")
    with op.batch_alter_table('meeting_approval', schema=None) as batch_op:
        batch_op.alter_column('matter_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('meeting_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_meeting_approval_ballot_meeting', 'meeting_ballot',
                                    ['ballot_id', 'meeting_id'], ['id', 'meeting_id'])
        batch_op.create_foreign_key('fk_meeting_approval_candidate_matter', 'candidate',
                                    ['candidate_id', 'matter_id'], ['id', 'matter_id'])
        batch_op.create_foreign_key('fk_meeting_approval_matter_meeting', 'meeting_matter',
                                    ['matter_id', 'meeting_id'], ['id', 'meeting_id'])

    with op.batch_alter_table('governing_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment_until', sa.Date(), nullable=True))
    op.create_table('draft_comment',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('replied_on', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("channel IN ('online', 'paper')", name='ck_draft_comment_channel'),
    sa.ForeignKeyConstraint(['document_id'], ['governing_document.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_id'], ['owner.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('draft_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_comment_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_draft_comment_owner_id'), ['owner_id'], unique=False)


def downgrade():
    with op.batch_alter_table('draft_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_comment_owner_id'))
        batch_op.drop_index(batch_op.f('ix_draft_comment_document_id'))
    op.drop_table('draft_comment')
    with op.batch_alter_table('governing_document', schema=None) as batch_op:
        batch_op.drop_column('comment_until')

    with op.batch_alter_table('meeting_approval', schema=None) as batch_op:
        batch_op.drop_constraint('fk_meeting_approval_matter_meeting', type_='foreignkey')
        batch_op.drop_constraint('fk_meeting_approval_candidate_matter', type_='foreignkey')
        batch_op.drop_constraint('fk_meeting_approval_ballot_meeting', type_='foreignkey')
        batch_op.drop_column('meeting_id')
        batch_op.drop_column('matter_id')
    with op.batch_alter_table('meeting_choice', schema=None) as batch_op:
        batch_op.drop_constraint('fk_meeting_choice_matter_meeting', type_='foreignkey')
        batch_op.drop_constraint('fk_meeting_choice_ballot_meeting', type_='foreignkey')
        batch_op.drop_column('meeting_id')
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.drop_constraint('uq_candidate_of_matter', type_='unique')
    with op.batch_alter_table('meeting_matter', schema=None) as batch_op:
        batch_op.drop_constraint('ck_meeting_matter_fund_application', type_='check')
        batch_op.drop_constraint('fk_meeting_matter_fund_application', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_meeting_matter_fund_application_id'))
        batch_op.drop_column('fund_application_id')
        batch_op.drop_constraint('uq_meeting_matter_of_meeting', type_='unique')
    with op.batch_alter_table('meeting_ballot', schema=None) as batch_op:
        batch_op.drop_constraint('uq_meeting_ballot_of_meeting', type_='unique')

    with op.batch_alter_table('fund_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('silent_consent', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('fund_application', schema=None) as batch_op:
        batch_op.drop_column('silent_consent')

    op.execute("DELETE FROM local_setting WHERE setting IN ('first_assembly_units_percent', 'first_assembly_years', "
               "'fund_deposit_rate', 'fund_publicity_days', 'fund_vote_days', 'fund_audit_threshold', "
               "'fund_overrun_percent', 'fund_disclosure_months')")
    _local_settings(LOCAL_BEFORE)
    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.drop_constraint('ck_settings_first_assembly', type_='check')
        batch_op.create_check_constraint('ck_settings_first_assembly', FIRST_ASSEMBLY_BEFORE)
        batch_op.drop_column('first_assembly_years')
        batch_op.drop_column('first_assembly_units_percent')
