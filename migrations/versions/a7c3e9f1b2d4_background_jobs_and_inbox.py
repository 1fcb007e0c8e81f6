"""background jobs (exports, bill runs, daily reminders) with their outcome, the inbox (站内消息),
the export threshold, download retention, arrears notice and reminder hour settings, each estate's monthly bill-run day

Revision ID: a7c3e9f1b2d4
Revises: f3b9d2e7a5c1
Create Date: 2026-12-03 08:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'a7c3e9f1b2d4'
down_revision = 'f3b9d2e7a5c1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('state', sa.String(10), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('ab_user.id', ondelete='CASCADE'), nullable=True),
        sa.Column('estate_id', sa.Integer(), sa.ForeignKey('estate.id', ondelete='CASCADE'), nullable=True),
        sa.Column('title', sa.String(200), nullable=False),
        sa.Column('params', sa.Text(), nullable=False),
        sa.Column('unique_key', sa.String(100), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('message', sa.String(500), nullable=True),
        sa.Column('rows', sa.Integer(), nullable=True),
        sa.Column('file_name', sa.String(200), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('enqueued_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('export', 'bill_run', 'reminders')", name='ck_job_kind'),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed', 'expired')", name='ck_job_state'),
        sa.UniqueConstraint('unique_key', name='uq_job_unique_key'),
    )
    op.create_index('ix_job_state', 'job', ['state'])
    op.create_index('ix_job_user_id', 'job', ['user_id'])
    op.create_index('ix_job_estate_id', 'job', ['estate_id'])
    op.create_table(
        'notification',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('ab_user.id', ondelete='CASCADE'), nullable=False),
        sa.Column('title', sa.String(200), nullable=False),
        sa.Column('body', sa.String(1000), nullable=False),
        sa.Column('link', sa.String(300), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_notification_user_id', 'notification', ['user_id'])
    with op.batch_alter_table('settings') as batch:
        batch.add_column(sa.Column('export_background_rows', sa.Integer(), server_default='5000', nullable=False))
        batch.add_column(sa.Column('download_retention_days', sa.Integer(), server_default='7', nullable=False))
        batch.add_column(sa.Column('arrears_notice_days', sa.Integer(), server_default='30', nullable=False))
        batch.add_column(sa.Column('reminder_hour', sa.Integer(), server_default='8', nullable=False))
        batch.create_check_constraint('ck_settings_reminder_hour', 'reminder_hour BETWEEN 0 AND 23')
    with op.batch_alter_table('estate') as batch:
        batch.add_column(sa.Column('bill_day', sa.Integer(), nullable=True))
        batch.create_check_constraint('ck_estate_bill_day', 'bill_day BETWEEN 1 AND 28')


def downgrade():
    with op.batch_alter_table('estate') as batch:
        batch.drop_constraint('ck_estate_bill_day', type_='check')
        batch.drop_column('bill_day')
    with op.batch_alter_table('settings') as batch:
        batch.drop_constraint('ck_settings_reminder_hour', type_='check')
        batch.drop_column('reminder_hour')
        batch.drop_column('arrears_notice_days')
        batch.drop_column('download_retention_days')
        batch.drop_column('export_background_rows')
    op.drop_table('notification')
    op.drop_table('job')
