"""业委会选举: candidates of an election matter, approvals on the meeting's ballot, each
candidate's stored count; the committee's terms and members; the settings of elections.
选聘物业: the contract a matter proposes, and the contract record's link to that decision.
地方规定: a district's own value of the settings the law lets localities set

Approvals and candidates' results are append-only, in the database too (the guards of the
repair-fund revision).

Revision ID: a9c3e5f7b2d4
Revises: f4c8a2e6b1d3
Create Date: 2026-12-04 10:17:55
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = 'a9c3e5f7b2d4'
down_revision = 'f4c8a2e6b1d3'
branch_labels = None
depends_on = None

APPEND_ONLY = ("meeting_approval", "candidate_result")


def _guards():
    """The append-only triggers as the repair-fund revision defines them."""
    spec = importlib.util.spec_from_file_location("repair_fund_revision",
                                                  Path(__file__).with_name("a741257224ee_repair_fund.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade():
    op.create_table('committee_term',
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('elected_on', sa.Date(), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('term_ends', sa.Date(), nullable=True),
    sa.Column('filing_due', sa.Date(), nullable=True),
    sa.Column('filing_no', sa.String(length=50), nullable=True),
    sa.Column('filed_on', sa.Date(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('elected', 'filed')", name='ck_committee_term_state'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['meeting_id'], ['owners_meeting.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('committee_term', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_committee_term_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_committee_term_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('candidate',
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('nomination', sa.String(length=20), nullable=False),
    sa.Column('nominators', sa.Text(), nullable=True),
    sa.Column('statement', sa.Text(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("nomination IN ('self', 'joint', 'organiser')", name='ck_candidate_nomination'),
    sa.ForeignKeyConstraint(['matter_id'], ['meeting_matter.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['owner.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('matter_id', 'owner_id', name='uq_candidate_owner'),
    sa.UniqueConstraint('matter_id', 'position', name='uq_candidate_position')
    )
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidate_matter_id'), ['matter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidate_owner_id'), ['owner_id'], unique=False)

    op.create_table('committee_member',
    sa.Column('term_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("role IN ('chair', 'vice_chair', 'member', 'alternate')", name='ck_committee_member_role'),
    sa.ForeignKeyConstraint(['owner_id'], ['owner.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['term_id'], ['committee_term.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('term_id', 'owner_id', name='uq_committee_member_owner')
    )
    with op.batch_alter_table('committee_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_committee_member_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_committee_member_term_id'), ['term_id'], unique=False)
        batch_op.create_index('uq_committee_member_chair', ['term_id'], unique=True,
                              sqlite_where=sa.text("role = 'chair'"), postgresql_where=sa.text("role = 'chair'"))

    op.create_table('candidate_result',
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
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
    sa.CheckConstraint("outcome IN ('elected', 'alternate', 'tied', 'not_elected')", name='ck_candidate_result_outcome'),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['matter_id'], ['meeting_matter.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['meeting_id'], ['owners_meeting.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('candidate_id', name='uq_candidate_result_candidate')
    )
    with op.batch_alter_table('candidate_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidate_result_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidate_result_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidate_result_matter_id'), ['matter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidate_result_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('meeting_approval',
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['meeting_ballot.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ballot_id', 'candidate_id', name='uq_meeting_approval_candidate')
    )
    with op.batch_alter_table('meeting_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_approval_ballot_id'), ['ballot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_approval_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_approval_estate_id'), ['estate_id'], unique=False)

    with op.batch_alter_table('meeting_matter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seats', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('alternates', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('by_election', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(
            'ck_meeting_matter_seats', "seats IS NULL OR (seats > 0 AND matter = 'committee')")
        batch_op.create_check_constraint(
            'ck_meeting_matter_alternates', "alternates IS NULL OR (alternates >= 0 AND seats IS NOT NULL)")
        batch_op.add_column(sa.Column('company_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('contract_starts', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('contract_ends', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('billing_mode', sa.String(length=20), nullable=True))
        batch_op.create_index(batch_op.f('ix_meeting_matter_company_id'), ['company_id'], unique=False)
        batch_op.create_foreign_key('fk_meeting_matter_company', 'property_company', ['company_id'], ['id'],
                                    ondelete='RESTRICT')
        batch_op.create_check_constraint(
            'ck_meeting_matter_contract',
            "company_id IS NULL OR (matter = 'property_manager' AND contract_starts IS NOT NULL "
            "AND contract_ends >= contract_starts AND billing_mode IS NOT NULL)")
        batch_op.create_check_constraint('ck_meeting_matter_billing_mode',
                                         "billing_mode IN ('lump_sum', 'commission')")

    with op.batch_alter_table('service_contract', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_service_contract_decided_by_id'), ['decided_by_id'], unique=False)
        batch_op.create_foreign_key('fk_service_contract_decided_by', 'meeting_matter', ['decided_by_id'], ['id'],
                                    ondelete='RESTRICT')

    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('committee_seats_min', sa.Integer(), server_default='5', nullable=False))
        batch_op.add_column(sa.Column('committee_seats_max', sa.Integer(), server_default='11', nullable=False))
        batch_op.add_column(sa.Column('candidate_no_arrears', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('committee_filing_days', sa.Integer(), server_default='30', nullable=False))
        batch_op.create_check_constraint(
            'ck_settings_committee_seats', "committee_seats_min > 0 AND committee_seats_min <= committee_seats_max")
        batch_op.create_check_constraint('ck_settings_committee_filing', "committee_filing_days BETWEEN 1 AND 30")
    for table in APPEND_ONLY:
        _guards().create_guards(table)

    op.create_table('local_setting',
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('setting', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=20), nullable=False),
    sa.Column('basis', sa.String(length=200), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("setting IN ('assembly_notice_days', 'committee_seats_min', 'committee_seats_max', "
                       "'candidate_no_arrears', 'committee_filing_days')", name='ck_local_setting_setting'),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('district_id', 'setting', name='uq_local_setting')
    )
    with op.batch_alter_table('local_setting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_local_setting_district_id'), ['district_id'], unique=False)



def downgrade():
    with op.batch_alter_table('local_setting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_local_setting_district_id'))
    op.drop_table('local_setting')
    for table in APPEND_ONLY:
        _guards().drop_guards(table)
    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.drop_constraint('ck_settings_committee_filing', type_='check')
        batch_op.drop_constraint('ck_settings_committee_seats', type_='check')
        batch_op.drop_column('committee_filing_days')
        batch_op.drop_column('candidate_no_arrears')
        batch_op.drop_column('committee_seats_max')
        batch_op.drop_column('committee_seats_min')

    with op.batch_alter_table('service_contract', schema=None) as batch_op:
        batch_op.drop_constraint('fk_service_contract_decided_by', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_service_contract_decided_by_id'))
        batch_op.drop_column('decided_by_id')

    with op.batch_alter_table('meeting_matter', schema=None) as batch_op:
        batch_op.drop_constraint('ck_meeting_matter_billing_mode', type_='check')
        batch_op.drop_constraint('ck_meeting_matter_contract', type_='check')
        batch_op.drop_constraint('fk_meeting_matter_company', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_meeting_matter_company_id'))
        batch_op.drop_column('billing_mode')
        batch_op.drop_column('contract_ends')
        batch_op.drop_column('contract_starts')
        batch_op.drop_column('company_id')
        batch_op.drop_constraint('ck_meeting_matter_alternates', type_='check')
        batch_op.drop_constraint('ck_meeting_matter_seats', type_='check')
        batch_op.drop_column('by_election')
        batch_op.drop_column('alternates')
        batch_op.drop_column('seats')

    with op.batch_alter_table('meeting_approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_approval_estate_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_approval_candidate_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_approval_ballot_id'))

    op.drop_table('meeting_approval')
    with op.batch_alter_table('candidate_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidate_result_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_candidate_result_matter_id'))
        batch_op.drop_index(batch_op.f('ix_candidate_result_estate_id'))
        batch_op.drop_index(batch_op.f('ix_candidate_result_candidate_id'))

    op.drop_table('candidate_result')
    with op.batch_alter_table('committee_member', schema=None) as batch_op:
        batch_op.drop_index('uq_committee_member_chair')
        batch_op.drop_index(batch_op.f('ix_committee_member_term_id'))
        batch_op.drop_index(batch_op.f('ix_committee_member_owner_id'))

    op.drop_table('committee_member')
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidate_owner_id'))
        batch_op.drop_index(batch_op.f('ix_candidate_matter_id'))

    op.drop_table('candidate')
    with op.batch_alter_table('committee_term', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_committee_term_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_committee_term_estate_id'))

    op.drop_table('committee_term')
