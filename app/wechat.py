"""WeChat 公众号: owners bind their WeChat on the public board; notices go as template messages.

Off until ``WECHAT_APP_ID`` and ``WECHAT_APP_SECRET`` are set (the 公众号's 开发者ID and 密钥; it
must be a verified 服务号 to send template messages). The documented HTTP APIs are called
directly, as for SMS (docs/notifications.md):

* binding: 网页授权 with ``scope=snsapi_base`` (no consent screen; it yields only the openid).
  The owner opens 绑定微信 inside WeChat, is sent to ``open.weixin.qq.com`` and back with a
  ``code``, which ``/sns/oauth2/access_token`` turns into their openid. Only then do they prove
  the unit and the last six characters of their 证件号码, like every owner form of the board;
* sending: ``/cgi-bin/message/template/send`` with the account's access token, taken from
  ``/cgi-bin/stable_token``, which hands every caller the same token while it is valid, so
  consumers on several machines do not invalidate each other's (plain ``/cgi-bin/token`` would).
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request, urlopen

TIMEOUT = 15
API = "https://api.weixin.qq.com"
AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
#: the access token was refused (expired or replaced): fetch a fresh one and send once more
STALE_TOKEN = frozenset({40001, 40014, 42001})
#: a template field shows at most 20 characters (the 公众号 documentation's limit for thing)
FIELD_LENGTH = 20


class WeChatFailed(Exception):
    """WeChat refused or could not be reached; the message is the reason kept."""


def configured() -> bool:
    return bool(os.environ.get("WECHAT_APP_ID") and os.environ.get("WECHAT_APP_SECRET"))


def _api() -> str:
    return os.environ.get("WECHAT_API", API).rstrip("/")


def _call(path: str, query: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, Any]:
    url = f"{_api()}{path}?{urlencode(query)}" if query else f"{_api()}{path}"
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    request = Request(url, data=data, headers={"Content-Type": "application/json; charset=utf-8"},
                      method="GET" if body is None else "POST")
    try:
        with urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - WeChat's https API (or its stand-in)
            return json.loads(answer.read().decode("utf-8"))
    except (OSError, ValueError) as error:
        raise WeChatFailed(f"微信接口无法访问：{error}") from error


def _refused(answer: dict[str, Any]) -> str | None:
    code = answer.get("errcode", 0)
    return None if code == 0 else f"微信：{code} {answer.get('errmsg', '')}".strip()


# -- binding -------------------------------------------------------------------------------------

def authorize_url(redirect_uri: str, state: str) -> str:
    """Where WeChat asks nothing and returns to ``redirect_uri`` with a code (snsapi_base)."""
    query = urlencode({"appid": os.environ["WECHAT_APP_ID"], "redirect_uri": redirect_uri,
                       "response_type": "code", "scope": "snsapi_base", "state": state})
    return f"{os.environ.get('WECHAT_AUTHORIZE', AUTHORIZE)}?{query}#wechat_redirect"


def openid_from_code(code: str) -> str:
    answer = _call("/sns/oauth2/access_token", {
        "appid": os.environ["WECHAT_APP_ID"], "secret": os.environ["WECHAT_APP_SECRET"], "code": code,
        "grant_type": "authorization_code"})
    if problem := _refused(answer):
        raise WeChatFailed(problem)
    if not answer.get("openid"):
        raise WeChatFailed("微信未返回用户标识")
    return str(answer["openid"])


# -- sending -------------------------------------------------------------------------------------

_token_lock = threading.Lock()
_token: dict[str, Any] = {}


def access_token(*, refresh: bool = False) -> str:
    """The account's access token, kept until five minutes before WeChat says it expires."""
    with _token_lock:
        if refresh or _token.get("app") != os.environ["WECHAT_APP_ID"] or _token.get("until", 0) < time.time():
            answer = _call("/cgi-bin/stable_token", {}, {
                "grant_type": "client_credential", "appid": os.environ["WECHAT_APP_ID"],
                "secret": os.environ["WECHAT_APP_SECRET"], "force_refresh": refresh})
            if problem := _refused(answer):
                raise WeChatFailed(problem)
            _token.update(app=os.environ["WECHAT_APP_ID"], value=answer["access_token"],
                          until=time.time() + int(answer.get("expires_in", 7200)) - 300)
        return str(_token["value"])


def send_template(openid: str, template_id: str, fields: dict[str, str], url: str | None = None) -> None:
    message: dict[str, Any] = {"touser": openid, "template_id": template_id,
                               "data": {name: {"value": _fit(value)} for name, value in fields.items()}}
    if url:
        message["url"] = url
    answer = _call("/cgi-bin/message/template/send", {"access_token": access_token()}, message)
    if answer.get("errcode") in STALE_TOKEN:
        answer = _call("/cgi-bin/message/template/send", {"access_token": access_token(refresh=True)}, message)
    if problem := _refused(answer):
        raise WeChatFailed(problem)


def _fit(value: str) -> str:
    return value if len(value) <= FIELD_LENGTH else value[:FIELD_LENGTH - 1] + "…"
