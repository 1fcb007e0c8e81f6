"""natural sort keys for 楼栋编号 and 房号; units read in 楼栋 → 单元 → 楼层 → 房号 order;
the horizon of 即将截止的业主表决 as a setting; saved filters; 港澳台居民居住证 and
外国人永久居留身份证 as owners' ID types

Revision ID: c4d2e8f1a9b3
Revises: b7e1a2c3d4f5
Create Date: 2026-12-02 17:00:00

Plain text order puts 1-1001 before 1-101 and 10号楼 before 2号楼. Each of these
columns gets a stored key with every run of digits padded (models.base.natural_key),
filled here for the rows that exist, and indexes in the order lists read them.
"""
import sqlalchemy as sa
from alembic import op

from models.base import natural_key

revision = 'c4d2e8f1a9b3'
down_revision = 'b7e1a2c3d4f5'
branch_labels = None
depends_on = None

#: the owners' ID types before and after this revision (as written here, not imported: a
#: migration keeps meaning what it meant when it was written)
ID_TYPES_BEFORE = ("resident_id", "hk_macao_permit", "taiwan_permit", "passport", "uscc")
ID_TYPES_NOW = ("resident_id", "residence_permit", "foreign_permanent", "hk_macao_permit", "taiwan_permit",
                "passport", "uscc")

#: (table, source column, key column)
KEYS = (("building", "code", "code_key"), ("unit", "room_no", "room_key"))


def upgrade():
    connection = op.get_bind()
    for table, source, key in KEYS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(key, sa.String(80), nullable=True))
        rows = connection.execute(sa.text(f"SELECT id, {source} FROM {table}")).all()
        if rows:
            connection.execute(sa.text(f"UPDATE {table} SET {key} = :key WHERE id = :id"),
                               [{"id": row[0], "key": natural_key(row[1])} for row in rows])
        with op.batch_alter_table(table) as batch:
            batch.alter_column(key, existing_type=sa.String(80), nullable=False)
    op.create_index('ix_building_estate_code_key', 'building', ['estate_id', 'code_key'])
    op.drop_index('ix_unit_estate_room_no', table_name='unit')
    op.create_index('ix_unit_estate_room_key', 'unit', ['estate_id', 'room_key'])
    op.create_index('ix_unit_reading_order', 'unit', ['building_id', 'entrance', 'floor', 'room_key'])
    with op.batch_alter_table('settings') as batch:
        batch.add_column(sa.Column('vote_closing_days', sa.Integer(), server_default='14', nullable=False))
    op.create_table(
        'saved_filter',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('ab_user.id', ondelete='CASCADE'), nullable=False),
        sa.Column('view_name', sa.String(64), nullable=False),
        sa.Column('name', sa.String(40), nullable=False),
        sa.Column('query', sa.String(1000), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('user_id', 'view_name', 'name', name='uq_saved_filter_name'),
    )
    op.create_index('ix_saved_filter_user_id', 'saved_filter', ['user_id'])
    with op.batch_alter_table('owner') as batch:
        batch.drop_constraint('ck_owner_id_type', type_='check')
        batch.create_check_constraint('ck_owner_id_type', "id_type IN (" + ", ".join(f"'{c}'" for c in ID_TYPES_NOW) + ")")


def downgrade():
    with op.batch_alter_table('owner') as batch:
        batch.drop_constraint('ck_owner_id_type', type_='check')
        batch.create_check_constraint('ck_owner_id_type', "id_type IN (" + ", ".join(f"'{c}'" for c in ID_TYPES_BEFORE) + ")")
    op.drop_index('ix_saved_filter_user_id', table_name='saved_filter')
    op.drop_table('saved_filter')
    with op.batch_alter_table('settings') as batch:
        batch.drop_column('vote_closing_days')
    op.drop_index('ix_unit_reading_order', table_name='unit')
    op.drop_index('ix_unit_estate_room_key', table_name='unit')
    op.create_index('ix_unit_estate_room_no', 'unit', ['estate_id', 'room_no'])
    op.drop_index('ix_building_estate_code_key', table_name='building')
    for table, _, key in KEYS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column(key)
