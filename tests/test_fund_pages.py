"""Repair fund pages: documents, the application's page, the tally, ballots, printing, the ledger.

Fixtures are built through the domain services (``models.repair_fund``): first deposits,
the workflow's transitions, electronic ballots. Estate 1 is the demo users' estate; a
row of estate 2 stands for "another estate's id", which must answer 404.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from io import BytesIO

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models import clock
from models.estate import Building, Estate, Unit
from models.fund_vote import ONE_BALLOT, Ballot, VoteRoll
from models.repair_fund import (
    FUND_FLOW, FundApplication, FundEntry, FundScope, cast_ballot, deposit_first, planned_shares,
)
from models.settings import Settings
from tests.pages import data_words, english_words
from tests.support import SignedInClients, electorate_ids, flashed, in_db, text_of
from views.uploads import STORAGE_FAILED, STORED_NAME, upload_folder

PDF = b"%PDF-1.4 test document"
TODAY = clock.today()


# -- fixtures built through the domain -------------------------------------------------------

def _estate(position: int) -> Estate:
    return db.session.execute(select(Estate).order_by(Estate.id).offset(position).limit(1)).scalar_one()


def _smallest_building(estate: Estate) -> Building:
    """The building of the estate with the fewest units (a small electorate)."""
    count = func.count(Unit.id)
    building_id = db.session.execute(
        select(Unit.building_id).where(Unit.estate_id == estate.id).group_by(Unit.building_id)
        .order_by(count, Unit.building_id).limit(1)).scalar_one()
    return db.session.get(Building, building_id)


def _fire(app: FundApplication, *names: str) -> None:
    for name in names:
        FUND_FLOW.fire(db.session, app, name, comment="测试")
        db.session.commit()


def _application(position: int = 0, state: str = "draft", attachment: str | None = None) -> int:
    """An application of the estate at ``position`` over its smallest building, driven to ``state``."""
    estate = _estate(position)
    deposit_first(db.session, estate, Decimal("50"), TODAY - dt.timedelta(days=400))
    Settings.current(db.session).fund_publicity_days = 0
    app = FundApplication(
        estate=estate, title="外墙修缮测试", category="major_repair", matter="use", repair_part="外墙",
        budget=Decimal("20000.00"), contractor="测试维修公司", plan="三十天完工", exclusion_declared=True,
        attachment=attachment,
    )
    app.scope = [FundScope(building=_smallest_building(estate))]
    db.session.add(app)
    db.session.commit()
    if state == "draft":
        return app.id
    _fire(app, "submit", "approve", "open_vote")
    if state == "voting":
        return app.id
    persons = {}
    for roll in db.session.execute(select(VoteRoll).where(VoteRoll.application_id == app.id)).scalars():
        persons.setdefault(roll.person, roll)  # one ballot per person
    for roll in persons.values():
        cast_ballot(db.session, app, roll.unit_id, "yes", channel="electronic", recorded_by="测试", code=roll.code)
    db.session.commit()
    _fire(app, "close_vote", "start_work")
    app.actual_cost = Decimal("20000.00")
    db.session.commit()
    _fire(app, "accept", "settle")
    assert app.state == "settled"
    return app.id


def _short_unit(app_id: int) -> tuple[int, str]:
    """Empty one unit's 分户账 (a 退还) so that it cannot cover its share: (unit id, its name)."""
    app = db.session.get(FundApplication, app_id)
    unit_id = electorate_ids(app)[0]
    balance = db.session.scalar(select(func.sum(FundEntry.amount)).where(FundEntry.unit_id == unit_id))
    db.session.add(FundEntry(estate_id=app.estate_id, unit_id=unit_id, kind="refund", amount=-balance,
                             occurred_on=TODAY, note="测试退还"))
    db.session.commit()
    return unit_id, str(db.session.get(Unit, unit_id))


def _stored_document() -> str:
    """A document already in the upload folder (as the form would have stored it)."""
    name = "ab" * 16 + ".pdf"
    (upload_folder() / name).write_bytes(PDF)
    return name


def _roll_unit(app_id: int, offset: int = 0) -> int:
    return db.session.execute(select(VoteRoll.unit_id).where(VoteRoll.application_id == app_id)
                              .order_by(VoteRoll.unit_id).offset(offset).limit(1)).scalar_one()


@pytest.fixture(scope="module")
def users(app):
    clients = SignedInClients(app)
    yield clients
    clients.close()


def _scan(name: str = "scan.pdf", content: bytes = PDF):
    return BytesIO(content), name


def _chinese(app, html: str) -> set[str]:
    words = in_db(app, lambda: data_words(db.session))
    return english_words(html, words)


# -- documents (FileColumn) ------------------------------------------------------------------------

def _add_form(estate_id: int, **extra) -> dict:
    return {"estate": str(estate_id), "title": "电梯更新", "category": "renewal", "matter": "use",
            "repair_part": "2号楼电梯", "budget": "80000.00", "contractor": "测试电梯公司", "plan": "分两期实施",
            "exclusion_declared": "y", **extra}


def test_a_document_uploaded_with_the_form_is_stored_under_a_random_name(app, users):
    estate_id = in_db(app, lambda: _estate(0).id)
    response = users("manager_a").post("/fund_application/add", data=_add_form(
        estate_id, attachment=_scan("预算书.pdf")), content_type="multipart/form-data")
    assert response.status_code == 302, text_of(response)
    name = in_db(app, lambda: db.session.execute(
        select(FundApplication.attachment).where(FundApplication.title == "电梯更新")).scalar_one())
    assert STORED_NAME.match(name) and "预算书" not in name
    with app.app_context():
        assert (upload_folder() / name).read_bytes() == PDF


def test_the_owner_estates_users_download_the_document_from_its_show_page(app, users):
    estate_id = in_db(app, lambda: _estate(0).id)
    users("manager_a").post("/fund_application/add", data=_add_form(estate_id, attachment=_scan()),
                            content_type="multipart/form-data")
    pk, name = in_db(app, lambda: db.session.execute(
        select(FundApplication.id, FundApplication.attachment).where(FundApplication.title == "电梯更新")).one())
    page = text_of(users("committee_a").get(f"/fund_application/show/{pk}"))
    assert f'href="/fund_application/download/{name}"' in page and "下载" in page
    for user in ("manager_a", "committee_a", "staff_a"):
        response = users(user).get(f"/fund_application/download/{name}")
        assert response.status_code == 200, user
        assert response.data == PDF and "attachment" in response.headers["Content-Disposition"]


def test_another_estates_document_answers_404(app, users):
    def build():
        return _application(position=1, attachment=_stored_document())

    pk = in_db(app, build)
    name = in_db(app, lambda: db.session.get(FundApplication, pk).attachment)
    assert users("manager_a").get(f"/fund_application/download/{name}").status_code == 404
    assert users("committee_a").get(f"/fund_application/download/{name}").status_code == 404
    assert users("admin").get(f"/fund_application/download/{name}").status_code == 200


def test_a_file_of_the_upload_folder_that_no_row_names_answers_404(app, users):
    name = in_db(app, _stored_document)
    assert users("admin").get(f"/fund_application/download/{name}").status_code == 404
    assert users("admin").get("/fund_application/download/..%2Fsecret_key").status_code == 404


def test_a_document_of_another_type_is_refused_in_chinese_and_nothing_is_saved(app, users):
    estate_id = in_db(app, lambda: _estate(0).id)
    before = in_db(app, lambda: db.session.scalar(select(func.count()).select_from(FundApplication)))
    response = users("manager_a").post("/fund_application/add", data=_add_form(
        estate_id, attachment=_scan("setup.exe", b"MZ")), content_type="multipart/form-data")
    assert response.status_code == 200
    assert "只能上传 PDF、JPG 或 PNG 文件" in text_of(response)
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(FundApplication))) == before


def test_the_upload_field_reads_in_chinese(app, users):
    page = text_of(users("manager_a").get("/fund_application/add"))
    assert 'type="file"' in page and 'name="attachment"' in page
    assert _chinese(app, page) == set()


def test_documents_are_read_only_in_the_rest_api(app, users):
    info = users("admin").get("/api/v1/fund_application/_info").get_json()
    fields = {f["name"] for f in info["add_columns"]} | {f["name"] for f in info["edit_columns"]}
    assert "title" in fields and not {"attachment", "audit_report"} & fields


# -- the application's page -------------------------------------------------------------------------

def test_a_draft_offers_adding_a_building_or_unit_to_the_manager_only(app, users):
    pk = in_db(app, _application)
    page = text_of(users("manager_a").get(f"/fund_application/show/{pk}"))
    assert "添加楼栋或房屋" in page and f"/fund_scope/add?_flt_0_application={pk}" in page
    assert _chinese(app, page) == set()
    assert "添加楼栋或房屋" not in text_of(users("committee_a").get(f"/fund_application/show/{pk}"))


def test_the_scope_form_opened_from_the_application_is_preselected(app, users):
    pk = in_db(app, _application)
    page = text_of(users("manager_a").get(f"/fund_scope/add?_flt_0_application={pk}"))
    assert 'name="application"' not in page  # filled in from the link, not chosen again
    unit_id = in_db(app, lambda: db.session.execute(select(Unit.id).where(Unit.estate_id == _estate(0).id)
                                                    .order_by(Unit.id.desc()).limit(1)).scalar_one())
    response = users("manager_a").post(f"/fund_scope/add?_flt_0_application={pk}",
                                       data={"building": "__None", "unit": str(unit_id)})
    assert response.status_code == 302
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(FundScope)
                                                .where(FundScope.application_id == pk, FundScope.unit_id == unit_id))) == 1


def test_the_page_of_an_application_in_the_vote_links_the_tally_roll_and_ballots(app, users):
    pk = in_db(app, lambda: _application(state="voting"))
    page = text_of(users("committee_a").get(f"/fund_application/show/{pk}"))
    for link in (f"/fund_application/tally/{pk}", f"/vote_roll/list/?_flt_0_application={pk}",
                 f"/ballot/list/?_flt_0_application={pk}", f"/fund_application/print_ballots/{pk}"):
        assert link in page.replace("&amp;", "&"), link
    assert _chinese(app, page) == set()


def test_the_payment_preview_lists_each_share_and_highlights_a_short_unit(app, users):
    def build():
        pk = _application(state="settled")
        return pk, *_short_unit(pk)

    pk, _unit_id, name = in_db(app, build)
    page = text_of(users("manager_a").get(f"/fund_application/show/{pk}"))
    assert "划转分摊预览" in page and "余额不足" in page
    short_rows = re.findall(r'<tr class="danger short-unit">\s*<td>(.*?)</td>', page)
    assert short_rows == [name]
    total = re.search(r'<th class="fund-total">(.*?)</th>', page).group(1)
    assert Decimal(total) == Decimal("20000.00")
    shares = in_db(app, lambda: planned_shares(db.session, db.session.get(FundApplication, pk)))
    assert page.count("<tr class=") == len(shares)
    assert _chinese(app, page) == set()


def test_the_committee_approves_a_submitted_plan_with_its_button_and_publicity_starts(app, users):
    def build():
        pk = _application()
        _fire(db.session.get(FundApplication, pk), "submit")
        return pk

    pk = in_db(app, build)
    page = text_of(users("committee_a").get(f"/fund_application/show/{pk}"))
    assert f"/fund_application/transition/approve/{pk}" in page
    response = users("committee_a").post(f"/fund_application/transition/approve/{pk}", follow_redirects=True)
    assert ("success", "已审核通过并公示") in flashed(text_of(response))
    app_row = in_db(app, lambda: db.session.get(FundApplication, pk))
    assert app_row.state == "publicity" and app_row.publicity_from == TODAY


def test_no_payment_preview_before_the_cost_is_settled(app, users):
    pk = in_db(app, lambda: _application(state="voting"))
    assert "划转分摊预览" not in text_of(users("manager_a").get(f"/fund_application/show/{pk}"))


# -- the tally and paper ballots -----------------------------------------------------------------------

def test_the_tally_shows_areas_in_square_metres_with_four_thresholds(app, users):
    pk = in_db(app, lambda: _application(state="voting"))
    total = in_db(app, lambda: db.session.scalar(select(func.sum(VoteRoll.area)).where(VoteRoll.application_id == pk)))
    page = text_of(users("committee_a").get(f"/fund_application/tally/{pk}"))
    assert f"<th>总数</th><td>{total:.2f}</td>" in page
    assert page.count('class="tally-bar"') == 4 and "未达到" in page
    assert "录入纸质表决票" in page and 'class="form-control ajax-select"' in page
    assert _chinese(app, page) == set()


def test_the_tally_is_open_to_readers_but_only_the_committee_records_ballots(app, users):
    pk = in_db(app, lambda: _application(state="voting"))
    page = text_of(users("manager_a").get(f"/fund_application/tally/{pk}"))
    assert "专有部分面积" in page and "录入纸质表决票" not in page
    assert users("manager_a").get(f"/fund_application/roll_lookup/{pk}").status_code == 403


def test_the_unit_search_of_the_ballot_form_lists_only_units_that_have_not_voted(app, users):
    pk = in_db(app, lambda: _application(state="voting"))
    first = in_db(app, lambda: _roll_unit(pk))
    users("committee_a").post(f"/fund_application/ballot/{pk}", data={"unit": str(first), "choice": "no", "scan": _scan()},
                              content_type="multipart/form-data")
    found = users("committee_a").get(f"/fund_application/roll_lookup/{pk}").get_json()
    ids = {r["id"] for r in found["results"]}
    assert ids and first not in ids
    room = in_db(app, lambda: db.session.get(Unit, _roll_unit(pk, 1)).room_no)
    matched = users("committee_a").get(f"/fund_application/roll_lookup/{pk}?q={room}").get_json()["results"]
    assert matched and all(room in r["text"] for r in matched)


def test_a_paper_ballot_with_its_scan_is_recorded_once_and_a_second_is_refused(app, users):
    pk = in_db(app, lambda: _application(state="voting"))
    unit_id = in_db(app, lambda: _roll_unit(pk))
    committee = users("committee_a")
    first = committee.post(f"/fund_application/ballot/{pk}", data={"unit": str(unit_id), "choice": "no", "scan": _scan()},
                           content_type="multipart/form-data", follow_redirects=True)
    assert any(kind == "success" and text.startswith("已录入表决票：「反对」计入该业主在名册中的全部")
               for kind, text in flashed(text_of(first)))
    ballot = in_db(app, lambda: db.session.execute(select(Ballot).where(Ballot.application_id == pk)).scalar_one())
    assert (ballot.unit_id, ballot.choice, ballot.channel) == (unit_id, "no", "paper") and STORED_NAME.match(ballot.scan)
    assert committee.get(f"/ballot/download/{ballot.scan}").data == PDF
    files = in_db(app, lambda: len(list(upload_folder().iterdir())))
    second = committee.post(f"/fund_application/ballot/{pk}", data={"unit": str(unit_id), "choice": "yes", "scan": _scan()},
                            content_type="multipart/form-data", follow_redirects=True)
    assert ("danger", ONE_BALLOT) in flashed(text_of(second))
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.application_id == pk))) == 1
    assert in_db(app, lambda: len(list(upload_folder().iterdir()))) == files, "a refused ballot leaves no file"


def test_a_paper_ballot_without_its_scan_is_refused(app, users):
    pk = in_db(app, lambda: _application(state="voting"))
    unit_id = in_db(app, lambda: _roll_unit(pk))
    response = users("committee_a").post(f"/fund_application/ballot/{pk}", data={"unit": str(unit_id), "choice": "yes"},
                                         follow_redirects=True)
    assert ("danger", "纸质表决票须上传扫描件") in flashed(text_of(response))
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.application_id == pk))) == 0


def test_a_ballot_scan_of_another_type_is_refused(app, users):
    pk = in_db(app, lambda: _application(state="voting"))
    unit_id = in_db(app, lambda: _roll_unit(pk))
    response = users("committee_a").post(
        f"/fund_application/ballot/{pk}", data={"unit": str(unit_id), "choice": "yes", "scan": _scan("票.docx", b"x")},
        content_type="multipart/form-data", follow_redirects=True)
    assert ("danger", "只能上传 PDF、JPG 或 PNG 文件") in flashed(text_of(response))
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.application_id == pk))) == 0


def test_a_disk_that_fills_up_while_a_scan_is_written_records_nothing_and_leaves_no_file(app, users, monkeypatch):
    from werkzeug.datastructures import FileStorage

    def save_half_then_fill_the_disk(self, destination, buffer_size=16384):
        with open(destination, "wb") as out:
            out.write(self.stream.read(10))
        raise OSError(28, "No space left on device")

    pk = in_db(app, lambda: _application(state="voting"))
    unit_id = in_db(app, lambda: _roll_unit(pk))
    files = in_db(app, lambda: sorted(p.name for p in upload_folder().iterdir()))
    monkeypatch.setattr(FileStorage, "save", save_half_then_fill_the_disk)
    response = users("committee_a").post(f"/fund_application/ballot/{pk}", data={"unit": str(unit_id), "choice": "yes",
                                                                                "scan": _scan()},
                                         content_type="multipart/form-data", follow_redirects=True)
    assert ("danger", STORAGE_FAILED) in flashed(text_of(response))
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.application_id == pk))) == 0
    assert in_db(app, lambda: sorted(p.name for p in upload_folder().iterdir())) == files, "no truncated file left"


def test_a_manager_cannot_record_a_paper_ballot(app, users):
    pk = in_db(app, lambda: _application(state="voting"))
    unit_id = in_db(app, lambda: _roll_unit(pk))
    response = users("manager_a").post(f"/fund_application/ballot/{pk}",
                                       data={"unit": str(unit_id), "choice": "yes", "scan": _scan()},
                                       content_type="multipart/form-data")
    assert response.status_code == 403


def test_another_estates_application_answers_404_on_every_fund_page(app, users):
    pk = in_db(app, lambda: _application(position=1, state="voting"))
    unit_id = in_db(app, lambda: _roll_unit(pk))
    committee = users("committee_a")
    for url in (f"/fund_application/show/{pk}", f"/fund_application/tally/{pk}",
                f"/fund_application/print_ballots/{pk}", f"/fund_application/roll_lookup/{pk}"):
        assert committee.get(url).status_code == 404, url
    response = committee.post(f"/fund_application/ballot/{pk}", data={"unit": str(unit_id), "choice": "yes",
                                                                       "scan": _scan()}, content_type="multipart/form-data")
    assert response.status_code == 404
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.application_id == pk))) == 0


# -- printing ---------------------------------------------------------------------------------------------

def test_the_printed_ballots_carry_each_persons_code_for_the_committee(app, users):
    pk = in_db(app, lambda: _application(state="voting"))
    codes = in_db(app, lambda: set(db.session.execute(
        select(VoteRoll.code).where(VoteRoll.application_id == pk)).scalars()))
    page = text_of(users("committee_a").get(f"/fund_application/print_ballots/{pk}"))
    assert page.count('<section class="slip">') == len(codes)
    assert all(page.count(code) == 2 for code in codes)  # the slip and the roll
    assert "同意" in page and "反对" in page and "弃权" in page
    assert "fund_print.css" in page and not re.search(r'(?:src|href)="(?:https?:)?//', page)
    assert _chinese(app, page) == set()


def test_the_voting_codes_are_shown_to_no_one_but_the_committee(app, users):
    pk = in_db(app, lambda: _application(state="voting"))
    roll_id, code = in_db(app, lambda: db.session.execute(
        select(VoteRoll.id, VoteRoll.code).where(VoteRoll.application_id == pk).limit(1)).one())
    for user in ("manager_a", "staff_a", "official_jd"):
        client = users(user)
        assert client.get(f"/fund_application/print_ballots/{pk}").status_code == 403, user
        for url in (f"/vote_roll/show/{roll_id}", f"/api/v1/vote_roll/{roll_id}", f"/fund_application/tally/{pk}",
                    f"/fund_application/show/{pk}"):
            assert code not in text_of(client.get(url)), (user, url)


# -- the ledger ---------------------------------------------------------------------------------------------

def _deposit_entry(position: int = 0) -> int:
    estate = _estate(position)
    deposit_first(db.session, estate, Decimal("50"), TODAY)
    db.session.commit()
    return db.session.execute(select(FundEntry.id).where(FundEntry.estate_id == estate.id)
                              .order_by(FundEntry.id).limit(1)).scalar_one()


def _deposit_whose_unit_holds_it(spent: bool = False) -> int:
    """A deposit of the manager's estate whose unit still holds at least its amount (or, with
    ``spent``, one whose unit has since paid out more than the rest of its balance)."""
    from models.repair_fund import balances

    estate = _estate(0)
    deposit_first(db.session, estate, Decimal("50"), TODAY)
    db.session.commit()
    deposits = db.session.execute(select(FundEntry).where(FundEntry.estate_id == estate.id,
                                                          FundEntry.kind == "deposit")).scalars().all()
    held = balances(db.session, {d.unit_id for d in deposits})
    return next(d.id for d in deposits if (held[d.unit_id] < d.amount) is spent)


def test_an_entry_is_reversed_with_its_reason_from_its_page(app, users):
    pk = in_db(app, _deposit_whose_unit_holds_it)
    page = text_of(users("manager_a").get(f"/fund_entry/show/{pk}"))
    assert "冲正原因" in page and _chinese(app, page) == set()
    response = users("manager_a").post(f"/fund_entry/reverse/{pk}", data={"reason": "面积录错"}, follow_redirects=True)
    assert ("success", "已冲正") in flashed(text_of(response))
    correction = in_db(app, lambda: db.session.execute(select(FundEntry).where(FundEntry.reverses_id == pk)).scalar_one())
    original = in_db(app, lambda: db.session.get(FundEntry, pk))
    assert correction.amount == -original.amount and "面积录错" in correction.note
    assert "冲正原因" not in text_of(users("manager_a").get(f"/fund_entry/show/{pk}"))


def test_reversing_a_deposit_the_unit_has_partly_spent_is_refused_naming_the_unit(app, users):
    """No entry kind may take a 分户账 below zero: 冲正 of 7,142.00 on a balance of 1,609.08 is refused."""
    pk = in_db(app, lambda: _deposit_whose_unit_holds_it(spent=True))
    unit = in_db(app, lambda: str(db.session.get(FundEntry, pk).unit))
    response = users("manager_a").post(f"/fund_entry/reverse/{pk}", data={"reason": "面积录错"}, follow_redirects=True)
    [(category, message)] = flashed(text_of(response))
    assert category == "danger" and unit in message and "将为负数" in message
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(FundEntry)
                                                .where(FundEntry.reverses_id == pk))) == 0


def test_a_refund_larger_than_the_balance_is_refused_through_rest(app, users):
    from models.repair_fund import balances

    def unit_and_balance():
        entry = db.session.get(FundEntry, _deposit_whose_unit_holds_it())
        return entry.estate_id, entry.unit_id, balances(db.session, [entry.unit_id])[entry.unit_id]

    estate, unit, held = in_db(app, unit_and_balance)
    too_much = {"estate": estate, "unit": unit, "kind": "refund", "occurred_on": TODAY.isoformat(),
                "amount": str(-(held + Decimal("0.01")))}
    response = users("admin").post("/api/v1/fund_entry/", json=too_much)
    assert response.status_code in (400, 422) and "将为负数" in response.get_json()["message"]
    exact = {**too_much, "amount": str(-held)}
    assert users("admin").post("/api/v1/fund_entry/", json=exact).status_code == 201  # down to 0.00 is allowed


def test_a_reversal_without_a_reason_is_refused(app, users):
    pk = in_db(app, _deposit_entry)
    response = users("manager_a").post(f"/fund_entry/reverse/{pk}", data={"reason": " "}, follow_redirects=True)
    assert ("danger", "冲正须填写原因") in flashed(text_of(response))
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(FundEntry)
                                                .where(FundEntry.reverses_id == pk))) == 0


def test_reversing_is_refused_to_the_committee_and_to_another_estate(app, users):
    mine = in_db(app, _deposit_entry)
    theirs = in_db(app, lambda: _deposit_entry(1))
    assert "冲正原因" not in text_of(users("committee_a").get(f"/fund_entry/show/{mine}"))
    assert users("committee_a").post(f"/fund_entry/reverse/{mine}", data={"reason": "x"}).status_code == 403
    assert users("manager_a").post(f"/fund_entry/reverse/{theirs}", data={"reason": "x"}).status_code == 404
    assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(FundEntry)
                                                .where(FundEntry.reverses_id.is_not(None)))) == 0


def test_the_first_deposit_page_reads_in_chinese(app, users):
    page = text_of(users("manager_a").get("/fund_entry/deposit/"))
    assert "首期交存" in page and _chinese(app, page) == set()
    assert users("committee_a").get("/fund_entry/deposit/").status_code == 403


def test_the_top_up_warning_lists_short_units_of_the_users_estates_only(app, users):
    def build():
        pk = _application(state="settled")
        _unit_id, name = _short_unit(pk)
        _other_id, other = _short_unit(_application(position=1, state="settled"))
        return name, other

    mine, theirs = in_db(app, build)
    page = text_of(users("manager_a").get("/fund_entry/top_up/"))
    assert mine in page and theirs not in page
    assert "30%" in page and _chinese(app, page) == set()
    assert "续交预警" in text_of(users("manager_a").get("/fund_entry/list/"))
    assert theirs in text_of(users("admin").get("/fund_entry/top_up/"))


def test_the_unit_ledger_shows_every_entry_with_its_running_balance(app, users):
    def build():
        # a unit of its own, so that its ledger holds exactly the two entries written here
        estate = _estate(0)
        building = db.session.scalars(select(Building).where(Building.estate_id == estate.id)).first()
        unit = Unit(estate=estate, building=building, floor=1, room_no="账页101", floor_area=Decimal("88.00"))
        db.session.add(unit)
        db.session.flush()
        deposit_first(db.session, estate, Decimal("50"), TODAY)
        db.session.add(FundEntry(estate_id=estate.id, unit_id=unit.id, kind="interest",
                                 amount=Decimal("1.25"), occurred_on=TODAY, note="利息"))
        db.session.commit()
        return unit.id, Decimal("4400.00")  # 88.00 ㎡ × 50 元/㎡

    unit_id, deposit = in_db(app, build)
    unit_page = text_of(users("staff_a").get(f"/unit/show/{unit_id}"))
    assert f"/unit/fund_ledger/{unit_id}" in unit_page
    page = text_of(users("staff_a").get(f"/unit/fund_ledger/{unit_id}"))
    balances = re.findall(r"<td>(-?\d+\.\d\d)</td></tr>", page)
    assert balances == [f"{deposit:.2f}", f"{deposit + Decimal('1.25'):.2f}"]
    assert f'<strong class="fund-balance">{deposit + Decimal("1.25"):.2f}</strong>' in page
    assert _chinese(app, page) == set()


def test_the_unit_ledger_of_another_estates_unit_answers_404(app, users):
    unit_id = in_db(app, lambda: db.session.execute(select(Unit.id).where(Unit.estate_id == _estate(1).id)
                                                    .limit(1)).scalar_one())
    assert users("staff_a").get(f"/unit/fund_ledger/{unit_id}").status_code == 404


def test_every_generated_fund_page_reads_in_chinese_with_data_in_it(app, users):
    """The generic crawler needs fund rows (demo data): here they are built first."""
    from models.base import Menu, declared_entities
    from tests.pages import entity_pages

    def build():
        _application(state="voting", attachment=_stored_document())
        pk = _application(position=1, state="settled")
        _short_unit(pk)
        first = lambda model: db.session.execute(select(model.id).order_by(model.id.desc()).limit(1)).scalar()  # noqa: E731
        return [u for u in entity_pages(first) if any(u.startswith(f"/{m.__tablename__}/")
                                                       for m in declared_entities() if m.Admin.menu == Menu.FUND)]

    urls = in_db(app, build)
    assert any(u.startswith("/ballot/show/") for u in urls) and any(u.startswith("/fund_scope/edit/") for u in urls)
    offenders = {}
    for url in urls:
        response = users("admin").get(url, follow_redirects=True)  # a settled application's edit page leads back
        assert response.status_code == 200, url
        if words := _chinese(app, text_of(response)):
            offenders[url] = words
    assert offenders == {}
