"""Settings read once at start-up (environment first, then these defaults)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from app.roles import ADMIN

from app.security import password_complexity

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("INSTANCE_PATH", ROOT / "instance"))

#: documented in the README; accepted only on a loopback-bound server (app.security)
DEMO_PASSWORD_DEFAULT = "Demo@2026"


def _secret_key() -> str:
    """A per-installation key kept in instance/, so sessions survive restarts."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _flag(name: str, default: bool | None = False) -> bool | None:
    """An on/off environment variable (1/true/yes/on), or ``default`` when unset."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def database_url(url: str | None) -> str | None:
    """``postgresql://`` (what people write) means the psycopg 3 driver we install."""
    if url:
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    APP_NAME = "物业管理后台"
    APP_ICON = ""
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL")) or f"sqlite:///{INSTANCE / 'app.db'}"
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # uploaded documents (views.uploads); FAB's upload fields read the same two settings
    UPLOAD_FOLDER = str(INSTANCE / "uploads") + "/"
    FILE_ALLOWED_EXTENSIONS = ("pdf", "jpg", "jpeg", "png")
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    #: files of background exports (「我的下载」, app/jobs.py), deleted when they expire
    DOWNLOAD_FOLDER = os.environ.get("DOWNLOAD_FOLDER", str(INSTANCE / "downloads"))
    #: run each job as it is submitted, in the submitting process (tests; no consumer needed)
    JOBS_IMMEDIATE = bool(_flag("JOBS_IMMEDIATE"))
    #: a restarted PostgreSQL or a connection a firewall dropped costs a reconnect, not an error page
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    AUTH_TYPE = 1  # AUTH_DB
    AUTH_ROLE_ADMIN = ADMIN  # the role matrix names the roles
    AUTH_ROLE_PUBLIC = "Public"
    FAB_ADD_SECURITY_API = False  # crashes init on FAB 5.3.0 (FAB_NOTES)
    # Migrations own the schema and `flask sync-roles` owns permissions; web
    # workers never write either (several workers syncing at once race).
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    #: the REST API described (/api/v1/_openapi) with FAB's local Swagger UI (/swagger/v1): administrators only
    FAB_API_SWAGGER_UI = True
    # permissions, view menus and their pairs are raw English names (can_list on UnitView);
    # roles are declared in app/roles.py and shown in Chinese on the role pages instead
    FAB_ADD_SECURITY_PERMISSION_VIEW = False
    FAB_ADD_SECURITY_VIEW_MENU_VIEW = False
    FAB_ADD_SECURITY_PERMISSION_VIEWS_VIEW = False

    BABEL_DEFAULT_LOCALE = "zh"
    # every "today" and "now" of the product (models/clock.py), never the server's zone
    TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
    BABEL_DEFAULT_TIMEZONE = TIME_ZONE
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    LANGUAGES = {"zh": {"flag": "cn", "name": "简体中文"}}

    FAB_API_MAX_PAGE_SIZE = 100
    #: list pages: default and largest page size a user may ask for
    PAGE_SIZE = 25
    MAX_PAGE_SIZE = 100
    #: a list page counts matching rows up to this many and then shows "10,000+": counting all
    #: 1.3 million bills of a city-wide official costs more than the page itself
    LIST_COUNT_CAP = int(os.environ.get("LIST_COUNT_CAP", "10000"))

    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)

    # --- Security (app/hardening.py; README 安全) ---
    WTF_CSRF_ENABLED = True
    #: a CSRF token lives as long as the session (Flask-WTF's 1 h default fails forms left open)
    WTF_CSRF_TIME_LIMIT = None

    #: login attempts: failed attempts per client address, form and REST login together
    AUTH_RATE_LIMITED = True
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per minute")
    #: refused 分户账 lookups and electronic votes per client address (views/public.py)
    PUBLIC_FORM_RATE_LIMIT = os.environ.get("PUBLIC_FORM_RATE_LIMIT", "5 per minute;30 per day")
    #: searches by a whole 手机号/证件号码 per user who sees them masked (views/masking.py)
    PERSONAL_LOOKUP_RATE_LIMIT = os.environ.get("PERSONAL_LOOKUP_RATE_LIMIT", "20 per hour;100 per day")
    #: None = on, except in apps created with TESTING (tests that check it pass True)
    RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", None)
    #: per process; with several workers use Redis, e.g. redis://localhost:6379/0
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    #: several installations may share one Redis
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "wuye")
    RATELIMIT_HEADERS_ENABLED = True

    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    FAB_PASSWORD_COMPLEXITY_VALIDATOR = password_complexity

    #: behind nginx/a load balancer: trust one hop of X-Forwarded-For / -Proto
    TRUST_PROXY = _flag("TRUST_PROXY")
    #: always mark the session cookie Secure (it is anyway on HTTPS requests)
    SESSION_COOKIE_SECURE = bool(_flag("SESSION_COOKIE_SECURE"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_LIFETIME_HOURS = int(os.environ.get("SESSION_LIFETIME_HOURS", "8"))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=SESSION_LIFETIME_HOURS)
