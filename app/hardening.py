"""Web hardening FAB leaves to the application, one small function per concern.

``configure(app)`` runs before AppBuilder is initialised (it decides settings FAB's
extensions read at init); ``install(app)`` runs after every view is registered.
README section 安全 lists the rules; tests/test_hardening.py attacks each one.
"""

from __future__ import annotations

import secrets
from typing import Any

import prison
from flask import Flask, abort, current_app, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, user_logged_in
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from limits import parse_many
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.middleware.proxy_fix import ProxyFix

from views.errors import error_page

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

#: view endpoints that change data; FAB also routes GET to them
MUTATING_ENDPOINTS = frozenset({"delete", "action"})

#: both ways to log in share one limit (form and REST)
LOGIN_ENDPOINTS = frozenset({"AuthDBView.login", "SecurityApi.login"})

CSRF_TITLE = "页面已过期"
CSRF_TEXT = "页面已过期或缺少安全校验信息，本次提交未被处理。请刷新页面后重新操作。"

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'nonce-{nonce}'",
    # FAB's templates carry style="" attributes, and jQuery/Select2/ECharts write inline styles
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'self'",
))

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def configure(app: Flask) -> None:
    """Settings that must be decided before ``AppBuilder.init_app`` reads them."""
    # Flask-Limiter (created by FAB's security manager) reads this once, at init.
    # Unset means on; an app created for tests (TESTING) logs in hundreds of times from
    # 127.0.0.1, so there it is off unless the test asks for it.
    if app.config.get("RATELIMIT_ENABLED") is None:
        app.config["RATELIMIT_ENABLED"] = not app.testing


def install(app: Flask) -> None:
    user_known_before_checks(app)
    trust_proxy(app)
    secure_session_cookie(app)
    permanent_session_at_login(app)
    csrferror_page(app)
    csrf_for_cookie_authenticated_api(app)
    refuse_get_mutations(app)
    limit_login_attempts(app)
    limit_owner_forms(app)
    clamp_rest_paging(app)
    security_headers(app)


def user_known_before_checks(app: Flask) -> None:
    """FAB sets ``g.user`` in a before_request hook that runs after CSRFProtect's; a page
    refused before it (CSRF 400, 405, 429) could not render the menu. Set it first."""

    def set_g_user() -> None:
        g.user = current_user

    app.before_request_funcs.setdefault(None, []).insert(0, set_g_user)


# --- proxies and cookies -------------------------------------------------------------

def trust_proxy(app: Flask) -> None:
    """Behind one reverse proxy (TRUST_PROXY=1): client address and scheme from X-Forwarded-*.

    Off by default: otherwise anyone could claim another address (rate limits, logs) or
    HTTPS by sending the headers themselves.
    """
    if app.config.get("TRUST_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def secure_session_cookie(app: Flask) -> None:
    """HttpOnly and SameSite=Lax come from the config; Secure follows the request."""
    app.session_interface = SessionInterface()


def permanent_session_at_login(app: Flask) -> None:
    """A login lasts PERMANENT_SESSION_LIFETIME (SESSION_LIFETIME_HOURS) since the last request."""

    def make_permanent(sender: Flask, **_: Any) -> None:
        session.permanent = True

    user_logged_in.connect(make_permanent, sender=app, weak=False)


# --- CSRF and safe methods ----------------------------------------------------------

def csrferror_page(app: Flask) -> None:
    """A refused CSRF check is a 400 (CSRFError is a BadRequest), with its own explanation."""

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):
        return error_page(400, CSRF_TITLE, CSRF_TEXT)


def _jwt_user_id() -> str | None:
    """The user id of a valid ``Authorization: Bearer`` JWT on this request, if any."""
    from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request

    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    try:
        verify_jwt_in_request(optional=True)
    except Exception:  # expired, forged, wrong type: not authenticated by a token
        return None
    identity = get_jwt_identity()
    return None if identity is None else str(identity)


def csrf_for_cookie_authenticated_api(app: Flask) -> None:
    """FAB exempts its REST blueprints from CSRFProtect (they expect JWTs), but our APIs
    also accept the browser session (allow_browser_login). A state-changing call
    authenticated by the session cookie must carry the token (X-CSRFToken header);
    a call carrying the same user's valid bearer JWT is exempt. A browser cannot add an
    Authorization header to a cross-site request, so that exemption is safe.
    """
    csrf = app.extensions["csrf"]

    @app.before_request
    def protect_cookie_authenticated_api() -> None:
        if request.method in SAFE_METHODS or not request.path.startswith("/api/"):
            return
        if request.blueprint == "SecurityApi":
            return  # login (by password) and refresh (by refresh token): no cookie involved
        if not current_app.config.get("WTF_CSRF_ENABLED", True):
            return
        if not current_user.is_authenticated:
            return  # no session: FAB's own JWT check decides (login, token clients)
        if _jwt_user_id() == str(current_user.id):
            return
        csrf.protect()


def refuse_get_mutations(app: Flask) -> None:
    """FAB routes GET to /<view>/delete/<pk> and /<view>/action/<name>/<pk>; GET never
    changes data here (405). The UI deletes with a POST form carrying the CSRF token."""

    @app.before_request
    def refuse_get_on_mutating_endpoints() -> None:
        endpoint = request.endpoint or ""
        if request.method in ("GET", "HEAD") and endpoint.rpartition(".")[2] in MUTATING_ENDPOINTS:
            g.allow_methods = "POST"
            abort(405)

    @app.after_request
    def tell_allowed_method(response):
        if response.status_code == 405 and g.get("allow_methods"):
            response.headers["Allow"] = g.allow_methods  # the Chinese error page dropped it
        return response


# --- attempt limits: logins and the public owner forms -----------------------------

def take_allowance(setting: str, *identity: str) -> list[Any] | None:
    """One use of each limit in ``current_app.config[setting]`` ("5 per minute;30 per day")
    for ``identity``, each taken with one atomic increment in Flask-Limiter's storage (Redis
    in production, shared by every worker): the limits taken ([] with limiting off), or None
    as soon as one was used up already (what was taken before it stays taken)."""
    limiter = current_app.appbuilder.sm.limiter
    if not limiter.enabled:
        return []
    key = [current_app.config.get("RATELIMIT_KEY_PREFIX", ""), *identity]
    taken = []
    for item in parse_many(current_app.config[setting]):
        if not limiter.limiter.hit(item, *key):
            return None
        taken.append(item)
    return taken


_PERIODS = {"second": "秒", "minute": "分钟", "hour": "小时", "day": "天", "month": "个月", "year": "年"}


def limits_in_chinese(setting: str) -> str:
    """``current_app.config[setting]`` as a person reads it: "20 per hour;100 per day" → 每小时 20 次、每天 100 次."""
    return "、".join(f"每{item.multiples if item.multiples > 1 else ''}{_PERIODS[item.GRANULARITY.name]} {item.amount} 次"
                    for item in parse_many(current_app.config[setting]))


def give_back(taken: list[Any], *identity: str) -> None:
    """Returns what ``take_allowance`` took for ``identity``."""
    key = [current_app.config.get("RATELIMIT_KEY_PREFIX", ""), *identity]
    for item in taken:
        current_app.appbuilder.sm.limiter.limiter.hit(item, *key, cost=-1)


def limit_attempts(app: Flask, endpoints: frozenset[str], setting: str, scope: str, failed_flag: str) -> None:
    """``app.config[setting]`` failed attempts per client address on ``endpoints`` together;
    then 429, whatever is sent.

    Counted before the attempt is checked: each POST takes an attempt (``take_allowance``)
    and is refused when none was left; an attempt that succeeds (``g.<failed_flag>`` not
    set) gives its attempt back. Flask-Limiter's ``deduct_when`` checks before and counts
    after the response, so parallel guesses all passed the check before any was counted.
    Only failures stay counted, so colleagues logging in from one office address do not
    lock each other out.
    """
    if not app.appbuilder.sm.limiter.enabled or not app.config.get(setting):
        return

    @app.before_request
    def take_an_attempt() -> None:
        if request.method != "POST" or request.endpoint not in endpoints:
            return
        taken = take_allowance(setting, get_remote_address(), scope)
        if taken is None:
            abort(429)  # the refused request keeps what it took
        g.setdefault("attempts_taken", {})[scope] = taken

    @app.after_request
    def give_back_a_successful_attempt(response: Any) -> Any:
        if not g.get(failed_flag):
            give_back(g.get("attempts_taken", {}).pop(scope, []), get_remote_address(), scope)
        return response


def limit_login_attempts(app: Flask) -> None:
    """Both logins (form and REST) share AUTH_RATE_LIMIT. Replaces FAB's own limit, which
    counts successes too and leaves /api/v1/security/login unlimited."""
    if app.config.get("AUTH_RATE_LIMITED"):
        limit_attempts(app, LOGIN_ENDPOINTS, "AUTH_RATE_LIMIT", "login", "login_failed")


def limit_owner_forms(app: Flask) -> None:
    """The public owner forms (分户账 lookup, electronic vote) share PUBLIC_FORM_RATE_LIMIT
    refused attempts (so a wrong code on one does not buy more tries on the other)."""
    from views.public import OWNER_FORMS

    if "public" in app.blueprints:
        limit_attempts(app, OWNER_FORMS, "PUBLIC_FORM_RATE_LIMIT", "owner_forms", "public_refused")


# --- REST paging --------------------------------------------------------------------

MAX_PAGE_INDEX = 100_000


def clamp_rest_paging(app: Flask) -> None:
    """FAB caps a large REST ``page_size`` at FAB_API_MAX_PAGE_SIZE but passes a negative one,
    and a negative or huge ``page``, on to SQL (PostgreSQL: LIMIT and OFFSET must not be
    negative, nor beyond BIGINT). Clamped here, whether ``q`` is written in Rison or JSON."""
    from app.request_args import rest_query

    @app.before_request
    def clamp_rest_page_index() -> None:
        if request.method != "GET" or not request.path.startswith("/api/"):
            return
        q = rest_query(request.args)
        if not isinstance(q, dict):
            return  # no q, or FAB answers it with 400
        page, size = q.get("page"), q.get("page_size")
        clamped = dict(q)
        if isinstance(page, int) and not 0 <= page <= MAX_PAGE_INDEX:
            clamped["page"] = min(max(page, 0), MAX_PAGE_INDEX)
        largest = current_app.config["FAB_API_MAX_PAGE_SIZE"]
        if isinstance(size, int) and not 1 <= size <= largest:
            clamped["page_size"] = largest  # FAB reads -1 as "all": as many as allowed
        if clamped != q:
            args = [(k, v) for k, v in request.args.items(multi=True) if k != "q"]
            request.args = ImmutableMultiDict([*args, ("q", prison.dumps(clamped))])


# --- response headers ---------------------------------------------------------------

def csp_nonce() -> str:
    """This request's script nonce; FAB's templates read it as ``csp_nonce()`` (baselib.get_nonce)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def security_headers(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def add_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP.format(nonce=csp_nonce()))
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
