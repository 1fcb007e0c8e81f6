"""Chinese for what the REST API says on its own (marshmallow and FAB defaults)."""

from __future__ import annotations

import json
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


# -- the OpenAPI description (/api/v1/_openapi) in Chinese ------------------------------------

#: FAB's English texts in the generated description, by text
OPENAPI_TEXTS = {
    "The description for the column name. Will be translated by babel": "各字段的说明",
    "The label for the column name. Will be translated by babel": "各字段的中文名称",
    "A list of columns": "字段列表",
    "A title to render. Will be translated by babel": "页面标题",
    "Item from Model": "一条记录",
    "Items from Model": "记录列表",
    "Model schema": "记录的字段",
    "The total record count on the backend": "符合条件的记录总数",
    "A list of item ids, useful when you don't know the column id": "本页各条记录的编号",
    "A list of allowed columns to sort": "可用于排序的字段",
    "The result from the get list query": "本页的记录",
    "The filter name. Will be translated by babel": "筛选条件的名称",
    "The filter operation key to use on list filters": "筛选运算符（filters 中的 opr）",
    "The user permissions for this API resource": "当前用户对该资源的权限",
    "The item id": "记录编号",
    "Item inserted": "已新增",
    "Item changed": "已修改",
    "Item deleted": "已删除",
    "Bad request": "请求有误",
    "Unauthorized": "未登录或令牌无效",
    "Forbidden": "没有权限",
    "Not found": "记录不存在",
    "Could not process entity": "提交的数据未通过校验",
    "Fatal error": "服务器内部错误",
    "API key authentication using Bearer token": "在请求头 Authorization 中使用 Bearer 令牌（JWT）认证",
    "Authenticate and get a JWT access and refresh token": "登录，取得 JWT 访问令牌（及刷新令牌）",
    "The password for authentication": "密码",
    "Choose an authentication provider": "认证方式（省略即 db）",
    "If true a refresh token is provided also": "为 true 时同时返回刷新令牌",
    "The username for authentication": "用户名",
    "Get the OpenAPI spec for a specific API version": "本接口说明（OpenAPI）",
    "The OpenAPI spec": "OpenAPI 文档",
    "Authentication Successful": "登录成功",
    "Use the refresh token to get a new JWT access token": "用刷新令牌换取新的 JWT 访问令牌",
    "A new refreshed access token": "新的访问令牌",
    "Refresh Successful": "已换取新令牌",
    "Get menu data": "菜单数据",
    "Menu items in a forest like data structure": "菜单项（树形结构）",
    "Icon name to show for this menu item": "菜单项的图标名",
    "Pretty name for the menu item": "菜单项的显示名称",
    "The internal menu item name, maps to permission_name": "菜单项的内部名称（对应权限名）",
    "The URL for the menu item": "菜单项的链接",
}

#: what each generated operation of an entity does ({label}: the entity's Chinese name)
OPERATIONS = {
    ("get", "/"): "{label}列表：可用 q 参数筛选（filters）、排序（order_column）、分页（page、page_size）",
    ("get", "/{pk}"): "一条{label}的详情",
    ("get", "/_info"): "{label}的字段说明、可用筛选与当前用户的权限",
    ("post", "/"): "新增{label}",
    ("put", "/{pk}"): "修改{label}",
    ("delete", "/{pk}"): "删除{label}",
}


def describe_in_chinese(spec: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """The generated description with FAB's English texts in Chinese, each entity's
    operations summarised with its name and tagged by it (``labels``: resource → name)."""
    for path, operations in spec.get("paths", {}).items():
        resource, _, rest = path.removeprefix("/api/v1/").partition("/")
        label = labels.get(resource)
        for method, operation in operations.items():
            summary = OPERATIONS.get((method, "/" + rest)) if label else None
            if summary:
                operation["summary"] = operation["description"] = summary.format(label=label)
                operation["tags"] = [label]
    return _texts_in_chinese(spec)


def _texts_in_chinese(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _texts_in_chinese(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_texts_in_chinese(v, key) for v in value]
    if isinstance(value, str) and key in ("description", "summary"):
        text = value.strip()
        if text.startswith("Get the menu data structure"):
            return "当前用户可见的菜单（树形结构）"
        return OPENAPI_TEXTS.get(text, value)
    return value


def openapi_in_chinese(app: Any) -> None:
    from flask import request

    @app.after_request
    def translate_the_description(response: Any) -> Any:
        if request.endpoint != "OpenApi.get" or response.status_code != 200 or not response.is_json:
            return response
        from views.registry import VIEWS

        labels = {model.__tablename__: model.Admin.label for model in VIEWS}
        response.set_data(json.dumps(describe_in_chinese(response.get_json(), labels), ensure_ascii=False))
        return response
