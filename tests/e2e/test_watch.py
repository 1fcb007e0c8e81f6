"""The watch on every page catches what it promises to (else every scenario passes blindly)."""

from __future__ import annotations

import pytest


@pytest.fixture()
def visitor(users):
    person = users()
    person.visit("/login/")
    return person


def test_a_request_to_another_host_fails_the_page(visitor):
    # our pages' CSP would block it first; a blank page of the same context has none
    blank = visitor.context.new_page()
    with blank.expect_request("http://cdn.example.com/**"):
        blank.set_content('<script src="http://cdn.example.com/jquery.js"></script>')
    with pytest.raises(AssertionError, match=r"request leaves 127\.0\.0\.1: GET http://cdn\.example\.com/jquery\.js"):
        visitor.check()


def test_an_uncaught_js_error_fails_the_page(visitor):
    with visitor.page.expect_event("pageerror"):
        visitor.page.evaluate("setTimeout(() => { throw new Error('坏了') })")
    with pytest.raises(AssertionError, match="JS error: .*坏了"):
        visitor.check()


def test_a_script_refused_by_the_content_security_policy_fails_the_page(visitor):
    with visitor.page.expect_console_message(lambda m: m.type == "error"):
        visitor.page.evaluate(
            "document.body.appendChild(Object.assign(document.createElement('script'), {textContent: '1'}))")
    with pytest.raises(AssertionError, match="console error .*Content Security Policy"):
        visitor.check()


def test_a_page_answered_with_an_unexpected_status_fails(visitor):
    with pytest.raises(AssertionError, match="answered 404, expected 200"):
        visitor.visit("/no-such-page/")
    with pytest.raises(AssertionError, match="status of 404"):
        visitor.check()
