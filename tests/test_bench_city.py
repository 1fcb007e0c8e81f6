"""The city benchmark's copies of the estates (bench/city.py), on the seeded test database.

The city's figures are only worth something if each copy is a whole, consistent set of
estates: every reference inside its own copy, and the totals the database keeps equal to the
rows they sum."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.extensions import db
from bench.city import copy_estates

pytestmark = pytest.mark.usefixtures("ctx")

OWNED = ("estate", "building", "unit", "owner", "bill", "payment", "fund_entry", "vote_roll", "bill_month_total",
         "fund_unit_total", "vote_tally")


def _counts(conn) -> dict[str, int]:
    return {name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one() for name in OWNED}


@pytest.fixture()
def copied():
    """The seeded database with every estate copied twice more (rolled back afterwards)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the city is a PostgreSQL benchmark")
    conn = db.session.connection()
    before = _counts(conn)
    try:
        copy_estates(conn, 3)
        yield conn, before
    finally:
        db.session.rollback()


def test_each_copy_has_as_many_rows_as_the_originals(copied):
    conn, before = copied
    assert before["estate"] == 3 and before["bill"] > 0 and before["vote_roll"] > 0  # something to copy
    assert _counts(conn) == {name: 3 * count for name, count in before.items()}


def test_every_bill_of_a_copy_is_for_a_unit_or_space_of_the_same_estate(copied):
    conn, _before = copied
    strays = conn.execute(text(
        "SELECT count(*) FROM bill LEFT JOIN unit ON unit.id = bill.unit_id"
        " LEFT JOIN parking_space ON parking_space.id = bill.space_id"
        " WHERE coalesce(unit.estate_id, parking_space.estate_id) IS DISTINCT FROM bill.estate_id")).scalar_one()
    assert strays == 0


def test_the_kept_month_totals_of_every_copy_equal_its_own_bills(copied):
    conn, _before = copied
    differing = conn.execute(text(
        "SELECT count(*) FROM bill_month_total AS kept FULL JOIN"
        " (SELECT estate_id, period, sum(amount) AS due, sum(outstanding) AS outstanding, count(*) AS bills"
        "  FROM bill GROUP BY estate_id, period) AS summed USING (estate_id, period)"
        " WHERE kept.due IS DISTINCT FROM summed.due OR kept.outstanding IS DISTINCT FROM summed.outstanding"
        " OR kept.bills IS DISTINCT FROM summed.bills")).scalar_one()
    assert differing == 0


def test_the_kept_fund_total_of_every_copied_unit_is_keyed_by_a_unit_of_its_own_estate(copied):
    """unit_key holds a unit's id without a foreign key (0: the estate's own row): shifted too."""
    conn, before = copied
    strays = conn.execute(text(
        "SELECT count(*) FROM fund_unit_total AS kept LEFT JOIN unit ON unit.id = kept.unit_key"
        " WHERE kept.unit_key != 0 AND unit.estate_id IS DISTINCT FROM kept.estate_id")).scalar_one()
    assert before["fund_unit_total"] > 0 and strays == 0


def test_the_copies_names_and_codes_stay_unique(copied):
    conn, _before = copied
    names = conn.execute(text("SELECT name FROM estate ORDER BY id")).scalars().all()
    assert len(set(names)) == len(names) == 9
    assert names[3].endswith("-1") and names[6].endswith("-2") and names[3][:-2] == names[0]


def test_the_city_report_lists_every_page_of_the_official_with_its_verdict():
    """docs/benchmarks-city.md is rendered from the committed results (make bench-city)."""
    import json

    from bench.common import ROOT
    from bench.report import city_markdown
    from bench.targets import CITY_PAGE_P95_MS

    results = json.loads((ROOT / "bench" / "results_city.json").read_text())
    page = city_markdown(results)
    for found in results["pages_ours"]["users"]["official"].values():
        verdict = "达标" if found["p95_ms"] <= CITY_PAGE_P95_MS else "未达标"
        assert f"| 街道监督员（全部小区） | {found['label']} | {found['cpu_median_ms']} |" in page
        assert page.split(f"| {found['label']} | {found['cpu_median_ms']} |")[1].split("\n")[0].endswith(f"| {verdict} |")
