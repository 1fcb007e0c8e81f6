"""Navigation for people who are not technical: a sidebar of the menus each role works with,
breadcrumbs on every page, buttons that say what they do."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app import roles
from tests.support import client_of, text_of


def _sidebar(page: str) -> str:
    start = page.find('<nav class="app-sidebar"')
    return page[start:page.find("</nav>", start)]


def _groups(html: str) -> list[str]:
    found = re.findall(r'<details class="nav-group">\s*<summary>(.*?)</summary>', html, re.S)
    return [unescape(re.sub(r"<[^>]+>", " ", t)).strip() for t in found]


def _split(page: str) -> tuple[list[str], list[str]]:
    sidebar = _sidebar(page)
    more = sidebar.find('<details class="nav-more">')
    return _groups(sidebar[:more] if more >= 0 else sidebar), _groups(sidebar[more:]) if more >= 0 else []


@pytest.mark.parametrize("user, role", [("committee_a", roles.COMMITTEE), ("official_jd", roles.OFFICIAL),
                                        ("manager_a", roles.MANAGER), ("staff_a", roles.STAFF)])
def test_the_sidebar_leads_with_the_menus_the_role_works_with(app, user, role):
    first, more = _split(text_of(client_of(app, user).get("/")))
    assert first == [label for label in roles.NAVIGATION[role] if label in first]
    assert set(first) <= set(roles.NAVIGATION[role])
    assert not set(more) & set(roles.NAVIGATION[role])


def test_a_committee_member_finds_system_settings_and_facilities_only_under_more(app):
    first, more = _split(text_of(client_of(app, "committee_a").get("/")))
    assert "系统管理" not in first and "设施设备" not in first
    assert "系统管理" in more and "设施设备" in more  # still reachable: the grants are unchanged


def test_the_administrator_sees_every_menu_in_order(app):
    first, more = _split(text_of(client_of(app, "admin").get("/")))
    assert more == [] and "系统管理" in first and "维修资金" in first


def test_the_top_bar_holds_no_menus(app):
    page = text_of(client_of(app, "official_jd").get("/"))
    top = page[page.find('class="navbar navbar-inverse app-topbar"'):page.find('<div class="app-shell">')]
    assert "nav-group" not in top and top.count('class="dropdown"') == 1  # the user's own menu


@pytest.mark.parametrize("url, trail", [
    ("/unit/list/", ["工作台", "基础资料", "房屋列表"]),
    ("/unit/add", ["工作台", "基础资料", "房屋列表", "新增房屋"]),
    ("/dashboard/estate/", ["工作台"]),
])
def test_every_page_says_where_it_is(app, url, trail):
    page = text_of(client_of(app, "manager_a").get(url))
    crumbs = re.search(r'<ol class="breadcrumb">(.*?)</ol>', page, re.S).group(1)
    texts = [unescape(re.sub(r"<[^>]+>", "", t)).strip() for t in re.findall(r"<li[^>]*>(.*?)</li>", crumbs, re.S)]
    assert texts[: len(trail)] == trail


def test_a_record_page_links_back_to_its_list(app):
    manager = client_of(app, "manager_a")
    pk = re.search(r'href="/unit/show/(\d+)"', text_of(manager.get("/unit/list/"))).group(1)
    crumbs = re.search(r'<ol class="breadcrumb">(.*?)</ol>', text_of(manager.get(f"/unit/show/{pk}")), re.S).group(1)
    assert '<a href="/unit/list/">房屋列表</a>' in crumbs and "房屋详情" in crumbs


def test_new_and_back_buttons_carry_their_words(app):
    page = text_of(client_of(app, "manager_a").get("/unit/list/"))
    add = re.search(r'<a href="/unit/add"[^>]*>(.*?)</a>', page, re.S).group(1)
    assert "新增" in add  # shown (app.css makes the words visible next to the icon)
    from pathlib import Path

    css = (Path(app.root_path) / "static" / "css" / "app.css").read_text(encoding="utf-8")
    assert ".btn-sm > .sr-only { position: static" in css
