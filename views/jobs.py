"""A person's own background work and messages: 「我的下载」, a job's page, 「站内消息」.

Every signed-in user has these pages (app/roles.OWN_ACCOUNT). A job is seen by whoever asked
for it; a scheduled one (nobody asked) by the people whose scope holds its estate. A file is
served only to its owner, only while it has not expired: any other id is 404.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select, update

from app import jobs
from app.extensions import db
from models import clock
from models.jobs import OPEN_STATES, Job, Notification, unread_count
from models.settings import Settings
from views.excel import XLSX_MIME

#: messages per inbox page
INBOX_PAGE = 50


def _visible(job: Job | None) -> Job:
    """One's own jobs; and a bill run of an estate in one's scope to whoever may read its
    bills (the run history). An export is its owner's alone: it holds what they may see."""
    from app.scoping import current_estate_ids

    if job is None:
        abort(404)
    if job.user_id == g.user.id:
        return job
    if job.kind == "bill_run" and current_app.appbuilder.sm.has_access("can_list", "BillView"):
        scope = current_estate_ids()
        if scope is None or job.estate_id in scope:
            return job
    abort(404)


class MyJobsView(BaseView):
    route_base = "/my"
    default_view = "downloads"

    @expose("/downloads/")
    @has_access
    @permission_name("mine")
    def downloads(self):
        query = (select(Job).where(Job.user_id == g.user.id, Job.kind == "export")
                 .order_by(Job.id.desc()).limit(100))
        found = db.session.execute(query).scalars().all()
        threshold = Settings.current(db.session).export_background_rows
        return self.render_template("jobs/downloads.html", title="我的下载", jobs=found, threshold=threshold,
                                    progress={job.id: jobs.progress_of(job.id) for job in found
                                              if job.state == "running"})

    @expose("/jobs/<int:pk>")
    @has_access
    @permission_name("mine")
    def job(self, pk: int):
        job = _visible(db.session.get(Job, pk))
        return self.render_template("jobs/job.html", title=job.title, job=job, progress=jobs.progress_of(pk),
                                    waiting=job.state in OPEN_STATES)

    @expose("/jobs/<int:pk>/progress")
    @has_access
    @permission_name("mine")
    def progress(self, pk: int):
        job = _visible(db.session.get(Job, pk))
        done, total, _beat = jobs.progress_of(pk) or (0, None, None)
        return jsonify(state=job.state, state_label=job.state_label, done=done, total=total, message=job.message)

    @expose("/jobs/<int:pk>/file")
    @has_access
    @permission_name("mine")
    def file(self, pk: int):
        job = db.session.get(Job, pk)
        if job is None or job.user_id != g.user.id or job.state != "done" or job.file_name is None:
            abort(404)
        path = jobs.download_path(pk)
        if not path.exists():
            abort(404)
        response = send_file(path, mimetype=XLSX_MIME, as_attachment=True, download_name=job.file_name)
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/inbox/")
    @has_access
    @permission_name("mine")
    def inbox(self):
        messages = db.session.execute(
            select(Notification).where(Notification.user_id == g.user.id)
            .order_by(Notification.id.desc()).limit(INBOX_PAGE)).scalars().all()
        return self.render_template("jobs/inbox.html", title="站内消息", messages=messages)

    @expose("/inbox/<int:pk>")
    @has_access
    @permission_name("mine")
    def open_message(self, pk: int):
        """Opening a message marks it read and leads where it points."""
        message = db.session.get(Notification, pk)
        if message is None or message.user_id != g.user.id:
            abort(404)
        if message.read_at is None:
            message.read_at = clock.utc_now()
            db.session.commit()
        inside = message.link and message.link.startswith("/") and not message.link.startswith("//")
        return redirect(message.link if inside else url_for(".inbox"))

    @expose("/inbox/read-all", methods=["POST"])
    @has_access
    @permission_name("mine")
    def read_all(self):
        count = db.session.execute(
            update(Notification).where(Notification.user_id == g.user.id, Notification.read_at.is_(None))
            .values(read_at=clock.utc_now())).rowcount
        db.session.commit()
        flash(f"已将 {count} 条消息标为已读" if count else "没有未读消息", "success")
        return redirect(url_for(".inbox"))


class JobAdminView(BaseView):
    """系统管理 → 后台任务: every job, the failed ones first, for the administrator (who may run
    a failed one again once the cause is fixed)."""

    route_base = "/jobs"
    default_view = "list"

    @expose("/")
    @has_access
    def list(self):
        from views.people import names_by_id

        failed_only = request.args.get("state") == "failed"
        query = select(Job).order_by((Job.state == "failed").desc(), Job.id.desc()).limit(200)
        if failed_only:
            query = query.where(Job.state == "failed")
        found = db.session.execute(query).scalars().all()
        return self.render_template("jobs/admin.html", title="后台任务", jobs=found, failed_only=failed_only,
                                    people=names_by_id(db.session, [job.user_id for job in found]))

    @expose("/retry/<int:pk>", methods=["POST"])
    @has_access
    def retry(self, pk: int):
        retried = db.session.execute(
            update(Job).where(Job.id == pk, Job.state == "failed")
            .values(state="queued", attempts=0, message=None, finished_at=None, enqueued_at=clock.utc_now())).rowcount
        db.session.commit()
        if retried:
            jobs.enqueue(pk)
            flash("已重新排队", "success")
        else:
            flash("只有失败的任务可以重新执行", "warning")
        return redirect(url_for(".list"))


def unread_messages() -> int:
    """The top bar's badge: the signed-in person's unread messages, counted when the user was
    loaded for this request (AppSecurityManager.load_user)."""
    user = g.get("user")
    if user is None or not user.is_authenticated or getattr(user, "id", None) is None:
        return 0
    counted = getattr(user, "unread_messages", None)
    return counted if counted is not None else unread_count(db.session, user.id)


def register(appbuilder: Any) -> None:
    from models.base import Menu

    appbuilder.add_view_no_menu(MyJobsView())
    category, icon = Menu.SYSTEM
    appbuilder.add_view(JobAdminView(), "后台任务", icon="fa-tasks", category=category, category_icon=icon,
                        category_label=category)
    current_app.jinja_env.globals["unread_messages"] = unread_messages
