"""background jobs (exports, bill runs, daily reminders) with their outcome, the inbox (站内消息),
the outbox (e-mail and SMS deliveries, editable message templates with their defaults),
the export threshold, download retention, arrears notice, reminder hour, quiet hours, daily message
limit and message retention settings, each estate's monthly bill-run day

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

# a migration keeps its own copy: the application's defaults may change after it has run
DEFAULT_TEMPLATES = [
    {"key": "fee_standard_published", "subject": "{{ estate }}新收费标准公示",
     "body": "{{ estate }}的收费标准「{{ standard }}」已公示，自{{ effective_from }}起执行，详见小区公示栏。",
     "sms_template_code": None, "variables": "estate 小区、standard 收费标准、effective_from 执行日期"},
    {"key": "vote_opened", "subject": "{{ estate }}业主表决开始",
     "body": "{{ estate }}维修资金使用事项「{{ title }}」业主表决已开始，截止{{ vote_until }}，"
             "请凭表决票上的电子投票码在小区公示栏投票。",
     "sms_template_code": None, "variables": "estate 小区、title 事项、vote_until 截止日期"},
    {"key": "daily_reminder", "subject": "今日待办提醒（{{ count }} 项）", "body": "{{ items }}",
     "sms_template_code": None, "variables": "count 事项数、items 事项清单"},
    {"key": "arrears_notice", "subject": "{{ estate }}物业费欠费提醒",
     "body": "您在{{ estate }}的房屋{{ units }}尚有物业服务费用 {{ amount }} 元超期未缴，请尽快缴纳；如已缴纳请忽略。",
     "sms_template_code": None, "variables": "estate 小区、units 房屋、amount 欠费金额（元）"},
]


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
        batch.add_column(sa.Column('quiet_hours_start', sa.Integer(), server_default='22', nullable=False))
        batch.add_column(sa.Column('quiet_hours_end', sa.Integer(), server_default='8', nullable=False))
        batch.add_column(sa.Column('messages_per_day', sa.Integer(), server_default='5', nullable=False))
        batch.add_column(sa.Column('message_retention_days', sa.Integer(), server_default='180', nullable=False))
        batch.create_check_constraint('ck_settings_reminder_hour', 'reminder_hour BETWEEN 0 AND 23')
        batch.create_check_constraint('ck_settings_quiet_hours',
                                      'quiet_hours_start BETWEEN 0 AND 23 AND quiet_hours_end BETWEEN 0 AND 23')
    templates = op.create_table(
        'message_template',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('key', sa.String(40), nullable=False),
        sa.Column('subject', sa.String(100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('sms_template_code', sa.String(50), nullable=True),
        sa.Column('variables', sa.String(300), nullable=False),
        sa.UniqueConstraint('key', name='uq_message_template_key'),
    )
    # the wording a new installation starts with; the administrator edits it (系统管理 → 消息模板)
    op.bulk_insert(templates, DEFAULT_TEMPLATES)
    op.create_table(
        'delivery',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('channel', sa.String(10), nullable=False),
        sa.Column('address', sa.String(200), nullable=False),
        sa.Column('template_key', sa.String(40), nullable=False),
        sa.Column('subject', sa.String(200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('params', sa.Text(), nullable=False),
        sa.Column('estate_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(500), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name='ck_delivery_channel'),
        sa.CheckConstraint("state IN ('pending', 'sent', 'dead')", name='ck_delivery_state'),
    )
    op.create_index('ix_delivery_due', 'delivery', ['state', 'next_attempt_at'])
    op.create_index('ix_delivery_address_sent', 'delivery', ['address', 'sent_at'])
    with op.batch_alter_table('estate') as batch:
        batch.add_column(sa.Column('bill_day', sa.Integer(), nullable=True))
        batch.create_check_constraint('ck_estate_bill_day', 'bill_day BETWEEN 1 AND 28')


def downgrade():
    with op.batch_alter_table('estate') as batch:
        batch.drop_constraint('ck_estate_bill_day', type_='check')
        batch.drop_column('bill_day')
    with op.batch_alter_table('settings') as batch:
        batch.drop_constraint('ck_settings_quiet_hours', type_='check')
        batch.drop_constraint('ck_settings_reminder_hour', type_='check')
        batch.drop_column('message_retention_days')
        batch.drop_column('messages_per_day')
        batch.drop_column('quiet_hours_end')
        batch.drop_column('quiet_hours_start')
        batch.drop_column('reminder_hour')
        batch.drop_column('arrears_notice_days')
        batch.drop_column('download_retention_days')
        batch.drop_column('export_background_rows')
    op.drop_table('delivery')
    op.drop_table('message_template')
    op.drop_table('notification')
    op.drop_table('job')
