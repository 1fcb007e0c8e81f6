"""Application factory of 物业管理后台."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.config import INSTANCE, ROOT


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    from flask_appbuilder import AppBuilder
    from flask_wtf import CSRFProtect

    import models  # noqa: F401  (registers every declared entity)
    from app import audit, cli, database, hardening, jobs, request_args, roles, scoping
    from app import outbox, reminders  # noqa: F401  (register the sending and the daily reminder)
    from app.extensions import db, migrate
    from app.security import AppSecurityManager
    from models import clock, workflow
    from views import api_zh, dashboard, list_table, navbar, people, registry
    from views import jobs as job_pages
    from views.errors import register_error_pages
    from views.history import local_time
    from views.home import HomeView
    from views.public import public

    app = Flask(
        __name__,
        instance_path=str(INSTANCE),
        template_folder=str(ROOT / "app" / "templates"),
        static_folder=str(ROOT / "app" / "static"),
    )
    app.config.from_object("app.config.Config")
    app.config.update(overrides or {})
    INSTANCE.mkdir(parents=True, exist_ok=True)
    clock.configure(app.config["TIME_ZONE"])

    with app.app_context():
        db.init_app(app)
        database.configure(db)
        audit.install(db)
        scoping.install()
        workflow.install()
        roles.install()
        for listener in (audit.record_transition, outbox.announce_to_owners):
            if listener not in workflow.TRANSITION_LISTENERS:
                workflow.TRANSITION_LISTENERS.append(listener)
        migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
        CSRFProtect(app)
        hardening.configure(app)
        appbuilder = AppBuilder(
            security_manager_class=AppSecurityManager,
            indexview=HomeView,
            base_template="layout.html",
        )
        appbuilder.init_app(app, db.session)
        api_zh.install()
        api_zh.answer_token_refusals_in_chinese(appbuilder.sm.jwt_manager)
        api_zh.openapi_in_chinese(app)
        dashboard.register(appbuilder)  # first in the menu
        registry.register(appbuilder)
        job_pages.register(appbuilder)
        register_error_pages(app)
        app.register_blueprint(public)
        app.add_template_filter(local_time, "local_time")
        navbar.install(app)
        list_table.install(app)
        people.register(app)
        request_args.install(app)
        hardening.install(app)
        cli.register(app)
        jobs.bind(app)
    return app
