"""docs/benchmarks.md from bench/results.json (tables), followed by bench/notes.md (the
hand-written analysis: before/after, profiles, targets we believe wrong)."""

from __future__ import annotations

from typing import Any

from bench import targets as T
from bench.common import ROOT

DB_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
USER_NAMES = {"manager": "物业经理（1 个小区）", "official": "街道监督员（全部小区）"}


def _ok(value: float | None, limit: float, higher_is_better: bool = False) -> str:
    if value is None:
        return "—"
    return T.verdict(value >= limit if higher_is_better else value <= limit)


def markdown(results: dict[str, Any]) -> str:
    size = results["size"]
    m, v = results["machine"], results["versions"]
    out = [
        "# 性能基准",
        "",
        "由 `make bench` 生成（`bench/results.json` 为完整数据）。本页的表格每次运行自动重写，"
        "文末「分析与说明」来自 `bench/notes.md`。",
        "",
        f"- 运行时间：{results['started']}，总耗时 {results.get('total_minutes', '?')} 分钟",
        f"- 机器：{m['cpu']}，{m['cores']} 核，内存 {m['memory_gb']} GB；{m['os']}；"
        f"开始时系统负载 {m['load_average_at_start']}",
        "- 版本：" + "，".join(f"{k} {val}" for k, val in v.items()),
        f"- 数据规模：{size['estates']} 个小区、{size['total_units']:,} 套房屋（最大小区 {size['large_units']:,} 套）、"
        f"{size['audit_records']:,} 条操作日志；导出 {size['export_rows']:,} 行、导入 {size['import_owners']:,} 名业主",
        "",
    ]
    for db_key, db in results["databases"].items():
        out += _database(DB_NAMES.get(db_key, db_key), db)
    out += _load(results.get("load"))
    notes = ROOT / "bench" / "notes.md"
    if notes.exists():
        out += ["", notes.read_text().rstrip(), ""]
    return "\n".join(out) + "\n"


def city_markdown(results: dict[str, Any]) -> str:
    """docs/benchmarks-city.md from bench/results_city.json (``make bench-city``)."""
    m, v, build = results["machine"], results["versions"], results.get("build", {})
    out = [
        "# 性能基准：一个城市（PostgreSQL）",
        "",
        "由 `make bench-city` 生成（`bench/results_city.json` 为完整数据）。城市数据集是 `make bench` 的完整数据集"
        f"在 PostgreSQL 内复制 {results['copies']} 份而成（`bench/city.py`：每份的 id 整体平移，互相引用一致，"
        "派生的合计表一并复制；副本留在原来的街道与社区，街道监督员看到全部小区）。",
        "",
        f"- 运行时间：{results['started']}，总耗时 {results.get('total_minutes', '?')} 分钟",
        f"- 机器：{m['cpu']}，{m['cores']} 核，内存 {m['memory_gb']} GB；开始时系统负载 {m['load_average_at_start']}",
        "- 版本：" + "，".join(f"{k} {val}" for k, val in v.items()),
    ]
    counts = results.get("counts", {})
    if counts:
        out.append(f"- 数据集：{counts['estate']:,} 个小区、{counts['unit']:,} 套房屋、{counts['bill']:,} 张账单、"
                   f"{counts['owner']:,} 名业主、{counts['fund_entry']:,} 条维修资金流水")
    if "copy_s" in build:
        full = results.get("full_data_set", {})
        when = f"（{build['built_at']} 那次运行复制，本次复用）" if build.get("cached") else "（本次运行）"
        out.append(
            f"- 生成耗时{when}：完整数据集 {build['full_data_set_s']} 秒（{'复用缓存' if full.get('cached') else '生成'}）；"
            f"复制 {build['copy_s']} 秒（最慢的表："
            + "、".join(f"`{name}` {seconds} 秒" for name, seconds in build["slowest_tables_s"].items())
            + f"）；VACUUM ANALYZE {build['analyze_s']} 秒")
    out += ["", "## 页面（本系统，PostgreSQL）", "",
            f"目标：街道监督员（全市）每个页面墙钟 p95 ≤ {T.CITY_PAGE_P95_MS} 毫秒。CPU 为本进程所用（不含数据库服务器）。", "",
            "| 用户 | 页面 | CPU | 中位 | p95 | SQL | HTML KB | 结论 |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for user, found in results.get("pages_ours", {}).get("users", {}).items():
        for page in found.values():
            ok = page["p95_ms"] <= T.CITY_PAGE_P95_MS if user == "official" else None
            out.append(f"| {USER_NAMES[user]} | {page['label']} | {page['cpu_median_ms']} | {page['median_ms']} | "
                       f"{page['p95_ms']} | {page['queries']} | {page['html_bytes'] / 1024:.0f} | {T.verdict(ok)} |")
    if "billgen" in results:
        bills = results["billgen"]
        out += ["", "## 批处理与看板", "", "| 项目 | 结果 | 目标 | 结论 |", "|---|---|---|---|",
                f"| 生成账单 {bills['units']:,} 套 × {bills['months']} 个月（表中已有 "
                f"{counts.get('bill', 0):,} 张） | {bills['bills']:,} 张，{bills['median_s']} 秒，"
                f"**{bills['bills_per_s']:,} 张/秒**（3 次取中位） | ≥ {T.CITY_BILLS_PER_S:,} 张/秒 | "
                f"{_ok(bills['bills_per_s'], T.CITY_BILLS_PER_S, True)} |",
                *_monthly_rows(results.get("monthly"), T.CITY_BILLS_PER_S),
                *(_dashboard_row(found) for found in results.get("dashboard", {}).values())]
    out += _plans("PostgreSQL", results.get("plans"))
    notes = ROOT / "bench" / "notes_city.md"
    if notes.exists():
        out += ["", notes.read_text().rstrip()]
    return "\n".join(out) + "\n"


def _database(name: str, db: dict[str, Any]) -> list[str]:
    data = db["data_set"]
    lines = [f"## {name}", ""]
    if data.get("cached"):
        lines.append("数据集：复用缓存（生成器未变）。")
    else:
        totals = data.get("totals", {})
        lines.append(f"数据集：本次生成，耗时 {data.get('timings_s')} 秒；账单 {totals.get('bills', '?'):,} 张、"
                     f"业主 {totals.get('owners', '?'):,} 名、操作日志 {totals.get('audit_records', '?'):,} 条。")
    if db.get("load_average"):
        lines.append(f"测量期间系统负载（1/5/15 分钟）：{db['load_average']}。")
    if "pages_ours" not in db:
        return lines + ["", "（本数据库的测量未完成。）", ""]
    lines += _pages(db)
    const = db["pages_ours"].get("query_constancy", {})
    menu = db.get("menu", {})
    lines += ["", "### SQL 条数是否恒定", "",
              "| 场景 | SQL 条数 |", "|---|---:|"]
    for user, counts in const.items():
        for key, count in counts.items():
            lines.append(f"| {USER_NAMES[user]} 房屋列表 每页 {key.rsplit('_', 1)[1]} 条 | {count} |")
    if menu:
        lines.append(f"| 物业经理 房屋列表（现有菜单） | {menu['unit_list_queries']} |")
        lines.append(f"| 物业经理 房屋列表（再加 30 个菜单项） | {menu['with_30_more_menu_entries']} |")
    if "billgen" not in db:
        return lines + ["", "（其余测量未完成。）", ""]
    lines += _plans(name, db.get("plans"))
    bills, export, imp = db["billgen"], db["export"], db["import"]
    lines += [
        "", "### 批处理、导出导入", "",
        "| 项目 | 结果 | 目标 | 结论 |", "|---|---|---|---|",
        f"| 生成账单 {bills['units']:,} 套 × {bills['months']} 个月 | {bills['bills']:,} 张，{bills['median_s']} 秒，"
        f"**{bills['bills_per_s']:,} 张/秒**（3 次取中位；CPU {bills.get('cpu_s')} 秒） | ≥ {T.BILLS_PER_S:,} 张/秒 | "
        f"{_ok(bills['bills_per_s'], T.BILLS_PER_S, True)} |",
        f"| 导出房屋 Excel（街道监督员，全部 {export.get('units', 0):,} 套） | {export['seconds']} 秒（CPU {export.get('cpu_s')} 秒），"
        f"{export['bytes'] / 1e6:.2f} MB；"
        f"进程峰值内存 {export['peak_rss_mb']} MB（导出前 {export['rss_before_mb']} MB） | ≤ {T.EXPORT_S} 秒，≤ {T.EXPORT_PEAK_MB} MB | "
        f"{T.verdict(export['seconds'] <= T.EXPORT_S and export['peak_rss_mb'] <= T.EXPORT_PEAK_MB)} |",
        f"| 导入业主 {imp['owners']:,} 名（物业经理） | 校验（试导入）{imp['dry_run_s']} 秒；导入 {imp['import_s']} 秒"
        f"（CPU {imp.get('import_cpu_s')} 秒），"
        f"写入 {imp['imported']:,} 名 | ≤ {T.IMPORT_S} 秒 | {_ok(imp['import_s'], T.IMPORT_S)} |",
        _tally_row(db["tally"]),
        _apportion_row(db["apportionment"]),
        *(_dashboard_row(found) for found in db["dashboard"].values()),
        "",
        *_jobs(db.get("jobs"), db.get("monthly")),
    ]
    return lines


def _plans(name: str, plans: dict[str, Any] | None) -> list[str]:
    """The slowest statement of each official page and the plan the database chose for it."""
    if not plans:
        return []
    postgresql = name == "PostgreSQL"
    how = "EXPLAIN (ANALYZE) 的执行时间与计划" if postgresql else "EXPLAIN QUERY PLAN"
    lines = ["", "### 街道监督员各页最慢的一条 SQL 及其执行计划", "",
             f"页面请求中耗时最长的一条语句（毫秒，请求内实测），及数据库为它选择的计划（{how}）。", "",
             "| 页面 | 最慢一条 SQL | " + ("EXPLAIN ANALYZE | " if postgresql else "") + "计划 |",
             "|---|---:|" + ("---:|" if postgresql else "") + "---|"]
    for found in plans.values():
        explained = f" {found['explained_ms']} |" if postgresql else ""
        lines.append(f"| {found['label']} | {found['statement_ms']} |{explained} {found['plan']} |")
    return lines


def _ratio(ours: dict[str, Any], base: dict[str, Any] | None) -> float | None:
    if not base or "error" in base or not base.get("cpu_median_ms"):
        return None
    return round(ours["cpu_median_ms"] / base["cpu_median_ms"], 2)


def _base_cells(base: dict[str, Any] | None) -> str:
    if not base:
        return "— | — | —"
    if "error" in base:
        return f"出错（{base['error']}） | — | —"
    return f"{base['cpu_median_ms']} | {base['queries']} | {base['html_bytes'] / 1024:.0f}"


def _pages(db: dict[str, Any]) -> list[str]:
    """The product's pages beside Django admin's and plain FAB's, measured interleaved."""
    lines = [
        "", "### 列表与详情页：本系统、Django admin、原生 FAB（交替测量）", "",
        "三个系统各在自己的进程里，每轮每个页面依次请求三个系统（顺序逐页、逐轮轮换），机器的波动落在三者身上。"
        "CPU 为处理一次请求本进程所用的 CPU 时间（毫秒，中位；不含等待 CPU 的时间，PostgreSQL 时不含数据库服务器）；"
        "「各轮」为每一轮的 CPU 中位的最小–最大；中位/p95 为墙钟时间。比值 = 本系统 CPU 中位 / 对照 CPU 中位。"
        f"目标：CPU ≤ {T.PAGE_CPU_MS} 毫秒、墙钟中位 ≤ {T.PAGE_MEDIAN_MS} 毫秒、与 Django 之比 ≤ {T.RATIO_TO_DJANGO}、"
        f"与原生 FAB 之比 ≤ {T.RATIO_TO_PLAIN}、SQL ≤ {T.MAX_QUERIES} 条。", "",
        "| 用户 | 页面 | CPU | 各轮 | 中位 | p95 | SQL | HTML KB | Django CPU | SQL | HTML KB | 原生 FAB CPU | SQL | HTML KB "
        "| 比 Django | 比原生 FAB | 结论 |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    ours = db["pages_ours"]["users"]
    django, plain = db.get("pages_django", {}).get("users", {}), db["pages_plain"]["users"]
    for user, pages in ours.items():
        for key, page in pages.items():
            to_django = _ratio(page, django.get(user, {}).get(key))
            to_plain = _ratio(page, plain.get(user, {}).get(key))
            ok = (page["cpu_median_ms"] <= T.PAGE_CPU_MS and page["median_ms"] <= T.PAGE_MEDIAN_MS
                  and page["queries"] <= T.MAX_QUERIES
                  and (to_django is None or to_django <= T.RATIO_TO_DJANGO)
                  and (to_plain is None or to_plain <= T.RATIO_TO_PLAIN))
            rounds = page.get("cpu_round_medians") or [page["cpu_median_ms"]]
            lines.append(
                f"| {USER_NAMES[user]} | {page['label']} | {page['cpu_median_ms']} | {min(rounds)}–{max(rounds)} | "
                f"{page['median_ms']} | {page['p95_ms']} | {page['queries']} | {page['html_bytes'] / 1024:.0f} | "
                f"{_base_cells(django.get(user, {}).get(key))} | {_base_cells(plain.get(user, {}).get(key))} | "
                f"{to_django or '—'} | {to_plain or '—'} | {T.verdict(ok)} |"
            )
    return lines


def _monthly_rows(found: dict[str, Any] | None, target: int | None = None) -> list[str]:
    """The month's scheduled bill run of every estate, by one consumer process and by two."""
    if not found:
        return []
    rows, alone = [], found["runs"][0]
    for run in found["runs"]:
        ok = None if target is None else run["bills_per_s"] >= target and not run["failed"]
        speedup = f"，为 1 个进程的 {run['bills_per_s'] / alone['bills_per_s']:.2f} 倍" if run is not alone else ""
        failed = f"；{run['failed']} 项未完成：{run['first_failure']}" if run["failed"] else ""
        failed += f"；{run['retried']} 项出错后重试" if run.get("retried") else ""
        rows.append(
            f"| 每月自动生成账单（{run['period']}）：{run['estates']:,} 个小区各一项任务，{run['consumers']} 个任务进程 | "
            f"{run['bills']:,} 张，{run['seconds']} 秒（第一项开始到最后一项结束），**{run['bills_per_s']:,} 张/秒**"
            f"{speedup}{failed} | {f'≥ {target:,} 张/秒' if target else '—'} | {T.verdict(ok)} |")
    return rows


def _jobs(found: dict[str, Any] | None, monthly: dict[str, Any] | None = None) -> list[str]:
    """Background jobs run by real consumer processes (docs/jobs.md)."""
    if not found:
        return []
    idle, busy = found["idle"], found.get("busy")
    slowdown = round(busy["median_ms"] / idle["median_ms"], 2) if busy else None
    export, run, reminders = found["export"], found["bill_run"], found["reminders"]
    return [
        "### 后台任务（任务进程 `flask worker`，SQLite 队列）", "",
        "| 项目 | 结果 | 目标 | 结论 |", "|---|---|---|---|",
        f"| 物业经理 房屋列表，任务进程空闲 | 中位 {idle['median_ms']} 毫秒，p95 {idle['p95_ms']} 毫秒（CPU {idle['cpu_median_ms']}） | — | — |",
        (f"| 同一页面，任务进程同时导出全部房屋 | 中位 {busy['median_ms']} 毫秒，p95 {busy['p95_ms']} 毫秒"
         f"（CPU {busy['cpu_median_ms']}；{busy['samples']} 次），为空闲时的 {slowdown} 倍 | ≤ {T.BUSY_SLOWDOWN} 倍 | "
         f"{_ok(slowdown, T.BUSY_SLOWDOWN)} |") if busy else "| 同一页面，导出进行中 | 导出过快，未能取样 | — | — |",
        f"| 后台导出（街道监督员，全部房屋） | {export['rows']:,} 行，{export['seconds']} 秒，{export['rows_per_s']:,} 行/秒 | — | — |",
        f"| 后台生成账单（12 个月） | {run['bills']:,} 张，{run['seconds']} 秒，{run['bills_per_s']:,} 张/秒 | — | — |",
        f"| 每日提醒：到点 → 全部站内消息写入 | {reminders['due_to_inbox_s']} 秒（含任务进程每分钟一次的检查；"
        f"任务本身 {reminders['job_s']} 秒，{reminders['people']} 人） | — | — |",
        *_monthly_rows(monthly),
        "",
    ]


def _load(load: dict[str, Any] | None) -> list[str]:
    if not load:
        return ["## 负载测试", "", "本次未运行（`--skip-pg` 或 `--skip-load`）。", ""]
    if "error" in load:
        return ["## 负载测试", "", f"本次未能完成：{load['error']}（其余各项已保存）。", ""]
    ok = load["requests_per_s"] >= T.LOAD_RPS and load["p95_ms"] <= T.LOAD_P95_MS and load["errors"] == 0
    return [
        "## 负载测试（gunicorn 2 个 sync worker，PostgreSQL，wrk 20 个并发连接）", "",
        "| 时长 | 请求数 | 请求/秒 | p50 | p95 | p99 | 错误 | 结论 |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {load['duration_s']} 秒 | {load['requests']:,} | {load['requests_per_s']} | {load['p50_ms']} ms | "
        f"{load['p95_ms']} ms | {load['p99_ms']} ms | {load['errors']} | {T.verdict(ok)} |",
        "", f"测试结束时系统负载（1/5/15 分钟）：{load.get('load_average')}。"
        + (f"压测工具 wrk 自身用去 CPU {load['generator_cpu_s']} 秒（与服务器、数据库共用 2 核）。"
           if "generator_cpu_s" in load else ""),
        "", "请求组合（两个登录会话：物业经理、街道监督员，轮流）：" + "、".join(f"`{p}`" for p in load["mix"]), "",
    ]


def _dashboard_row(found: dict[str, Any]) -> str:
    return (f"| 看板：{found['label']} | 中位 {found['median_ms']} 毫秒，p95 {found['p95_ms']}（CPU {found['cpu_median_ms']}），"
            f"{found['queries']} 条 SQL | ≤ {T.DASHBOARD_MS} 毫秒 | {_ok(found['median_ms'], T.DASHBOARD_MS)} |")


def _tally_row(tally: dict[str, Any]) -> str:
    return (f"| 表决计票：{tally['voters']:,} 人的名册与选票（读库 + 计票） | 中位 {tally['median_ms']} 毫秒，"
            f"p95 {tally['p95_ms']}（CPU {tally['cpu_median_ms']}） | ≤ {T.TALLY_MS} 毫秒 | "
            f"{_ok(tally['median_ms'], T.TALLY_MS)} |")


def _apportion_row(found: dict[str, Any]) -> str:
    full, pure = found["with_reading_areas"], found["arithmetic_only"]
    return (f"| 分摊 {found['amount']} 元到 {found['units']:,} 套（最大余额法，合计 {found['sum_of_shares']} 元） | "
            f"含读取范围与面积：中位 {full['median_ms']} 毫秒；仅计算：{pure['median_ms']} 毫秒 | "
            f"≤ {T.APPORTION_MS} 毫秒 | {_ok(full['median_ms'], T.APPORTION_MS)} |")
