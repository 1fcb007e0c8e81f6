"""Errors in Chinese: refused writes, database constraint violations, error pages."""

from __future__ import annotations

import re
from typing import Any

import logging

from flask import Flask, current_app, render_template, request
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from models.errors import Refused  # noqa: F401  (re-exported for the views)
from models.rules import label, unique_sets


def integrity_message(error: IntegrityError, model: Any) -> str:
    """What a database constraint refused, said in terms of the form's fields."""
    text = str(error.orig)
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    table = model.__table__
    if "UNIQUE" in text.upper() or "duplicate key" in text:
        columns = set(re.findall(rf"{table.name}\.(\w+)", text))
        for unique in unique_sets(model):
            cols = unique.columns
            named = constraint is not None and constraint == unique.name
            if named or set(cols) == columns or (constraint and constraint.endswith("_key") and cols[0] in constraint):
                return unique.message
        return "与已有记录重复，请检查后再保存"
    if "NOT NULL" in text.upper() or "null value" in text:
        match = re.search(rf"{table.name}\.(\w+)", text) or re.search(r'column "(\w+)"', text)
        return f"{label(model, match.group(1))}不能为空" if match else "必填项不能为空"
    if "FOREIGN KEY" in text.upper() or "foreign key" in text:
        if request and request.method in ("POST", "DELETE") and "delete" in request.path:
            return "该记录仍被其他数据引用，不能删除"
        return "该记录仍被其他数据引用，或关联的记录不存在"
    if "CHECK" in text.upper() or "check constraint" in text:
        return "填写的数值不符合规则（如面积、数量须大于 0，结束日期不能早于开始日期）"
    return "数据库拒绝了本次保存，请检查填写的内容"


_PAGES = {
    400: ("请求有误", "提交的内容无法处理，请返回检查后重试。"),
    403: ("没有权限", "您没有访问此页面的权限。如需开通，请联系系统管理员。"),
    404: ("页面不存在", "您要找的页面或记录不存在，或不在您的管理范围内。"),
    405: ("不支持的操作", "该页面不支持此操作方式。"),
    413: ("文件过大", "提交的内容（如上传的文件）超过了 20 兆字节，请拆分后分批上传。"),
    429: ("操作过于频繁", "请求次数过多，请稍后再试。"),
    500: ("系统错误", "服务器处理请求时出错，已记录。请稍后重试或联系系统管理员。"),
}


def error_page(code: int, title: str | None = None, text: str | None = None):
    """The Chinese answer to an error: JSON under /api/, a page elsewhere."""
    default_title, default_text = _PAGES.get(code, _PAGES[500])
    title, text = title or default_title, text or default_text
    if request.path.startswith("/api/"):
        return {"message": text}, code
    page = render_template(
        "error.html", code=code, title=title, text=text,
        appbuilder=current_app.appbuilder, base_template=current_app.appbuilder.base_template,
    )
    return page, code


log = logging.getLogger(__name__)

#: the database cannot be reached (down, restarting, refusing connections, pool exhausted)
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)
UNAVAILABLE_TEXT = "数据库暂时无法连接，系统正在恢复。请稍等半分钟后重试；已填写的内容请勿关闭页面。"
RETRY_AFTER_SECONDS = "30"


def database_unavailable(error: Exception):
    """503 with Retry-After, on a page that needs no database (the usual error page renders
    the menu, which reads the user: it failed in turn and the server answered in English)."""
    log.error("database unavailable: %s", error)
    try:
        from app.extensions import db

        db.session.remove()
    except Exception:  # noqa: BLE001 - the connection is gone; the next request gets a new one
        pass
    headers = {"Retry-After": RETRY_AFTER_SECONDS}
    if request.path.startswith("/api/"):
        return {"message": UNAVAILABLE_TEXT}, 503, headers
    # rendered without context processors: Flask-Login's would load the user from the database
    page = current_app.jinja_env.get_template("unavailable.html").render(
        text=UNAVAILABLE_TEXT, app_name=current_app.config["APP_NAME"], path=request.path)
    return page, 503, headers


def register_error_pages(app: Flask) -> None:
    def render(error: Exception):
        return error_page(error.code if isinstance(error, HTTPException) and error.code else 500)

    for code in _PAGES:
        app.register_error_handler(code, render)
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, database_unavailable)
