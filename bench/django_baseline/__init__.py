"""The second baseline: Django admin over the SAME tables and data.

What a competent Django team would build instead of the product's pages: unmanaged
models mapped on the existing tables, ``ModelAdmin``s with the same columns, filters,
search, order and 25 rows per page, ``list_select_related`` for what the rows show,
no full result count, and the manager's estate applied in ``get_queryset``. Django's
own tables (users, sessions, permissions) are created in the bench's working copy of
the database, as a deployment would; its users are the product's manager and official.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from bench.pages import USERS

APP_LABEL = "bench_admin"


def database_settings(url: str) -> dict:
    """Django's DATABASES entry for one of the bench's SQLAlchemy URLs."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url.split(":///", 1)[1]}
    return {
        "ENGINE": "django.db.backends.postgresql", "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""), "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "", "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": None,  # one connection kept, as the Flask apps keep their pool
    }


def setup(url: str) -> None:
    """Configures Django for this process and creates its own tables and the two users."""
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="django-admin-baseline",
        ALLOWED_HOSTS=["testserver", "localhost"],
        DATABASES={"default": database_settings(url)},
        INSTALLED_APPS=[
            "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
            "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
            "bench.django_baseline",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        ROOT_URLCONF="bench.django_baseline.urls",
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]},
        }],
        LANGUAGE_CODE="zh-hans", USE_I18N=True, USE_TZ=False, TIME_ZONE="Asia/Shanghai",
        STATIC_URL="/static/", DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        # the product's own passwords are not Django's: the bench logs in with force_login
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    _scope_table()
    _users()


def _scope_table() -> None:
    """The one managed table of the baseline, after Django's own (it refers to auth_user)."""
    from django.db import connection

    from bench.django_baseline.models import StaffScope

    if StaffScope._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(StaffScope)


def _users() -> None:
    from django.contrib.auth.models import Permission, User

    from bench.django_baseline.models import Estate, StaffScope

    flagship = Estate.objects.get(code="BJCY0001")
    view = list(Permission.objects.filter(content_type__app_label=APP_LABEL, codename__startswith="view_"))
    for key, username in USERS.items():
        user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        user.user_permissions.set(view)
        StaffScope.objects.update_or_create(user=user, defaults={"estate": flagship if key == "manager" else None})


def client(key: str):
    """A logged-in test client of one of the two users (Django's session, in the database)."""
    from django.contrib.auth.models import User
    from django.test import Client

    browser = Client()
    browser.force_login(User.objects.get(username=USERS[key]))
    return browser
