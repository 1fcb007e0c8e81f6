"""indexes for the list order and arrears of big tables (units, bills); no duplicate bill indexes

Revision ID: b7e1a2c3d4f5
Revises: 5b52b2b91610
Create Date: 2026-11-21 08:05:00

At 100,000 units and 1.3 million bills, a list page sorted by 房号 or by 账期
without an index sorts the whole table for 25 rows (docs/benchmarks.md). Three
single-column bill indexes repeat the first column of a composite one and only
slow down bill generation: dropped.
"""
from alembic import op


revision = 'b7e1a2c3d4f5'
down_revision = '5b52b2b91610'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_unit_estate_room_no', 'unit', ['estate_id', 'room_no'])
    op.create_index('ix_unit_room_no', 'unit', ['room_no'])
    op.create_index('ix_bill_period', 'bill', ['period', 'id'])
    # ordered by period then id: a page of one estate's bills is read from the index in order
    op.drop_index('ix_bill_estate_period', table_name='bill')
    op.create_index('ix_bill_estate_period', 'bill', ['estate_id', 'period', 'id'])
    op.create_index('ix_bill_estate_outstanding', 'bill', ['estate_id', 'outstanding'])
    op.drop_index('ix_bill_estate_id', table_name='bill')
    op.drop_index('ix_bill_unit_id', table_name='bill')
    op.drop_index('ix_bill_space_id', table_name='bill')


def downgrade():
    op.drop_index('ix_bill_estate_period', table_name='bill')
    op.create_index('ix_bill_estate_period', 'bill', ['estate_id', 'period'])
    op.create_index('ix_bill_space_id', 'bill', ['space_id'])
    op.create_index('ix_bill_unit_id', 'bill', ['unit_id'])
    op.create_index('ix_bill_estate_id', 'bill', ['estate_id'])
    op.drop_index('ix_bill_estate_outstanding', table_name='bill')
    op.drop_index('ix_bill_period', table_name='bill')
    op.drop_index('ix_unit_room_no', table_name='unit')
    op.drop_index('ix_unit_estate_room_no', table_name='unit')
