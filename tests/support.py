"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations


def login(client, username: str, password: str | None = None):
    """Log in through the real login form (CSRF is off in tests except where tested)."""
    password = password or client.application.config["DEMO_PASSWORD"]
    return client.post("/login/", data={"username": username, "password": password})
