"""Chinese for what the REST API says on its own (marshmallow and FAB defaults)."""

from __future__ import annotations

import sys
from typing import Any

from marshmallow import Schema, fields

_MARSHMALLOW = {
    "Missing data for required field.": "必填项不能为空。",
    "Field may not be null.": "不能为空。",
    "Invalid value.": "值无效。",
    "Invalid type.": "类型不正确。",
    "Not a valid list.": "不是有效的列表。",
    "Not a valid string.": "不是有效的文本。",
    "Not a valid utf-8 string.": "不是有效的 UTF-8 文本。",
    "Not a valid number.": "不是有效的数字。",
    "Number too large.": "数字过大。",
    "Not a valid integer.": "不是有效的整数。",
    "Special numeric values (nan or infinity) are not permitted.": "不允许使用无穷大或非数字。",
    "Not a valid boolean.": "不是有效的是/否值。",
    "Not a valid date.": "不是有效的日期（格式 YYYY-MM-DD）。",
    '"{input}" cannot be formatted as a date.': "“{input}”不是有效的日期。",
    "Not a valid {obj_type}.": "不是有效的日期时间。",
    "Not a valid mapping type.": "不是有效的对象。",
    "Must be one of: {choices}.": "必须是以下之一：{choices}。",
    "Could not deserialize related value {value!r}; expected a dictionary with keys {keys!r}":
        "关联记录 {value!r} 不存在。",
    "Invalid input type.": "输入类型不正确。",
    "Unknown field.": "不允许的字段。",
}

#: FAB's default English response messages, by text
RESPONSES = {
    "Not found": "记录不存在",
    "Request is not JSON": "请求内容必须是 JSON",
    "Arguments are not correct": "请求参数不正确",
    "Not authorized": "未登录或登录已失效",
    "Forbidden": "没有权限",
    "Could not process entity": "无法处理提交的数据",
    "Fatal error": "服务器内部错误",
    "Not a valid rison/json argument": "查询参数 q 的格式不正确（应为 Rison 或 JSON）",
    "Not a valid rison argument": "查询参数 q 的格式不正确（应为 Rison）",
    "Request payload is not JSON": "请求内容必须是 JSON",
}

#: FAB's English messages that carry a value after a fixed beginning
PREFIXES = {
    "Invalid order by column: ": "不能按该字段排序：",
    "Not a valid rison schema": "查询参数 q 的内容不正确",
    "400 Bad Request:": "请求内容无法解析，请检查 JSON 格式",
}


def in_chinese(message: str) -> str:
    if message in RESPONSES:
        return RESPONSES[message]
    for prefix, chinese in PREFIXES.items():
        if message.startswith(prefix):
            value = message[len(prefix):] if chinese.endswith("：") else ""
            return chinese + value
    return message


class ChineseResponses:
    """For FAB REST APIs: FAB's English messages in Chinese, and a database that cannot be
    reached a 503 with Retry-After (FAB's ``safe`` turns every exception into 500 "Fatal error")."""

    def response(self, code: int, **kwargs: Any):
        from views.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, UNAVAILABLE_TEXT

        if code == 500 and isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
            code, kwargs["message"] = 503, UNAVAILABLE_TEXT
        elif "message" in kwargs:
            kwargs["message"] = _translated(kwargs["message"])
        answer = super().response(code, **kwargs)
        if code == 503:
            answer.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return answer


def _translated(message: Any) -> Any:
    """Every text of a message (a field's list of errors too): schemas FAB builds before
    ``install`` runs keep marshmallow's English defaults."""
    if isinstance(message, str):
        return _MARSHMALLOW.get(message, in_chinese(message))
    if isinstance(message, dict):
        return {key: _translated(value) for key, value in message.items()}
    if isinstance(message, list):
        return [_translated(value) for value in message]
    return message


#: flask-jwt-extended's refusals of a missing, malformed, expired or orphaned token: all 401
TOKEN_REFUSALS = {
    "unauthorized_loader": "未登录：请在请求头 Authorization 中提供 Bearer 令牌",
    "invalid_token_loader": "令牌无效，请重新登录获取",
    "expired_token_loader": "令牌已过期，请刷新令牌或重新登录",
    "revoked_token_loader": "令牌已作废，请重新登录",
    "needs_fresh_token_loader": "此操作需要重新登录",
    "user_lookup_error_loader": "该账号已停用或已锁定，令牌不再有效",
    "token_verification_failed_loader": "令牌无效，请重新登录获取",
}


def answer_token_refusals_in_chinese(jwt_manager: Any) -> None:
    from flask import jsonify

    for loader, message in TOKEN_REFUSALS.items():
        getattr(jwt_manager, loader)(lambda *_args, _message=message: (jsonify(message=_message), 401))


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def install() -> None:
    """Replace marshmallow's English default messages, class by class (idempotent)."""
    for cls in [fields.Field, *_subclasses(fields.Field)]:
        own = cls.__dict__.get("default_error_messages")
        if own:
            cls.default_error_messages = {k: _MARSHMALLOW.get(v, v) for k, v in own.items()}
    Schema._default_error_messages = {
        k: _MARSHMALLOW.get(v, v) for k, v in Schema._default_error_messages.items()
    }
