"""Settings read once at start-up (environment first, then these defaults)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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


class Config:
    APP_NAME = "物业管理后台"
    APP_ICON = ""
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'app.db'}"
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    AUTH_TYPE = 1  # AUTH_DB
    AUTH_ROLE_ADMIN = "系统管理员"
    AUTH_ROLE_PUBLIC = "Public"
    FAB_ADD_SECURITY_API = False  # crashes init on FAB 5.3.0 (FAB_NOTES)
    # Migrations own the schema and `flask sync-roles` owns permissions; web
    # workers never write either (several workers syncing at once race).
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    FAB_API_SWAGGER_UI = False

    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    LANGUAGES = {"zh": {"flag": "cn", "name": "简体中文"}}

    FAB_API_MAX_PAGE_SIZE = 100
    #: list pages: default and largest page size a user may ask for
    PAGE_SIZE = 25
    MAX_PAGE_SIZE = 100

    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)
    WTF_CSRF_ENABLED = True
