"""What a browser test works with: a signed-in person (``Person``) whose pages are watched.

A ``Person`` is one browser context (own cookies) with one page. Everything that goes wrong
on the way is collected by its ``Watch`` and fails the test at the next check:
a request to another host than 127.0.0.1, an uncaught JS error, a console error, an answer
5xx, an exception in the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HOST = "127.0.0.1"

#: Debian's chromium as the project runs it; the proxy is a dead end so that, should a page
#: ever ask for another host, nothing leaves the machine (loopback bypasses proxies)
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--proxy-server=http://127.0.0.1:9",
]

#: Chrome's console line for a resource answered 4xx/5xx (the URL is in the message location)
_FAILED_RESOURCE = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")


@dataclass
class Watch:
    """Problems seen on one context's pages."""

    server_errors: list
    problems: list[str] = field(default_factory=list)
    #: (path, status) answers the test expects (a refusal page); Chrome logs them as errors
    expected: set[tuple[str, int]] = field(default_factory=set)

    def on_request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.hostname != HOST:
            self.problems.append(f"request leaves {HOST}: {request.method} {request.url}")

    def on_response(self, response: Any) -> None:
        if response.status >= 500 and (urlsplit(response.url).path, response.status) not in self.expected:
            self.problems.append(f"server answered {response.status}: {response.request.method} {response.url}")

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        failed = _FAILED_RESOURCE.match(message.text)
        where = (message.location or {}).get("url") or (message.page.url if message.page else "?")
        if failed and (urlsplit(where).path, int(failed.group(1))) in self.expected:
            return
        self.problems.append(f"console error on {where}: {message.text}")

    def on_pageerror(self, error: Any) -> None:
        self.problems.append(f"JS error: {error}")

    def take(self) -> list[str]:
        found = self.problems + [f"server exception: {e!r}" for e in self.server_errors]
        self.problems.clear()
        self.server_errors.clear()
        return found


class Person:
    """One user in one fresh browser context."""

    def __init__(self, users: "Users", username: str | None) -> None:
        self.users = users
        self.username = username or "anonymous"
        #: clicks and typed fields of this person, counted by the tests of daily tasks
        self.interactions = 0
        self.context = users.browser.new_context(
            base_url=users.base_url, locale="zh-CN", timezone_id="Asia/Shanghai",
            viewport={"width": 1366, "height": 860}, accept_downloads=True,
        )
        self.context.set_default_timeout(15_000)
        self.watch = Watch(users.server_errors)
        self.context.on("request", self.watch.on_request)
        self.context.on("response", self.watch.on_response)
        self.context.on("console", self.watch.on_console)
        self.context.on("page", lambda page: page.on("pageerror", self.watch.on_pageerror))  # new_page() too
        self.page = self.context.new_page()
        if username is not None:
            self.log_in(username)

    # -- checks ----------------------------------------------------------------------
    def check(self) -> None:
        problems = self.watch.take()
        assert not problems, f"{self.username} on {self.page.url}:\n" + "\n".join(problems)

    # -- moving around -------------------------------------------------------------------
    def visit(self, path: str, status: int = 200):
        """Open a page and wait until it has loaded; ``status`` other than 200: the
        refusal the test expects (its console line is then not an error)."""
        if status != 200:
            self.watch.expected.add((urlsplit(path).path, status))
        response = self.page.goto(path)
        assert response is not None and response.status == status, (
            f"{self.username}: GET {path} answered {response and response.status}, expected {status}")
        self.check()
        return response

    def submit(self, button, *, confirm: bool | None = None) -> str | None:
        """Click something that loads a new page (a form's submit, a link) and wait for it.

        An irreversible step first asks in a dialog: it is answered 确定 and its question
        returned. ``confirm`` True/False: whether the test expects that dialog."""
        question = None
        with self.page.expect_navigation():
            button.click()
            dialog = self.page.locator("dialog.confirm-dialog[open]")
            if dialog.count():
                question = dialog.locator(".confirm-text").inner_text()
                self.interactions += 1
                dialog.get_by_role("button", name="确定").click()
        if confirm is not None:
            assert (question is not None) == confirm, f"{self.username}: confirmation expected={confirm}, got {question!r}"
        self.check()
        return question

    def log_in(self, username: str) -> None:
        page = self.page
        self.visit("/login/")
        page.locator("#username").fill(username)
        page.locator("#password").fill(self.users.password)
        self.submit(page.locator("input[type=submit]"))
        assert urlsplit(page.url).path != "/login/", f"{username} could not log in: {page.url}"

    # -- forms ---------------------------------------------------------------------------
    def fill(self, field: str, value: str) -> None:
        self.page.locator(f"#{field}").fill(value)

    def date(self, field: str, value: str) -> None:
        """A date field with its picker: typed key by key (the picker reads keystrokes and
        would otherwise reset the field when it closes), then the picker closed."""
        box = self.page.locator(f"#{field}")
        box.clear()
        box.press_sequentially(value)
        box.press("Escape")
        expect_value(box, value)

    def choose(self, field: str, text: str) -> None:
        """Pick an option of a Select2 box as a person does: open it, type, click the match."""
        page = self.page
        page.locator(f"#select2-{field}-container").click()
        search = page.locator(".select2-container--open .select2-search__field")
        if search.count() and search.is_visible():
            search.fill(text)
        page.locator(".select2-container--open .select2-results__option", has_text=text).first.click()
        expect_text(page.locator(f"#select2-{field}-container"), text)

    def unfold(self, label: str) -> None:
        """Open a record page's folded panel (a related list) and wait until it is open. A click
        that lands before the panel's script is ready does nothing: it is clicked again."""
        toggle = self.page.locator("a.accordion-toggle", has_text=label)
        body = self.page.locator(toggle.get_attribute("href"))
        for _ in range(3):
            if "in" not in (body.get_attribute("class") or "").split():
                toggle.click()
            try:
                expect(body).to_have_class(re.compile(r"\bcollapse in\b"), timeout=5000)  # its animation done
                return
            except AssertionError:
                continue
        raise AssertionError(f"{self.username}: the panel 「{label}」 did not open")

    def save(self) -> None:
        """Submit the entity form; it must be accepted (no field or flashed error)."""
        self.submit(self.page.locator("#model_form button[type=submit]"))
        errors = self.page.locator(".has-error").all_inner_texts() + self.page.locator(".alert-danger").all_inner_texts()
        assert not errors, f"{self.username}: the form was refused: {[' '.join(e.split()) for e in errors]}"

    def fire(self, label: str, comment: str = "") -> str | None:
        """Press a workflow button on a record's page (with an optional 意见); returns the
        confirmation question it asked, if any (it must name the step)."""
        page = self.page
        if comment:
            page.locator(".workflow-actions #comment").fill(comment)
        question = self.submit(page.locator(".workflow-actions button", has_text=label))
        assert question is None or label in question, question
        expect_text(page.locator(".alert-success"), f"已{label}")
        return question

    def rows(self, has_text: str | None = None):
        """The rows of the list page shown (not those of the search form)."""
        rows = self.page.locator("table.table-hover:not(.filters) > tbody > tr")
        return rows.filter(has_text=has_text) if has_text else rows

    def record_count(self) -> int:
        text = self.page.locator("strong", has_text="记录数").locator("xpath=..").inner_text()
        return int(re.search(r"记录数:\s*(\d+)", text).group(1))

    def flashed(self) -> list[str]:
        return [t.strip() for t in self.page.locator(".alert").all_inner_texts()]

    def shot(self, name: str, *, full_page: bool = False, readme: str | None = None) -> Path:
        """A screenshot of what this person sees now (build/screenshots/<test>/NN-user-name.png);
        ``readme``: also build/screenshots/readme/<readme>.png, which `make screenshots`
        copies to docs/screenshots/ for the README."""
        self.users.shot_count += 1
        path = self.users.shots / f"{self.users.shot_count:02d}-{self.username}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        if readme:
            published = self.users.shots.parent / "readme" / f"{readme}.png"
            published.parent.mkdir(parents=True, exist_ok=True)
            published.write_bytes(path.read_bytes())
        return path

    def close(self) -> None:
        self.context.close()


def expect(target: Any):
    """Playwright's retrying assertions, imported when used: without the package the
    test modules still load and the tests skip with their reason (conftest.py)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def expect_text(locator: Any, text: str) -> None:
    expect(locator).to_contain_text(text)


def expect_value(locator: Any, value: str) -> None:
    expect(locator).to_have_value(value)


class Users:
    """The people of one test; each call signs one more in (None: anonymous)."""

    def __init__(self, browser: Any, base_url: str, password: str, server_errors: list, shots: Path) -> None:
        self.browser, self.base_url, self.password = browser, base_url, password
        self.server_errors, self.shots = server_errors, shots
        self.shot_count = 0
        self.people: list[Person] = []

    def __call__(self, username: str | None = None) -> Person:
        person = Person(self, username)
        self.people.append(person)
        return person

    def failed(self) -> None:
        """The test failed: keep what each person saw last."""
        for person in self.people:
            try:
                person.shot("failure", full_page=True)
            except Exception:  # a closed page has nothing to show
                pass

    def assert_clean(self) -> None:
        for person in self.people:
            person.check()

    def close(self) -> None:
        for person in self.people:
            person.close()
