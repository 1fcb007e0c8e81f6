"""Uploaded documents (方案附件, 审价报告, 表决票扫描件): stored under the instance folder.

Only PDF and images are accepted; the stored name is random (never the client's), so a
name cannot reach outside the folder or collide with another document. A document is
served only through the view of a row that names it (see ``EntityModelView.download``),
so the data layer's estate scope decides who may read it.
"""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

from flask import abort, current_app, send_file
from werkzeug.datastructures import FileStorage

from models.errors import Refused

log = logging.getLogger(__name__)

ALLOWED = {"pdf", "jpg", "jpeg", "png"}
MIMETYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}
#: the only names save_upload produces; anything else is not one of ours
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|jpg|jpeg|png)$")


def upload_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_upload(file: FileStorage | None) -> str:
    """The extension of an acceptable upload, or a Chinese refusal (nothing stored)."""
    if file is None or not file.filename:
        raise Refused("请上传文件（PDF 或图片）")
    extension = file.filename.rsplit(".", 1)[-1].lower() if "." in file.filename else ""
    if extension not in ALLOWED:
        raise Refused("只能上传 PDF、JPG 或 PNG 文件")
    stream = file.stream
    position = stream.tell()
    stream.seek(0, 2)
    empty = stream.tell() == 0
    stream.seek(position)
    if empty:
        raise Refused("上传的文件是空的")
    return extension


#: a full disk, a read-only or missing folder: the write it belongs to is refused with this
STORAGE_FAILED = "服务器无法保存上传的文件（存储空间不足或上传目录不可写），本次操作未生效，请联系系统管理员"


def save_upload(file: FileStorage | None) -> str:
    """Store one uploaded document; the name to keep in the row, or a Chinese refusal.

    Written under a temporary name and renamed when complete, so a disk that fills up in
    the middle leaves no truncated document behind (the partial file is removed)."""
    extension = check_upload(file)
    name = f"{uuid.uuid4().hex}.{extension}"
    partial = None
    try:
        folder = upload_folder()
        partial = folder / f".{name}.part"
        file.save(partial)
        partial.replace(folder / name)
    except OSError as error:
        log.error("upload not stored: %s", error)
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise Refused(STORAGE_FAILED) from error
    return name


def send_document(name: str, download_name: str):
    """The stored file as an attachment; 404 for a name that is not a stored document."""
    match = STORED_NAME.match(name or "")
    path = upload_folder() / name if match else None
    if path is None or not path.is_file():
        abort(404)
    extension = match.group(1)
    response = send_file(path, mimetype=MIMETYPES[extension], as_attachment=True,
                         download_name=f"{download_name}.{extension}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def discard_upload(name: str | None) -> None:
    """Remove a document stored for a write that was then refused."""
    if name and STORED_NAME.match(name):
        (upload_folder() / name).unlink(missing_ok=True)
