"""WeChat 公众号 notices: owners bind their WeChat on the public board (网页授权, then the unit and
the last six characters of their 证件号码), and owners' notices go to it as template messages.
WeChat is a local HTTP server here that answers as the 公众号 API documents: an access token for
the right AppID and secret only, template messages only with the current token, an openid for a
code it issued."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import time_machine
from sqlalchemy import func, select

from app import wechat
from app.extensions import db
from models.audit import AuditLog
from models.estate import Unit
from models.outbox import Delivery, MessageTemplate, WeChatBinding
from models.people import Owner, UnitOwnership
from models.rules import violations
from tests.support import text_of
from tests.test_outbox import MORNING, _a_household_in_arrears, _an_empty_outbox, _deliver, _publish_a_standard  # noqa: F401
from views.public import LOOKUP_REFUSED

APP_ID, APP_SECRET = "wx-test-appid", "test-app-secret"
CODE, OPENID = "code-from-wechat", "oTestOpenid0000000000000001"
FEE_FIELDS = "thing1=estate thing2=standard time3=effective_from"


class WeChat:
    """A stand-in for api.weixin.qq.com: the documented endpoints, checked as WeChat checks them."""

    def __init__(self):
        self.tokens, self.received, self.refused, self.expire_next = 0, [], [], False
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _answer(self, body: dict) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # 网页授权: a code it issued becomes the openid, once
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query))
                if (url.path == "/sns/oauth2/access_token" and query.get("appid") == APP_ID
                        and query.get("secret") == APP_SECRET and query.get("code") == CODE
                        and query.get("grant_type") == "authorization_code"):
                    self._answer({"access_token": "web-token", "expires_in": 7200, "openid": OPENID, "scope": "snsapi_base"})
                else:
                    self._answer({"errcode": 40029, "errmsg": "invalid code"})

            def do_POST(self):
                url = urlsplit(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode())
                if url.path == "/cgi-bin/stable_token":
                    if body.get("appid") != APP_ID or body.get("secret") != APP_SECRET:
                        return self._answer({"errcode": 40125, "errmsg": "invalid appsecret"})
                    if body.get("force_refresh") or stand_in.tokens == 0:
                        stand_in.tokens += 1
                    return self._answer({"access_token": stand_in.current, "expires_in": 7200})
                token = parse_qs(url.query).get("access_token", [""])[0]
                if stand_in.expire_next:
                    stand_in.expire_next = False
                    stand_in.tokens += 1  # replaced behind the sender's back
                if token != stand_in.current:
                    stand_in.refused.append(token)
                    return self._answer({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
                stand_in.received.append(body)
                return self._answer({"errcode": 0, "errmsg": "ok", "msgid": len(stand_in.received)})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    @property
    def current(self) -> str:
        return f"token-{self.tokens}"


@pytest.fixture()
def weixin(monkeypatch, app):
    stand_in = WeChat()
    for name, value in {"WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": APP_SECRET, "WECHAT_API": stand_in.url,
                        "PUBLIC_URL": "https://wuye.example.cn"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(wechat, "_token", {})
    with app.app_context():
        template = db.session.execute(select(MessageTemplate).where(
            MessageTemplate.key == "fee_standard_published")).scalar_one()
        template.wechat_template_id, template.wechat_fields = "TPL-fee", FEE_FIELDS
        arrears = db.session.execute(select(MessageTemplate).where(MessageTemplate.key == "arrears_notice")).scalar_one()
        arrears.wechat_template_id, arrears.wechat_fields = "TPL-arrears", "thing1=estate thing2=units amount3=amount"
        db.session.commit()
    yield stand_in
    stand_in.server.shutdown()


def _bind(owner_id: int, openid: str = OPENID) -> None:
    db.session.add(WeChatBinding(owner_id=owner_id, openid=openid))
    db.session.commit()


def _an_owner_of(estate_id: int) -> Owner:
    return db.session.execute(select(Owner).where(Owner.estate_id == estate_id, Owner.is_developer.is_(False))
                              .order_by(Owner.id)).scalars().first()


def _wechat_deliveries() -> list[Delivery]:
    return db.session.execute(select(Delivery).where(Delivery.channel == "wechat").order_by(Delivery.id)).scalars().all()


# -- sending ---------------------------------------------------------------------------------------

def test_a_published_fee_standard_reaches_each_bound_wechat_once_with_the_templates_fields(app, ctx, weixin):
    with time_machine.travel(MORNING, tick=False):
        first = db.session.execute(select(WeChatBinding.owner_id).order_by(WeChatBinding.id)).scalars().first()
        _bind(first, "oSecondWeChatOfTheSamePerson0")
        estate = _publish_a_standard()
        openids = set(db.session.execute(select(WeChatBinding.openid).join(Owner).where(
            Owner.estate_id == estate.id)).scalars())
        assert {d.address for d in _wechat_deliveries()} == openids and len(_wechat_deliveries()) == len(openids) == 3
        _deliver()
    sent = {message["touser"]: message for message in weixin.received}
    assert set(sent) == openids and all(d.state == "sent" for d in _wechat_deliveries())
    message = sent["oSecondWeChatOfTheSamePerson0"]
    assert message["template_id"] == "TPL-fee"
    assert set(message["data"]) == {"thing1", "thing2", "time3"}
    assert message["data"]["thing1"] == {"value": estate.name}
    assert message["data"]["thing2"]["value"].startswith("短信测试标准（第 ")  # the standard and its version
    assert message["data"]["time3"] == {"value": "2027年05月15日"}  # two months after MORNING
    assert message["url"] == f"https://wuye.example.cn/public/estate/{estate.id}/fees"


def test_a_replaced_access_token_is_renewed_and_the_message_sent_once(app, ctx, weixin):
    with time_machine.travel(MORNING, tick=False):
        _publish_a_standard()
        weixin.expire_next = True
        _deliver()
    assert len(weixin.refused) == 1  # the first try, with the token WeChat had just replaced
    assert len(weixin.received) == len(_wechat_deliveries()) == 2  # the demo's two bound owners
    assert all(d.state == "sent" and d.attempts == 1 for d in _wechat_deliveries())


def test_a_wrong_app_secret_leaves_the_message_waiting_with_wechats_reason(app, ctx, weixin, monkeypatch):
    monkeypatch.setenv("WECHAT_APP_SECRET", "not-the-secret")
    with time_machine.travel(MORNING, tick=False):
        _publish_a_standard()
        _deliver()
    assert weixin.received == []
    waiting = _wechat_deliveries()[0]
    assert waiting.state == "pending" and waiting.attempts == 1 and "40125" in waiting.last_error


def test_a_long_value_is_shortened_to_the_twenty_characters_a_field_shows(app, ctx, weixin):
    wechat.send_template(OPENID, "TPL-fee", {"thing1": "甲" * 25, "thing2": "乙" * 20})
    assert weixin.received[0]["data"] == {"thing1": {"value": "甲" * 19 + "…"}, "thing2": {"value": "乙" * 20}}


def test_without_a_template_id_nothing_goes_to_wechat(app, ctx, weixin):
    template = db.session.execute(select(MessageTemplate).where(MessageTemplate.key == "fee_standard_published")).scalar_one()
    template.wechat_template_id = None
    db.session.commit()
    with time_machine.travel(MORNING, tick=False):
        _publish_a_standard()
    assert _wechat_deliveries() == []


def test_an_owner_in_arrears_gets_the_units_and_amount_on_the_bound_wechat(app, ctx, weixin):
    from app.reminders import tell_owners_in_arrears

    with time_machine.travel(MORNING, tick=False):
        unit, amount = _a_household_in_arrears("13912345678")
        owner = db.session.execute(select(Owner).join(UnitOwnership).where(UnitOwnership.unit_id == unit.id)).scalar_one()
        _bind(owner.id, "oOwnerInArrears00000000000000")
        tell_owners_in_arrears(db.session)
        db.session.commit()
        _deliver()
    letter = next(m for m in weixin.received if m["touser"] == "oOwnerInArrears00000000000000")
    assert letter["data"]["amount3"] == {"value": f"{amount:.2f}"}
    assert letter["data"]["thing2"] == {"value": f"{unit.building.name} {unit.room_no}"}


@pytest.mark.parametrize(("fields", "problem"), [
    ("thing1=estate time2=nobody", "没有变量「nobody」"),
    ("thing1:estate", "应写成「微信字段名=变量」"),
])
def test_the_wechat_fields_are_checked_when_the_template_is_saved(app, ctx, fields, problem):
    found = violations(MessageTemplate, {"key": "fee_standard_published", "subject": "标题", "body": "正文",
                                         "wechat_fields": fields})
    assert any(problem in message for _field, message in found), found


# -- binding on the public board -------------------------------------------------------------------

def _signed_in_through_wechat(client, estate_id: int = 1) -> None:
    """The page sends the visitor to WeChat's 网页授权; WeChat sends them back with a code."""
    away = client.get(f"/public/estate/{estate_id}/wechat")
    assert away.status_code == 302 and away.location.startswith("https://open.weixin.qq.com/connect/oauth2/authorize?")
    query = parse_qs(urlsplit(away.location.split("#")[0]).query)
    assert query["appid"] == [APP_ID] and query["scope"] == ["snsapi_base"]
    assert query["redirect_uri"] == [f"https://wuye.example.cn/public/estate/{estate_id}/wechat"]
    back = client.get(f"/public/estate/{estate_id}/wechat?code={CODE}&state={query['state'][0]}")
    assert back.status_code == 302 and back.location.endswith(f"/public/estate/{estate_id}/wechat")


def _a_sold_unit(estate_id: int = 1) -> tuple[dict[str, str], Owner]:
    unit, owner = db.session.execute(
        select(Unit, Owner).join(UnitOwnership, UnitOwnership.unit_id == Unit.id).join(Owner, Owner.id == UnitOwnership.owner_id)
        .where(Unit.estate_id == estate_id, Owner.is_developer.is_(False),
               Owner.id.not_in(select(WeChatBinding.owner_id))).order_by(Unit.id)).first()
    return {"building": str(unit.building_id), "room": unit.room_no}, owner


def test_an_owner_who_proves_the_unit_binds_the_wechat_they_opened_the_page_in(app, client, weixin):
    _signed_in_through_wechat(client)
    with app.app_context():
        form, owner = _a_sold_unit()
    page = client.post("/public/estate/1/wechat", data={**form, "id_suffix": owner.id_number[-6:], "action": "bind"})
    assert page.status_code == 200 and "绑定成功" in text_of(page)
    with app.app_context():
        assert db.session.execute(select(WeChatBinding.owner_id).where(WeChatBinding.openid == OPENID)).scalars().all() == [owner.id]
        logged = db.session.execute(select(AuditLog).where(AuditLog.table_name == "wechat_binding")
                                    .order_by(AuditLog.id.desc())).scalars().first()
        assert logged.action == "create" and logged.estate_id == 1 and OPENID not in (logged.new_values or "")


def test_a_wrong_suffix_binds_nothing_and_gets_the_lookup_answer(app, client, weixin):
    _signed_in_through_wechat(client)
    with app.app_context():
        form, owner = _a_sold_unit()
        before = db.session.scalar(select(func.count()).select_from(WeChatBinding))
    wrong = "000000" if owner.id_number[-6:] != "000000" else "111111"
    page = client.post("/public/estate/1/wechat", data={**form, "id_suffix": wrong, "action": "bind"})
    assert page.status_code == 400 and LOOKUP_REFUSED in text_of(page)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WeChatBinding)) == before


def test_another_estates_unit_cannot_be_bound_through_this_estates_page(app, client, weixin):
    _signed_in_through_wechat(client, estate_id=1)
    with app.app_context():
        form, owner = _a_sold_unit(estate_id=2)
    page = client.post("/public/estate/1/wechat", data={**form, "id_suffix": owner.id_number[-6:], "action": "bind"})
    assert page.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WeChatBinding).where(WeChatBinding.openid == OPENID)) == 0


def test_unbinding_removes_this_wechat_from_the_estates_owners_only(app, client, weixin):
    with app.app_context():
        ours, _ = _a_sold_unit(estate_id=1)
        theirs = _an_owner_of(2)
        mine = db.session.execute(select(Owner).join(UnitOwnership).join(Unit).where(
            Unit.building_id == int(ours["building"]), Unit.room_no == ours["room"])).scalars().first()
        _bind(mine.id)
        _bind(theirs.id)
        theirs_id = theirs.id
    _signed_in_through_wechat(client)
    page = client.post("/public/estate/1/wechat", data={"action": "unbind"})
    assert page.status_code == 200 and "已解除绑定" in text_of(page)
    with app.app_context():
        assert db.session.execute(select(WeChatBinding.owner_id).where(WeChatBinding.openid == OPENID)).scalars().all() == [theirs_id]


def test_a_forged_return_from_wechat_names_nobody(app, client, weixin):
    client.get("/public/estate/1/wechat")
    back = client.get(f"/public/estate/1/wechat?code={CODE}&state=forged")
    assert back.status_code == 400 and "重新打开" in text_of(back)
    assert client.get("/public/estate/1/wechat").status_code == 302  # still nobody: off to WeChat again


def test_a_code_wechat_did_not_issue_is_refused_in_chinese(app, client, weixin):
    away = client.get("/public/estate/1/wechat")
    state = parse_qs(urlsplit(away.location.split("#")[0]).query)["state"][0]
    back = client.get(f"/public/estate/1/wechat?code=made-up&state={state}")
    assert back.status_code == 503 and "微信暂时无法确认您的身份" in text_of(back)


def test_without_wechat_configured_the_page_does_not_exist(app, client):
    assert client.get("/public/estate/1/wechat").status_code == 404
    assert "绑定微信" not in text_of(client.get("/public/estate/1/fees"))


def test_the_fee_notice_links_the_binding_page_when_wechat_is_on(app, client, weixin):
    assert "绑定微信接收通知" in text_of(client.get("/public/estate/1/fees"))


def test_the_binding_pages_show_the_owner_and_never_the_openid(app, client):
    from tests.support import login

    with app.app_context():
        binding = db.session.execute(select(WeChatBinding).order_by(WeChatBinding.id)).scalars().first()
        owner, openid = binding.owner, binding.openid
    login(client, "manager_a")
    pages = [text_of(client.get("/wechat_binding/list/")), text_of(client.get(f"/wechat_binding/show/{binding.id}"))]
    api = client.get(f"/api/v1/wechat_binding/{binding.id}")
    assert all(owner.name in page for page in pages) and api.json["result"]["owner"] == {"id": owner.id}
    assert not any(openid[:5] in page for page in [*pages, api.get_data(as_text=True)])


def test_the_binding_page_reads_in_chinese_and_refers_to_no_external_host(app, client, weixin):
    from tests.pages import data_words, english_words

    _signed_in_through_wechat(client)
    html = text_of(client.get("/public/estate/1/wechat"))
    with app.app_context():
        assert english_words(html, data_words(db.session)) == set()
    assert "证件号码后六位" in html
    assert re.findall(r"""(?:src|href|action)\s*=\s*["']((?:https?:)?//[^"']+)["']""", html) == []


def test_the_same_binding_sent_twice_at_once_is_kept_once(app, start_live_server):
    """Two submissions of the same binding at the same instant (a double tap; gunicorn workers on
    PostgreSQL): both answer 绑定成功, one row is kept."""
    import requests

    from tests.live import race
    from tests.support import in_db

    stand_in = WeChat()
    try:
        live = start_live_server(WECHAT_APP_ID=APP_ID, WECHAT_APP_SECRET=APP_SECRET, WECHAT_API=stand_in.url)
        form, suffix = in_db(app, lambda: (lambda found: (found[0], found[1].id_number[-6:]))(_a_sold_unit()))
        clicks = []
        for _ in range(2):
            http = requests.Session()
            away = http.get(live.url + "/public/estate/1/wechat", allow_redirects=False, timeout=30)
            state = parse_qs(urlsplit(away.headers["Location"].split("#")[0]).query)["state"][0]
            http.get(live.url + f"/public/estate/1/wechat?code={CODE}&state={state}", timeout=30)
            clicks.append(live.click(http, "/public/estate/1/wechat", "/public/estate/1/wechat",
                                     {**form, "id_suffix": suffix, "action": "bind"}))
        pages = race(*clicks)
        assert [(page.status_code, "绑定成功" in page.text) for page in pages] == [(200, True), (200, True)]
        assert in_db(app, lambda: db.session.scalar(select(func.count()).select_from(WeChatBinding).where(
            WeChatBinding.openid == OPENID))) == 1
    finally:
        stand_in.server.shutdown()
