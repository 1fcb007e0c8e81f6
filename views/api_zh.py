"""Chinese for what the REST API says on its own (marshmallow and FAB defaults)."""

from __future__ import annotations

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
}

#: FAB's English messages that carry a value after a fixed beginning
PREFIXES = {
    "Invalid order by column: ": "不能按该字段排序：",
    "Not a valid rison schema": "查询参数 q 的内容不正确",
}


def in_chinese(message: str) -> str:
    if message in RESPONSES:
        return RESPONSES[message]
    for prefix, chinese in PREFIXES.items():
        if message.startswith(prefix):
            value = message[len(prefix):] if chinese.endswith("：") else ""
            return chinese + value
    return message


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
