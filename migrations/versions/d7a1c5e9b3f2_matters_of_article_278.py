"""Every matter owners decide together (民法典第二百七十八条第一款), each with its own threshold

The vote rules knew two matters: the use of the repair fund, and "major" (筹集维修资金 and
改建重建 in one). Now each item of the article is its own matter. A rule a jurisdiction kept for
"major" is kept for both 筹集维修资金 and 改建重建; a repair-fund application put to the owners as
"major" was a use that rebuilds, so it becomes 改建、重建.

Revision ID: d7a1c5e9b3f2
Revises: c3f7a9d1e5b8
Create Date: 2026-12-04 07:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd7a1c5e9b3f2'
down_revision = 'c3f7a9d1e5b8'
branch_labels = None
depends_on = None

MATTERS = ("rules_of_procedure", "covenant", "committee", "property_manager", "use", "raise_fund", "rebuild",
           "common_parts", "other")
FUND_MATTERS = ("use", "rebuild")
MAJORITY = "民法典第二百七十八条第二款：经参与表决专有部分面积过半数的业主且参与表决人数过半数的业主同意"
THREE_QUARTERS = "民法典第二百七十八条第二款：经参与表决专有部分面积四分之三以上的业主且参与表决人数四分之三以上的业主同意"
#: the law's own rule (the row without 区) for each matter that had none
NEW_DEFAULTS = (("rules_of_procedure", MAJORITY), ("covenant", MAJORITY), ("committee", MAJORITY),
                ("property_manager", MAJORITY), ("common_parts", THREE_QUARTERS), ("other", MAJORITY))


def _in(codes):
    return "matter IN ({})".format(", ".join(f"'{code}'" for code in codes))


def upgrade():
    with op.batch_alter_table('vote_rule') as batch:
        batch.drop_constraint('ck_vote_rule_matter', type_='check')
    op.execute("INSERT INTO vote_rule (district_id, matter, quorum, approval, strict, base, basis)"
               " SELECT district_id, 'raise_fund', quorum, approval, strict, base, basis FROM vote_rule"
               " WHERE matter = 'major'")
    op.execute("UPDATE vote_rule SET matter = 'rebuild' WHERE matter = 'major'")
    with op.batch_alter_table('vote_rule') as batch:
        batch.create_check_constraint('ck_vote_rule_matter', _in(MATTERS))
    rules = sa.table("vote_rule", sa.column("matter"), sa.column("quorum"), sa.column("approval"),
                     sa.column("strict", sa.Boolean), sa.column("base"), sa.column("basis"))
    op.bulk_insert(rules, [
        {"matter": matter, "quorum": "2/3", "approval": "3/4" if basis == THREE_QUARTERS else "1/2",
         "strict": basis == MAJORITY, "base": "participating", "basis": basis}
        for matter, basis in NEW_DEFAULTS
    ])
    with op.batch_alter_table('fund_application') as batch:
        batch.drop_constraint('ck_fund_application_matter', type_='check')
    op.execute("UPDATE fund_application SET matter = 'rebuild' WHERE matter = 'major'")
    with op.batch_alter_table('fund_application') as batch:
        batch.create_check_constraint('ck_fund_application_matter', _in(FUND_MATTERS))


def downgrade():
    with op.batch_alter_table('fund_application') as batch:
        batch.drop_constraint('ck_fund_application_matter', type_='check')
    op.execute("UPDATE fund_application SET matter = 'major' WHERE matter = 'rebuild'")
    with op.batch_alter_table('fund_application') as batch:
        batch.create_check_constraint('ck_fund_application_matter', _in(("use", "major")))
    with op.batch_alter_table('vote_rule') as batch:
        batch.drop_constraint('ck_vote_rule_matter', type_='check')
    op.execute("DELETE FROM vote_rule WHERE matter NOT IN ('use', 'rebuild')")
    op.execute("UPDATE vote_rule SET matter = 'major' WHERE matter = 'rebuild'")
    with op.batch_alter_table('vote_rule') as batch:
        batch.create_check_constraint('ck_vote_rule_matter', _in(("use", "major")))
