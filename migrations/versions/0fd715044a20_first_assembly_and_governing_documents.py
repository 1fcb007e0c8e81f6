"""首次业主大会筹备: the 筹备组 and its members, who convenes a meeting, the settings of the
preparation's deadlines and shares. 管理规约/议事规则: versions of the estate's documents, the
draft a matter puts to the owners, whether silence is consent (and, on a meeting, what was in force
when its voting opened).

Revision ID: 0fd715044a20
Revises: a9c3e5f7b2d4
Create Date: 2026-12-04 13:43:17
"""
from alembic import op
import sqlalchemy as sa


revision = '0fd715044a20'
down_revision = 'a9c3e5f7b2d4'
branch_labels = None
depends_on = None


LOCAL_BEFORE = ("'assembly_notice_days', 'committee_seats_min', 'committee_seats_max', 'candidate_no_arrears', "
                "'committee_filing_days'")
LOCAL_NOW = LOCAL_BEFORE + (", 'first_assembly_delivered_percent', 'preparation_form_days', "
                            "'preparation_owner_percent', 'preparation_announce_days', 'preparation_days'")


def _local_settings(codes: str) -> None:
    with op.batch_alter_table('local_setting', schema=None) as batch_op:
        batch_op.drop_constraint('ck_local_setting_setting', type_='check')
        batch_op.create_check_constraint('ck_local_setting_setting', f"setting IN ({codes})")


def upgrade():
    op.create_table('governing_document',
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('file', sa.String(length=255), nullable=True),
    sa.Column('silent_consent', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('adopted_by_id', sa.Integer(), nullable=True),
    sa.Column('adopted_on', sa.Date(), nullable=True),
    sa.Column('superseded_on', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('covenant', 'rules_of_procedure')", name='ck_governing_document_kind'),
    sa.CheckConstraint("state IN ('draft', 'in_force', 'superseded')", name='ck_governing_document_state'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('estate_id', 'kind', 'version', name='uq_governing_document_version')
    )
    with op.batch_alter_table('governing_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_governing_document_adopted_by_id'), ['adopted_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_governing_document_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index('uq_governing_document_in_force', ['estate_id', 'kind'], unique=True, sqlite_where=sa.text("state = 'in_force'"), postgresql_where=sa.text("state = 'in_force'"))

    op.create_table('preparatory_group',
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('applied_on', sa.Date(), nullable=False),
    sa.Column('formed_on', sa.Date(), nullable=True),
    sa.Column('announced_on', sa.Date(), nullable=True),
    sa.Column('roll_published_on', sa.Date(), nullable=True),
    sa.Column('roll_persons', sa.Integer(), nullable=True),
    sa.Column('roll_units', sa.Integer(), nullable=True),
    sa.Column('roll_area', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('dissolved_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('applied', 'formed', 'announced', 'roll_published', 'dissolved')", name='ck_preparatory_group_state'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('preparatory_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preparatory_group_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index('uq_preparatory_group_at_work', ['estate_id'], unique=True,
                              sqlite_where=sa.text("state <> 'dissolved'"), postgresql_where=sa.text("state <> 'dissolved'"))

    op.create_table('preparatory_member',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('is_leader', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint("side IN ('owner', 'street', 'residents', 'developer')", name='ck_preparatory_member_side'),
    sa.ForeignKeyConstraint(['group_id'], ['preparatory_group.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['owner.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('group_id', 'owner_id', name='uq_preparatory_member_owner')
    )
    with op.batch_alter_table('preparatory_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preparatory_member_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_preparatory_member_owner_id'), ['owner_id'], unique=False)

    with op.batch_alter_table('meeting_matter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_meeting_matter_document_id'), ['document_id'], unique=False)
        batch_op.create_foreign_key('fk_meeting_matter_document', 'governing_document', ['document_id'], ['id'],
                                    ondelete='RESTRICT')
        batch_op.create_check_constraint(
            'ck_meeting_matter_document', "document_id IS NULL OR matter IN ('covenant', 'rules_of_procedure')")

    with op.batch_alter_table('governing_document', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_governing_document_adopted_by', 'meeting_matter', ['adopted_by_id'], ['id'],
                                    ondelete='RESTRICT')

    with op.batch_alter_table('owners_meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('convener', sa.String(length=20), server_default='committee', nullable=False))
        batch_op.create_check_constraint('ck_owners_meeting_convener', "convener IN ('committee', 'preparatory_group')")
        batch_op.add_column(sa.Column('silent_consent', sa.Boolean(), nullable=True))

    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_assembly_delivered_percent', sa.Integer(), server_default='50', nullable=False))
        batch_op.add_column(sa.Column('preparation_form_days', sa.Integer(), server_default='60', nullable=False))
        batch_op.add_column(sa.Column('preparation_owner_percent', sa.Integer(), server_default='50', nullable=False))
        batch_op.add_column(sa.Column('preparation_announce_days', sa.Integer(), server_default='7', nullable=False))
        batch_op.add_column(sa.Column('preparation_days', sa.Integer(), server_default='90', nullable=False))
        batch_op.create_check_constraint(
            'ck_settings_first_assembly',
            "first_assembly_delivered_percent BETWEEN 1 AND 100 AND preparation_owner_percent BETWEEN 50 AND 100 "
            "AND preparation_form_days BETWEEN 1 AND 60 AND preparation_announce_days BETWEEN 1 AND 7 "
            "AND preparation_days BETWEEN 1 AND 90")
    _local_settings(LOCAL_NOW)



def downgrade():
    _local_settings(LOCAL_BEFORE)
    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.drop_constraint('ck_settings_first_assembly', type_='check')
        batch_op.drop_column('preparation_days')
        batch_op.drop_column('preparation_announce_days')
        batch_op.drop_column('preparation_owner_percent')
        batch_op.drop_column('preparation_form_days')
        batch_op.drop_column('first_assembly_delivered_percent')

    with op.batch_alter_table('owners_meeting', schema=None) as batch_op:
        batch_op.drop_constraint('ck_owners_meeting_convener', type_='check')
        batch_op.drop_column('silent_consent')
        batch_op.drop_column('convener')

    with op.batch_alter_table('governing_document', schema=None) as batch_op:
        batch_op.drop_constraint('fk_governing_document_adopted_by', type_='foreignkey')

    with op.batch_alter_table('meeting_matter', schema=None) as batch_op:
        batch_op.drop_constraint('ck_meeting_matter_document', type_='check')
        batch_op.drop_constraint('fk_meeting_matter_document', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_meeting_matter_document_id'))
        batch_op.drop_column('document_id')

    with op.batch_alter_table('preparatory_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_preparatory_member_owner_id'))
        batch_op.drop_index(batch_op.f('ix_preparatory_member_group_id'))

    op.drop_table('preparatory_member')
    with op.batch_alter_table('preparatory_group', schema=None) as batch_op:
        batch_op.drop_index('uq_preparatory_group_at_work')
        batch_op.drop_index(batch_op.f('ix_preparatory_group_estate_id'))

    op.drop_table('preparatory_group')
    with op.batch_alter_table('governing_document', schema=None) as batch_op:
        batch_op.drop_index('uq_governing_document_in_force', sqlite_where=sa.text("state = 'in_force'"), postgresql_where=sa.text("state = 'in_force'"))
        batch_op.drop_index(batch_op.f('ix_governing_document_estate_id'))
        batch_op.drop_index(batch_op.f('ix_governing_document_adopted_by_id'))

    op.drop_table('governing_document')
