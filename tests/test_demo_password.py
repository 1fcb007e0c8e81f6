"""The public demo password opens nothing on a server reachable from outside."""

from __future__ import annotations


def _login(client, server_name: str, remote: str, password: str):
    return client.post(
        "/login/",
        data={"username": "admin", "password": password},
        environ_base={"SERVER_NAME": server_name, "REMOTE_ADDR": remote},
    )


def _logged_in(client) -> bool:
    return client.get("/unit/list/").status_code == 200


def test_demo_password_works_on_a_loopback_server(app, client):
    _login(client, "127.0.0.1", "127.0.0.1", app.config["DEMO_PASSWORD"])
    assert _logged_in(client)


def test_demo_password_is_refused_on_a_server_bound_to_all_interfaces(app, client):
    _login(client, "0.0.0.0", "192.0.2.10", app.config["DEMO_PASSWORD"])
    assert not _logged_in(client)


def test_demo_password_is_refused_for_a_remote_client(app, client):
    _login(client, "127.0.0.1", "203.0.113.5", app.config["DEMO_PASSWORD"])
    assert not _logged_in(client)


def test_a_real_password_works_anywhere(app, client):
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.find_user("admin")
        user.password = __import__("werkzeug.security", fromlist=["x"]).generate_password_hash("Real-Pass-2026!")
        sm.session.commit()
    _login(client, "0.0.0.0", "192.0.2.10", "Real-Pass-2026!")
    assert _logged_in(client)
