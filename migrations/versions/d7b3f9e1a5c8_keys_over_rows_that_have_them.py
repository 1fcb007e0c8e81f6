"""Unique keys over the rows that have them: partial unique indexes instead of constraints with
an always-empty column

A unique constraint lets two rows repeat when one of its columns is NULL (NULL equals nothing):
- 用户管辖范围 (user, 小区, 社区, 街道): each scope names exactly one of the three, so the key
  never matched and the same scope could be given twice. Now one key per level.
- 部门 (企业, 小区, 名称): a 总部 department has no 小区, so two 总部 departments could share a
  name. Now one key for project departments and one for 总部 ones.
And such a constraint writes an index entry for every row with the empty column:
- 账单: every house's bill in the 车位 key and every 车位's bill in the house key, one index
  more per bill of a bill run. Now each key holds only its own bills.
- 维修资金流水: every line in the key of corrections (and in a second index of the same
  column). Now only the corrections, in one index.

Repeated scopes are the same grant twice: the later copies are removed. Repeated 总部
department names cannot be merged (staff belong to each), so the later ones are renamed
「名称（重名 id）」 for a person to settle.

Revision ID: d7b3f9e1a5c8
Revises: a6d2c8e4f0b7
Create Date: 2026-12-06 06:10:00
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = 'd7b3f9e1a5c8'
down_revision = 'a6d2c8e4f0b7'
branch_labels = None
depends_on = None

LEVELS = ("estate", "community", "street")
#: table -> the unique constraint it had -> its columns
CONSTRAINTS = {
    "user_scope": {"uq_user_scope": ["user_id", "estate_id", "community_id", "street_id"]},
    "department": {"uq_department_name": ["company_id", "estate_id", "name"]},
    "bill": {"uq_bill_unit_item_period": ["unit_id", "item_id", "period"],
             "uq_bill_space_item_period": ["space_id", "item_id", "period"]},
    "fund_entry": {"uq_fund_entry_reverses": ["reverses_id"]},
}
#: the partial unique indexes: (table, name, columns, condition)
INDEXES = (
    *(("user_scope", f"uq_user_scope_{level}", ["user_id", f"{level}_id"], f"{level}_id IS NOT NULL")
      for level in LEVELS),
    ("department", "uq_department_name", ["company_id", "estate_id", "name"], "estate_id IS NOT NULL"),
    ("department", "uq_department_head_office_name", ["company_id", "name"], "estate_id IS NULL"),
    ("bill", "uq_bill_unit_item_period", ["unit_id", "item_id", "period"], "unit_id IS NOT NULL"),
    ("bill", "uq_bill_space_item_period", ["space_id", "item_id", "period"], "space_id IS NOT NULL"),
    ("fund_entry", "uq_fund_entry_reverses", ["reverses_id"], "reverses_id IS NOT NULL"),
)


def _rebuild(table: str, change) -> None:
    """SQLite copies a table to drop a constraint; the bill-keys revision's helper keeps the
    copy's triggers (the bill's month totals, the fund ledger's totals, the scope stamp)."""
    spec = importlib.util.spec_from_file_location(
        "bill_keys_revision", Path(__file__).with_name("e4c8a2f6b1d3_bill_keys_of_estate_and_standard_line.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.rebuild_keeping_triggers(table, change)


def upgrade():
    for level in LEVELS:
        op.execute(f"DELETE FROM user_scope WHERE {level}_id IS NOT NULL AND id NOT IN ("
                   f"SELECT min(id) FROM user_scope WHERE {level}_id IS NOT NULL GROUP BY user_id, {level}_id)")
    op.execute("UPDATE department SET name = substr(name, 1, 36) || '（重名 ' || CAST(id AS VARCHAR(12)) || '）'"
               " WHERE estate_id IS NULL AND id NOT IN ("
               "SELECT min(id) FROM department WHERE estate_id IS NULL GROUP BY company_id, name)")
    for table, constraints in CONSTRAINTS.items():
        def change(batch, sqlite, constraints=constraints, table=table):
            for name in constraints:
                batch.drop_constraint(name, type_="unique")
            if table == "fund_entry":
                batch.drop_index("ix_fund_entry_reverses_id")

        _rebuild(table, change)
    for table, name, columns, condition in INDEXES:
        op.create_index(name, table, columns, unique=True, sqlite_where=sa.text(condition),
                        postgresql_where=sa.text(condition))


def downgrade():
    for table, name, _columns, _condition in INDEXES:
        op.drop_index(name, table_name=table)
    for table, constraints in CONSTRAINTS.items():
        def change(batch, sqlite, constraints=constraints, table=table):
            for name, columns in constraints.items():
                batch.create_unique_constraint(name, columns)
            if table == "fund_entry":
                batch.create_index("ix_fund_entry_reverses_id", ["reverses_id"])

        _rebuild(table, change)
