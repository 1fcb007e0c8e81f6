"""While the database cannot be reached, every page answers a Chinese 503 with Retry-After,
rendered without the database (no menu, no user), and the API the same in JSON; once the
database is back, the same processes serve again without a restart.

The first tests point an app at a port where no database listens; the last one runs real
gunicorn workers on PostgreSQL through a TCP relay that the test cuts and restores.
"""

from __future__ import annotations

import socket
import threading

import pytest
import requests
from sqlalchemy.pool import NullPool

from tests.live import free_port
from tests.support import login

UNAVAILABLE = "数据库暂时无法连接"


@pytest.fixture(scope="module")
def database_down(app):
    """The application, configured as the shared test app, on a database that is down."""
    from app import create_app

    return create_app({
        "TESTING": False,  # as in production: errors are answered, not raised
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": app.config["SECRET_KEY"],  # a session signed by the running app stays valid
        "SQLALCHEMY_DATABASE_URI": f"postgresql://nobody@127.0.0.1:{free_port()}/down",
        "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool},
    })


def _is_unavailable_page(response) -> bool:
    page = response.get_data(as_text=True)
    return (response.status_code == 503 and response.headers.get("Retry-After") == "30"
            and UNAVAILABLE in page and "Internal Server Error" not in page)


@pytest.mark.parametrize("url", ["/public/", "/public/estate/1/fund", "/unit/list/", "/dashboard/jurisdiction/"])
def test_pages_while_the_database_is_down_are_a_chinese_503(database_down, url):
    assert _is_unavailable_page(database_down.test_client().get(url))


def test_logging_in_while_the_database_is_down_is_a_chinese_503(database_down):
    answer = database_down.test_client().post("/login/", data={"username": "admin", "password": "Demo@2026"})
    assert _is_unavailable_page(answer)


def test_a_signed_in_user_gets_the_503_page_not_a_broken_menu(app, database_down):
    signed_in = app.test_client()
    login(signed_in, "manager_a")
    cookie = signed_in.get_cookie("session")
    assert cookie is not None
    down = database_down.test_client()
    down.set_cookie("session", cookie.value)
    assert _is_unavailable_page(down.get("/unit/list/"))


@pytest.mark.parametrize(("method", "url", "body"), [
    ("GET", "/api/v1/unit/", None),
    ("POST", "/api/v1/security/login", {"username": "admin", "password": "Demo@2026", "provider": "db"}),
])
def test_the_api_while_the_database_is_down_answers_503_in_chinese(database_down, method, url, body):
    answer = database_down.test_client().open(url, method=method, json=body)
    assert answer.status_code == 503 and answer.headers.get("Retry-After") == "30"
    assert UNAVAILABLE in answer.get_json()["message"]


class Relay:
    """A TCP relay to the database that the test can cut (refusing and dropping every
    connection, as a stopped server does) and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self.connections: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone does not)
        self.listener.close()
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()
        self.connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.connections += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def test_gunicorn_answers_503_while_postgresql_is_away_and_recovers_without_a_restart(test_db, start_live_server):
    from sqlalchemy.engine import make_url

    url = make_url(test_db.url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    relay.start()
    live = start_live_server(DATABASE_URL=url.set(host="127.0.0.1", port=relay.port).render_as_string(False))
    manager = live.user("manager_a")
    assert manager.get(live.url + "/unit/list/", timeout=30).status_code == 200

    relay.cut()
    for page in ("/unit/list/", "/public/", "/login/"):
        answer = (manager if page != "/login/" else requests).get(live.url + page, timeout=60)
        if page == "/login/" and answer.status_code == 200:
            continue  # the login form itself needs no database
        assert answer.status_code == 503 and UNAVAILABLE in answer.text and answer.headers["Retry-After"] == "30"

    relay.start()
    assert manager.get(live.url + "/unit/list/", timeout=60).status_code == 200
    relay.cut()
