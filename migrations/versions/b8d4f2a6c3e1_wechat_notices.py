"""WeChat 公众号 notices: owners' bindings, each template's WeChat template id and fields, and
WeChat as a delivery channel; the horizon of 即将执行的收费标准 as a setting; the grants' stamp
(permissions kept across requests until a role's grants change)

Revision ID: b8d4f2a6c3e1
Revises: a7c3e9f1b2d4
Create Date: 2026-12-03 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'b8d4f2a6c3e1'
down_revision = 'a7c3e9f1b2d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'wechat_binding',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('owner_id', sa.Integer(), sa.ForeignKey('owner.id', ondelete='CASCADE'), nullable=False),
        sa.Column('openid', sa.String(64), nullable=False),
        sa.Column('bound_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('owner_id', 'openid', name='uq_wechat_binding'),
    )
    op.create_index('ix_wechat_binding_openid', 'wechat_binding', ['openid'])
    with op.batch_alter_table('message_template') as batch:
        batch.add_column(sa.Column('wechat_template_id', sa.String(64), nullable=True))
        batch.add_column(sa.Column('wechat_fields', sa.String(300), nullable=True))
    with op.batch_alter_table('delivery') as batch:
        batch.drop_constraint('ck_delivery_channel', type_='check')
        batch.create_check_constraint('ck_delivery_channel', "channel IN ('email', 'sms', 'wechat')")
    with op.batch_alter_table('settings') as batch:
        batch.add_column(sa.Column('fee_effective_days', sa.Integer(), server_default='7', nullable=False))
    stamp = op.create_table(
        'grants_stamp',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.CheckConstraint('id = 1', name='ck_grants_stamp_single_row'),
    )
    op.bulk_insert(stamp, [{"id": 1, "version": 0}])


def downgrade():
    op.drop_table('grants_stamp')
    with op.batch_alter_table('settings') as batch:
        batch.drop_column('fee_effective_days')
    op.execute("DELETE FROM delivery WHERE channel = 'wechat'")
    with op.batch_alter_table('delivery') as batch:
        batch.drop_constraint('ck_delivery_channel', type_='check')
        batch.create_check_constraint('ck_delivery_channel', "channel IN ('email', 'sms')")
    with op.batch_alter_table('message_template') as batch:
        batch.drop_column('wechat_fields')
        batch.drop_column('wechat_template_id')
    op.drop_index('ix_wechat_binding_openid', 'wechat_binding')
    op.drop_table('wechat_binding')
