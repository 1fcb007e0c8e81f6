"""The benchmark suite at 1,000 units, so that `make bench` cannot rot.

Speed targets are judged by `make bench` (docs/benchmarks.md), never here: these
tests only hold the benchmark code to what it promises to measure, and the
product to the one figure that does not depend on the machine, the number of SQL
queries per page.
"""

from __future__ import annotations

import json

import pytest

from bench import runner
from bench.targets import MAX_QUERIES


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    code = runner.main(["--size", "smoke", "--skip-pg", "--runs", "2", "--warmup", "0",
                        "--out", str(out / "results.json"), "--markdown", str(out / "benchmarks.md")])
    assert code == 0
    return json.loads((out / "results.json").read_text()), (out / "benchmarks.md").read_text()


PAGES = {"unit_first", "unit_deep", "unit_filtered", "unit_search", "bill_first", "bill_deep", "bill_filtered",
         "bill_search", "unit_show"}
SYSTEMS = ("pages_ours", "pages_plain", "pages_django")


def test_every_page_is_measured_for_both_users_in_the_product_and_both_baselines(results):
    sqlite = results[0]["databases"]["sqlite"]
    for system in SYSTEMS:
        for user in ("manager", "official"):
            pages = sqlite[system]["users"][user]
            assert PAGES <= set(pages), (system, user)
            answered = [page for page in pages.values() if "error" not in page]
            assert len(answered) == len(pages), (system, user, pages)
            assert all(page["cpu_median_ms"] > 0 and page["html_bytes"] > 0 for page in answered)


def test_the_three_systems_are_measured_in_interleaved_rounds(results):
    # --runs 2: two rounds, each asking every system for every page once
    sqlite = results[0]["databases"]["sqlite"]
    for system in SYSTEMS:
        for page in sqlite[system]["users"]["official"].values():
            assert page["runs"] == 2 and len(page["cpu_round_medians"]) == 2


def _queries(results, keep) -> dict[str, int]:
    pages = results[0]["databases"]["sqlite"]["pages_ours"]["users"]
    return {f"{user} {key}": page["queries"] for user, found in pages.items() for key, page in found.items()
            if keep(key)}


def test_a_page_costs_at_most_eight_queries(results):
    counts = _queries(results, lambda key: True)
    assert {"manager fund_show", "official fund_tally"} <= set(counts)
    assert max(counts.values()) <= MAX_QUERIES, counts


def test_the_query_count_does_not_grow_with_the_page_size(results):
    for counts in results[0]["databases"]["sqlite"]["pages_ours"]["query_constancy"].values():
        assert len(set(counts.values())) == 1, counts


def test_the_query_count_does_not_grow_with_the_menu(results):
    menu = results[0]["databases"]["sqlite"]["menu"]
    assert menu["with_30_more_menu_entries"] == menu["unit_list_queries"]


def test_bill_generation_bills_every_unit_and_let_space_for_twelve_months(results):
    bills = results[0]["databases"]["sqlite"]["billgen"]
    assert bills["months"] == 12 and bills["bills"] >= bills["units"] * 2 * 12 and bills["bills_per_s"] > 0


def test_the_monthly_run_bills_every_estate_by_one_consumer_and_by_two(results):
    monthly = results[0]["databases"]["sqlite"]["monthly"]
    runs = monthly["runs"]
    assert [run["consumers"] for run in runs] == [1, 2]
    for run in runs:
        assert run["failed"] == 0 and run["estates"] == results[0]["size"]["estates"]
        assert run["bills"] == runs[0]["bills"] >= monthly["units"] * 2 and run["bills_per_s"] > 0


def test_the_export_holds_every_unit_the_official_sees(results):
    export = results[0]["databases"]["sqlite"]["export"]
    assert export["rows_checked"] == export["units"] > 0
    assert export["peak_rss_mb"] > 0


def test_the_import_writes_every_owner(results):
    imported = results[0]["databases"]["sqlite"]["import"]
    assert imported["imported"] == imported["owners"] == results[0]["size"]["import_owners"]


def test_the_slowest_statement_of_every_official_page_is_reported_with_its_plan(results):
    plans = results[0]["databases"]["sqlite"]["plans"]
    assert PAGES <= set(plans)
    assert all(found["statement_ms"] > 0 and found["plan"] for found in plans.values())
    # the unit list reads its page through an index, in reading order, rather than every unit
    assert "USING INDEX" in plans["unit_first"]["plan"] or "USING COVERING INDEX" in plans["unit_first"]["plan"]
    assert "最慢的一条 SQL 及其执行计划" in results[1]


def test_the_report_names_the_machine_the_versions_and_the_targets(results):
    markdown = results[1]
    assert "Flask-AppBuilder 5.3.0" in markdown and "核" in markdown
    assert "原生 FAB" in markdown and "Django admin" in markdown and "≥ 50,000 张/秒" in markdown


def test_background_jobs_are_measured_with_a_real_consumer(results):
    found = results[0]["databases"]["sqlite"]["jobs"]
    assert found["export"]["state"] == found["bill_run"]["state"] == found["reminders"]["state"] == "done"
    assert found["export"]["rows"] == results[0]["databases"]["sqlite"]["export"]["units"]
    assert found["bill_run"]["bills"] >= results[0]["databases"]["sqlite"]["billgen"]["bills"]
    assert found["reminders"]["people"] >= 4 and "后台任务" in results[1]
