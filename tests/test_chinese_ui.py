"""Every page a Chinese user opens reads in Chinese."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from models.base import declared_entities
from tests.pages import data_words, english_words, entity_pages, menu_pages, visible_text
from tests.support import login


def _first_id(model):
    return db.session.execute(select(model.id).order_by(model.id).limit(1)).scalar()


@pytest.fixture()
def admin_pages(app, admin_client):
    with app.app_context():
        urls = entity_pages(_first_id)
    return urls


def test_every_entity_has_list_add_show_and_edit_pages(admin_pages):
    expected = sum(2 + len({"add", "edit"} & m.Admin.actions) for m in declared_entities())
    assert len(admin_pages) == expected


def test_every_generated_page_shows_no_english_to_the_admin(app, admin_client, admin_pages):
    with app.app_context():
        data = data_words(db.session)
    offenders = {}
    for url in admin_pages:
        response = admin_client.get(url, follow_redirects=True)  # a frozen row's edit page leads back
        assert response.status_code == 200, url
        words = english_words(response.get_data(as_text=True), data)
        if words:
            offenders[url] = sorted(words)
    assert offenders == {}


def test_the_filter_panel_of_every_list_is_chinese(admin_client, admin_pages):
    html = admin_client.get("/unit/list/").get_data(as_text=True)
    assert "输入关键字搜索" in html and "按条件筛选" in html and "房屋状态" in html


@pytest.mark.parametrize("url", ["/", "/users/userinfo/", "/resetmypassword/form", "/nowhere"])
def test_shell_pages_and_error_pages_are_chinese(admin_client, url):
    response = admin_client.get(url)
    account_data = {"admin", "example", "com"}  # the user's own username and e-mail
    assert english_words(response.get_data(as_text=True)) - account_data == set(), url


def test_login_page_is_chinese(client):
    assert english_words(client.get("/login/").get_data(as_text=True)) == set()


def test_the_menu_groups_entities_by_module(admin_client):
    html = admin_client.get("/").get_data(as_text=True)
    for category in ("行政区划", "基础资料", "人员与组织", "车辆与停车", "设施设备"):
        assert category in html


def test_a_refused_delete_explains_itself_in_chinese(app, admin_client):
    with app.app_context():
        from models.estate import Estate

        estate_id = _first_id(Estate)
    response = admin_client.post(f"/estate/delete/{estate_id}", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "还有楼栋、" in html and "与它关联，不能删除" in html
    assert english_words(html) == set()


def test_a_delete_the_database_refuses_explains_itself_in_chinese(app, admin_client, monkeypatch):
    """A reference added between the check and the delete (another person, the same moment):
    the database refuses, in Chinese."""
    monkeypatch.setattr("views.interface.delete_refusals", lambda *_args: {})
    with app.app_context():
        from models.estate import Estate

        estate_id = _first_id(Estate)
    html = admin_client.post(f"/estate/delete/{estate_id}", follow_redirects=True).get_data(as_text=True)
    assert "该记录仍被其他数据引用，不能删除" in html
    assert english_words(html) == set()


def test_pages_of_other_roles_are_chinese_too(client, app):
    login(client, "official_jd")
    html = client.get("/").get_data(as_text=True)
    assert english_words(html) == set()


@pytest.mark.parametrize("user", ["manager_a", "staff_a", "committee_a", "official_jd"])
def test_every_list_page_and_its_filters_read_in_chinese_for_every_role(app, user):
    """The filter panel's options, placeholders and chips included; a filter on every closed
    list is applied so that its chip is read too."""
    from tests.support import client_of

    client = client_of(app, user)
    with app.app_context():
        data = data_words(db.session)
    offenders = {}
    for model in declared_entities():
        url = f"/{model.__tablename__}/list/"
        choices = [n for n in model.Admin.search_columns
                   if n in model.__table__.columns and "choices" in model.__table__.columns[n].info]
        query = "&".join(f"_flt_2_{n}={model.__table__.columns[n].info['choices'].codes[0]}" for n in choices)
        response = client.get(f"{url}?{query}&q=测试" if query else f"{url}?q=测试")
        if response.status_code in (302, 403):
            continue  # not this role's page
        assert response.status_code == 200, url
        words = english_words(response.get_data(as_text=True), data)
        if words:
            offenders[url] = sorted(words)
    assert offenders == {}


@pytest.mark.parametrize("user", ["admin", "manager_a", "staff_a", "committee_a", "official_jd"])
def test_every_page_of_every_menu_reads_in_chinese(app, user):
    """FAB's own pages and the hand-written ones too, as each role's sidebar offers them; and no
    list printed as Python writes it."""
    from tests.support import client_of

    client = client_of(app, user)
    with app.app_context():
        data = data_words(db.session) | {user, "example", "com"}  # the account's own name and e-mail
    pages = menu_pages(client)
    offenders = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        words = english_words(html, data)
        if "[" in visible_text(html):  # a list printed by Python: [物业员工], []
            words.add("[")
        if words:
            offenders[url] = sorted(words)
    assert len(pages) > 10 and offenders == {}


@pytest.mark.parametrize("user", ["manager_a", "admin"])
def test_the_pages_of_background_work_and_messages_are_chinese(app, user):
    from app import jobs
    from models.jobs import Job, notify
    from tests.support import client_of

    with app.app_context():
        person = app.appbuilder.sm.find_user(user)
        job = jobs.submit(db.session, "export", "房屋列表导出", user_id=person.id, params={})
        failed = jobs.submit(db.session, "bill_run", "账单", user_id=person.id, params={})
        failed.state, failed.message = "failed", "该小区不存在或已不在您的管辖范围内，账单未生成"
        notify(db.session, person.id, "「房屋列表导出」已完成", "共 3 行")
        db.session.commit()
        job_id = job.id
        data = data_words(db.session)
    client = client_of(app, user)
    pages = ["/my/downloads/", f"/my/jobs/{job_id}", "/my/inbox/", "/bill/runs/", "/bill/dunning/"]
    pages += ["/jobs/", "/jobs/?state=failed", "/delivery/list/"] if user == "admin" else []
    offenders = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        words = english_words(response.get_data(as_text=True), data)
        if words:
            offenders[url] = sorted(words)
    assert offenders == {}
