"""The one exception every domain rule raises: a Chinese sentence, answered as 400."""

from __future__ import annotations

from werkzeug.exceptions import BadRequest


class Refused(BadRequest):
    """A write the rules refuse. FAB's REST layer answers 400 with this text; forms flash it."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(description=message)
        self.fields = fields or {}

    def __str__(self) -> str:  # FAB flashes / returns str(e): keep it the bare message
        return self.description or ""
