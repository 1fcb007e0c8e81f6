"""The product works with no internet: every page and asset is served by us."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlparse

from sqlalchemy import select

from app.extensions import db
from tests.pages import entity_pages, menu_pages

_REF = re.compile(r"""(?:src|href|action)\s*=\s*["']([^"']+)["']""", re.I)
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
_ABSOLUTE = re.compile(r"""(?:https?:)?//[\w.-]+\.[a-z]{2,}""", re.I)


def _crawl_urls(app, admin_client) -> list[str]:
    """The generated pages of every entity and every page of the administrator's menu."""
    with app.app_context():
        generated = entity_pages(lambda m: db.session.execute(select(m.id).limit(1)).scalar())
    return sorted({"/", "/login/", *generated, *menu_pages(admin_client)})


def _page(client, url: str) -> str:
    # a frozen row's edit page leads back with why: the page read is the one reached
    return client.get(url, follow_redirects=True).get_data(as_text=True)


def _references(text: str, base: str) -> set[str]:
    found = set(_REF.findall(text)) | set(_CSS_URL.findall(text))
    return {urljoin(base, ref) for ref in found if not ref.startswith(("data:", "#", "javascript:", "mailto:"))}


def test_no_page_refers_to_an_external_host(app, admin_client):
    external = {}
    for url in _crawl_urls(app, admin_client):
        html = _page(admin_client, url)
        refs = [r for r in _references(html, url) if urlparse(r).netloc]
        if refs:
            external[url] = refs
    assert external == {}


def test_every_script_stylesheet_and_font_is_served_locally(app, admin_client):
    pages = _crawl_urls(app, admin_client)
    assets: set[str] = set()
    for url in pages:
        html = _page(admin_client, url)
        assets |= {r for r in _references(html, url) if "/static/" in r or "/appbuilder/" in r}
    missing, external = [], []
    seen: set[str] = set()
    while assets:
        asset = assets.pop()
        if asset in seen:
            continue
        seen.add(asset)
        response = admin_client.get(asset.split("#")[0])
        if response.status_code != 200:
            missing.append(asset)
            continue
        if asset.split("?")[0].endswith(".css"):
            css = response.get_data(as_text=True)
            external += [u for u in _CSS_URL.findall(css) if _ABSOLUTE.match(u)]
            assets |= {urljoin(asset, u) for u in _CSS_URL.findall(css)
                       if not u.startswith("data:") and not _ABSOLUTE.match(u)}
    assert missing == [] and external == []
    assert any(a.endswith(".js") for a in seen) and any(".woff" in a or ".ttf" in a for a in seen)


#: hosts that scripts name without loading anything from them: XML namespaces, licences, home pages
_REFERENCE_HOSTS = {"www.w3.org", "www.apache.org", "github.com", "getbootstrap.com"}


def test_scripts_we_serve_do_not_load_code_from_the_internet(app, admin_client):
    """A local loader that fetches its library from a CDN (FAB's google_charts.js does) leaves
    the page blank on an estate's offline network: no script of any page names another host."""
    scripts: set[str] = set()
    for url in _crawl_urls(app, admin_client):
        html = _page(admin_client, url)
        scripts |= {s for s in _REF.findall(html) if s.split("?")[0].endswith(".js")}
    offenders = {}
    for src in sorted(scripts):
        body = admin_client.get(src).get_data(as_text=True)
        hosts = {urlparse(u).netloc for u in re.findall(r"https?://[\w.-]+", body)} - _REFERENCE_HOSTS
        if hosts:
            offenders[src] = sorted(hosts)
    assert offenders == {}
