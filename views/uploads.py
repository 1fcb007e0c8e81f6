"""Uploaded documents (方案附件, 审价报告, 表决票扫描件): stored under the instance folder.

Only PDF and images are accepted; the stored name is random (never the client's), so a
name cannot reach outside the folder or collide with another document.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from models.errors import Refused

ALLOWED = {"pdf", "jpg", "jpeg", "png"}


def upload_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_upload(file: FileStorage | None) -> str:
    """Store one uploaded document; the name to keep in the row, or a Chinese refusal."""
    if file is None or not file.filename:
        raise Refused("请上传文件（PDF 或图片）")
    extension = file.filename.rsplit(".", 1)[-1].lower() if "." in file.filename else ""
    if extension not in ALLOWED:
        raise Refused("只能上传 PDF、JPG 或 PNG 文件")
    name = f"{uuid.uuid4().hex}.{extension}"
    file.save(upload_folder() / name)
    if (upload_folder() / name).stat().st_size == 0:
        (upload_folder() / name).unlink()
        raise Refused("上传的文件是空的")
    return name
