"""the 操作日志 records searches by a whole 手机号 or 证件号码 made by someone who sees
them masked (action 'lookup', 按号码查询)

Revision ID: f3b9d2e7a5c1
Revises: e8a4b6c2d1f0
Create Date: 2026-12-03 04:10:00

The log is append-only: its guards are lifted for the constraint change and restored.
A downgrade removes the lookup records, which the older constraint cannot hold.
"""
import importlib.util
from pathlib import Path

from alembic import op

revision = 'f3b9d2e7a5c1'
down_revision = 'e8a4b6c2d1f0'
branch_labels = None
depends_on = None

ACTIONS_BEFORE = ("create", "update", "delete", "transition", "bulk")
ACTIONS_NOW = (*ACTIONS_BEFORE, "lookup")


def _guards():
    """The append-only triggers as the audit-log revision defines them."""
    spec = importlib.util.spec_from_file_location("audit_log_revision",
                                                  Path(__file__).with_name("709e25edac58_audit_log.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _allow(actions):
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_constraint('ck_audit_log_action', type_='check')
        batch.create_check_constraint('ck_audit_log_action', "action IN (" + ", ".join(f"'{a}'" for a in actions) + ")")


def upgrade():
    guards = _guards()
    guards.drop_guards()
    _allow(ACTIONS_NOW)
    guards.create_guards()


def downgrade():
    guards = _guards()
    guards.drop_guards()
    op.execute("DELETE FROM audit_log WHERE action = 'lookup'")
    _allow(ACTIONS_BEFORE)
    guards.create_guards()
