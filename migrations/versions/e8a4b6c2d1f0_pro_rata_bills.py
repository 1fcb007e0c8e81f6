"""bills priced pro rata by calendar days when a fee standard starts within the month:
the 计费说明 printed on such a bill

Revision ID: e8a4b6c2d1f0
Revises: d5e1f7a3c9b2
Create Date: 2026-12-02 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'e8a4b6c2d1f0'
down_revision = 'd5e1f7a3c9b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bill') as batch:
        batch.add_column(sa.Column('proration', sa.String(300), nullable=True))


def downgrade():
    with op.batch_alter_table('bill') as batch:
        batch.drop_column('proration')
