"""Irreversible steps ask first, refused steps say why before the click, reviewers see what
they decide on, and people are named as people."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

from sqlalchemy import insert, select

from app.extensions import db
from models import clock
from models.audit import AuditLog
from models.estate import Estate
from models.fees import BILLING_MODES, FeeItem, FeeStandard, FeeStandardLine
from models.workflow import WorkflowEvent
from tests.support import client_of, in_db, text_of

TODAY = clock.today()


def _estate_id() -> int:
    return db.session.execute(select(Estate.id).order_by(Estate.id).limit(1)).scalar_one()


def _standard(state: str, effective_from: dt.date, price: str | None = "2.95", title: str = "测试标准") -> int:
    standard = FeeStandard(estate_id=_estate_id(), title=title, company_name="测试物业", service_content="清洁",
                           service_standard="二级", basis="业主大会决议", effective_from=effective_from, state=state)
    if price is not None:
        item = db.session.execute(select(FeeItem).where(FeeItem.code == "WYF")).scalar_one()
        standard.lines = [FeeStandardLine(item=item, billing_basis="per_area", unit_price=Decimal(price),
                                          price_form="market")]
    db.session.add(standard)
    db.session.commit()
    return standard.id


def _buttons(page: str) -> str:
    start = page.find('class="panel panel-default workflow-panel"')
    return page[start:page.find("<h5>办理记录</h5>", start)]


# -- a refused step says why before the click ----------------------------------------------------

def test_a_standard_without_prices_shows_submit_disabled_with_the_guards_reason(app):
    pk = in_db(app, lambda: _standard("draft", TODAY + dt.timedelta(days=60), price=None))
    page = text_of(client_of(app, "manager_a").get(f"/fee_standard/show/{pk}"))
    buttons = _buttons(page)
    assert re.search(r'<button type="button" class="btn btn-primary" disabled[^>]*>提交审核</button>', buttons)
    assert "暂不能提交审核：收费标准还没有任何收费项目（价格）" in buttons


def test_a_standard_without_prices_cannot_be_submitted(app):
    pk = in_db(app, lambda: _standard("draft", TODAY + dt.timedelta(days=60), price=None))
    page = text_of(client_of(app, "manager_a").post(f"/fee_standard/transition/submit/{pk}", follow_redirects=True))
    assert "收费标准还没有任何收费项目（价格）" in page
    assert in_db(app, lambda: db.session.get(FeeStandard, pk).state) == "draft"


def test_a_standard_with_prices_offers_submit_as_a_live_button(app):
    pk = in_db(app, lambda: _standard("draft", TODAY + dt.timedelta(days=60)))
    buttons = _buttons(text_of(client_of(app, "manager_a").get(f"/fee_standard/show/{pk}")))
    assert re.search(r'<button type="submit" class="btn btn-primary" formaction="/fee_standard/transition/submit/\d+"',
                     buttons)
    assert "暂不能" not in buttons


def test_publishing_too_early_is_shown_disabled_with_the_earliest_date(app):
    def arrange():
        _standard("published", TODAY - dt.timedelta(days=400), title="现行")
        return _standard("approved", TODAY + dt.timedelta(days=10), title="新标准")

    pk = in_db(app, arrange)
    buttons = _buttons(text_of(client_of(app, "manager_a").get(f"/fee_standard/show/{pk}")))
    assert "暂不能公示：该标准将替换现行收费标准，须至少提前一个月公示" in buttons


def test_showing_the_reason_changes_nothing(app):
    pk = in_db(app, lambda: _standard("draft", TODAY + dt.timedelta(days=60), price=None))
    count = in_db(app, lambda: db.session.query(AuditLog).count())
    client_of(app, "manager_a").get(f"/fee_standard/show/{pk}")
    assert in_db(app, lambda: db.session.query(AuditLog).count()) == count


# -- irreversible steps ask first -----------------------------------------------------------------

def test_steps_that_freeze_or_publish_ask_for_confirmation_naming_the_record(app):
    pk = in_db(app, lambda: _standard("draft", TODAY + dt.timedelta(days=60), title="确认测试标准"))
    buttons = _buttons(text_of(client_of(app, "manager_a").get(f"/fee_standard/show/{pk}")))
    confirm = re.search(r'formaction="/fee_standard/transition/submit/\d+"\s+data-confirm="([^"]+)"', buttons).group(1)
    assert "确认测试标准" in confirm and "提交审核" in confirm and "冻结" in confirm


def test_returning_a_standard_for_changes_asks_nothing(app):
    pk = in_db(app, lambda: _standard("submitted", TODAY + dt.timedelta(days=60)))
    buttons = _buttons(text_of(client_of(app, "committee_a").get(f"/fee_standard/show/{pk}")))
    approve = re.search(r'<button[^>]*transition/approve/[^>]*>', buttons).group(0)
    give_back = re.search(r'<button[^>]*transition/return/[^>]*>', buttons).group(0)
    assert "data-confirm" in approve and "data-confirm" not in give_back


def test_every_transition_into_a_frozen_state_asks_first():
    from models.base import declared_entities

    for model in declared_entities():
        flow = model.Admin.workflow
        if flow is None:
            continue
        for t in flow.transitions:
            if t.target in flow.frozen:
                assert flow.confirmation("某记录", t), f"{model.__name__}.{t.name}"


def test_paper_ballots_payments_and_owner_votes_ask_first(app):
    from pathlib import Path

    templates = Path(app.root_path) / "templates"
    for name in ("fund/tally.html", "fees/bill_pay.html", "public/vote.html", "fund/entry_panel.html"):
        assert "data-confirm=" in (templates / name).read_text(encoding="utf-8"), name


# -- the review page ------------------------------------------------------------------------------

def test_the_reviewer_sees_prices_and_changes_above_the_decision_buttons(app):
    def arrange():  # after the demo's published standards: this one is what the new one replaces
        _standard("published", TODAY + dt.timedelta(days=300), price="2.65", title="现行标准")
        return _standard("submitted", TODAY + dt.timedelta(days=400), price="2.95", title="待审标准")

    pk = in_db(app, arrange)
    page = text_of(client_of(app, "committee_a").get(f"/fee_standard/show/{pk}"))
    assert "价格与现行标准对比" in page and "上调 0.30" in page
    assert page.index("价格与现行标准对比") < page.index("办理流程")


def test_a_draft_is_compared_with_the_standard_owners_pay_not_with_another_draft(app):
    def arrange():
        in_force = _standard("published", TODAY + dt.timedelta(days=300), price="2.65", title="现行标准")
        _standard("submitted", TODAY + dt.timedelta(days=350), price="3.10", title="另一份待审")
        mine = _standard("draft", TODAY + dt.timedelta(days=400), price="2.95", title="本次草稿")
        return in_force, mine

    in_force, mine = in_db(app, arrange)
    assert in_db(app, lambda: db.session.get(FeeStandard, mine).previous(db.session).id) == in_force
    page = text_of(client_of(app, "committee_a").get(f"/fee_standard/compare/{mine}"))
    assert "现行标准" in page and "上调 0.30" in page and "另一份待审" not in page


def test_editing_a_published_standard_says_why_in_chinese_never_database_error(app):
    pk = in_db(app, lambda: _standard("published", TODAY - dt.timedelta(days=400)))
    manager = client_of(app, "manager_a")
    page = text_of(manager.get(f"/fee_standard/edit/{pk}"))
    form = {name: value for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)}
    form.update(title="篡改后的标题", estate=str(in_db(app, _estate_id)), service_content="清洁",
                billing_mode=BILLING_MODES.codes[0])
    answer = text_of(manager.post(f"/fee_standard/edit/{pk}", data=form, follow_redirects=True))
    assert "数据库错误" not in answer
    assert "收费标准处于「已公示」状态，不能修改" in answer
    assert in_db(app, lambda: db.session.get(FeeStandard, pk).title) == "测试标准"


# -- people, one entry per step, one way to write a price ------------------------------------------

def test_the_timeline_names_people_family_name_first_not_their_login(app):
    pk = in_db(app, lambda: _standard("draft", TODAY + dt.timedelta(days=60)))
    manager = client_of(app, "manager_a")
    manager.post(f"/fee_standard/transition/submit/{pk}")
    page = text_of(manager.get(f"/fee_standard/show/{pk}"))
    timeline = page[page.find("<h5>办理记录</h5>"):]
    assert "王经理" in timeline and "manager_a" not in timeline


def test_a_step_recorded_without_an_account_id_still_names_the_person(app):
    def submitted_without_id() -> int:
        pk = _standard("draft", TODAY + dt.timedelta(days=60))
        db.session.execute(insert(WorkflowEvent), [dict(
            table_name="fee_standard", record_id=pk, transition="submit", from_state="draft", to_state="submitted",
            comment="", user_id=None, username="manager_a", created_at=dt.datetime(2026, 11, 30, 1, 0))])
        db.session.commit()
        return pk

    page = text_of(client_of(app, "manager_a").get(f"/fee_standard/show/{in_db(app, submitted_without_id)}"))
    timeline = page[page.find("<h5>办理记录</h5>"):]
    assert "王经理" in timeline and "manager_a" not in timeline


def test_each_transition_is_one_entry_of_the_change_history(app):
    pk = in_db(app, lambda: _standard("draft", TODAY + dt.timedelta(days=60)))
    client_of(app, "manager_a").post(f"/fee_standard/transition/submit/{pk}")
    logs = in_db(app, lambda: [(log.action, log.new_values) for log in db.session.execute(
        select(AuditLog).where(AuditLog.table_name == "fee_standard", AuditLog.record_id == str(pk),
                               AuditLog.action != "create")).scalars()])
    assert [action for action, _ in logs] == ["transition"]
    assert json.loads(logs[0][1])["to"] == "submitted"
    page = text_of(client_of(app, "manager_a").get(f"/fee_standard/history/{pk}"))
    assert page.count("状态变更") == 1 and "王经理" in page


def test_a_publication_records_its_date_in_the_same_history_entry(app):
    pk = in_db(app, lambda: _standard("approved", TODAY + dt.timedelta(days=40)))
    client_of(app, "manager_a").post(f"/fee_standard/transition/publish/{pk}")
    logs = in_db(app, lambda: [json.loads(log.new_values) for log in db.session.execute(
        select(AuditLog).where(AuditLog.table_name == "fee_standard", AuditLog.record_id == str(pk),
                               AuditLog.action.in_(("update", "transition")))).scalars()])
    assert len(logs) == 1 and logs[0]["to"] == "published" and logs[0]["published_on"] == TODAY.isoformat()


def test_a_price_reads_the_same_in_the_list_and_on_the_notice(app):
    in_db(app, lambda: _standard("draft", TODAY + dt.timedelta(days=60), price="2.9500"))
    page = text_of(client_of(app, "manager_a").get("/fee_standard_line/list/?psize_FeeStandardLineView=100"))
    assert ">2.95<" in page.replace(" ", "").replace("\n", "") and "2.9500" not in page


def test_the_user_menu_names_the_user_family_name_first(app):
    page = text_of(client_of(app, "staff_a").get("/"))
    assert "李员工" in page and "员工 李" not in page


def test_every_step_the_demo_data_would_refuse_is_shown_disabled_with_its_reason(app):
    from models.base import declared_entities
    from tests.support import mentions

    def refused_steps():
        found = []
        for model in declared_entities():
            flow = model.Admin.workflow
            if flow is None:
                continue
            seen = set()
            for row in db.session.execute(select(model).order_by(model.id)).scalars():
                if getattr(row, flow.field) in seen:
                    continue  # one record per state and entity
                seen.add(getattr(row, flow.field))
                for t in flow.available(row):
                    if reason := flow.refusal(db.session, row, t):
                        found.append((model.__tablename__, row.id, t.label, reason))
        return found

    found = in_db(app, refused_steps)
    assert found, "the demo data holds steps that would be refused (e.g. a vote still open)"
    admin = client_of(app, "admin")
    for table, pk, label, reason in found:
        page = text_of(admin.get(f"/{table}/show/{pk}"))
        assert mentions(page, f"暂不能{label}：{reason}"), (table, pk, label)
