"""Browser tests: Debian's Chromium, driven by Playwright, against the app served on 127.0.0.1.

One browser per session, one live server per session (the session's seeded database, restored
before each test by tests/conftest.py), a fresh browser context per signed-in user per test.
Every page is watched (``Watch``): a request to any host but 127.0.0.1, a JS error, a console
error or a server error fails the test.

Without chromium (or the playwright package) the tests skip, unless REQUIRE_SERVICES=1 (CI):
then a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import got_request_exception
from werkzeug.serving import make_server

from tests.e2e.browser import ARGS, HOST, Users

ROOT = Path(__file__).resolve().parents[2]
#: every screenshot of the run (not committed; README pictures are copied to docs/screenshots)
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "build" / "screenshots"))

#: ports Chromium refuses to connect to (net/base/port_util.cc) above the ephemeral floor
_UNSAFE_PORTS = {1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666,
                 6667, 6668, 6669, 6679, 6697, 10080}


def _required() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "").strip().lower() in ("1", "true", "yes", "on")


def _missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    if shutil.which("chromium") is None:
        return "browser tests need Debian's chromium on PATH (apt install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need the playwright package (make setup installs the test extra)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if reason := _missing():
        pytest.fail(f"{reason}; REQUIRE_SERVICES=1 demands the browser suite", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # a loaded 2-core CI machine renders slowly
    chromium = shutil.which("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _free_port() -> int:
    while True:
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        if port not in _UNSAFE_PORTS:
            return port


class ServerErrors(list):
    """Exceptions raised while the live server answered (each one a failing test)."""

    def record(self, sender, exception: BaseException, **_) -> None:
        self.append(exception)


class PagesOneAtATime:
    """Static files in parallel, everything else one request at a time: FAB's views keep
    per-request state on the shared view object (FAB_NOTES), as gunicorn's sync workers do."""

    def __init__(self, app) -> None:
        self.app, self.lock = app, threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/static/"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The app on http://127.0.0.1:<free port>, served by a thread of this process."""
    server = make_server(HOST, _free_port(), PagesOneAtATime(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture()
def server_errors(app) -> Iterator[ServerErrors]:
    errors = ServerErrors()
    got_request_exception.connect(errors.record, app)
    try:
        yield errors
    finally:
        got_request_exception.disconnect(errors.record, app)


#: while a browser test runs: CSRF tokens checked as in production; a crash answered by the
#: Chinese 500 page (and recorded by ``server_errors``) rather than raised into werkzeug;
#: static files cached by the browser, which otherwise revalidates ~20 of them per page
BROWSER_CONFIG = {"WTF_CSRF_ENABLED": True, "PROPAGATE_EXCEPTIONS": False, "SEND_FILE_MAX_AGE_DEFAULT": 3600}


@pytest.fixture()
def browser_config(app) -> Iterator[None]:
    saved = {k: app.config.get(k) for k in BROWSER_CONFIG}
    app.config.update(BROWSER_CONFIG)
    try:
        yield
    finally:
        app.config.update(saved)


@pytest.fixture()
def shots(request) -> Path:
    """This test's screenshot folder (emptied first)."""
    name = re.sub(r"\W+", "_", request.node.name).strip("_")
    folder = SCREENSHOTS / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture()
def users(request, browser, live_server, app, browser_config, server_errors, shots) -> Iterator[Users]:
    """``users("manager_a")``: a page of a fresh context, signed in through the login page."""
    made = Users(browser, live_server, app.config["DEMO_PASSWORD"], server_errors, shots)
    try:
        yield made
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            made.failed()
        else:
            made.assert_clean()
    finally:
        made.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Fixtures learn whether the test itself failed (``item.report_call``)."""
    report = yield
    if report.when == "call":
        item.report_call = report
    return report


def pytest_collection_modifyitems(items) -> None:
    """Mark the browser tests; without a browser they skip before anything is set up,
    unless REQUIRE_SERVICES=1 (then the ``browser`` fixture fails them)."""
    here = Path(__file__).parent
    reason = _missing()
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if reason and not _required():
                item.add_marker(pytest.mark.skip(reason=f"{reason}; REQUIRE_SERVICES=1 makes this a failure"))
