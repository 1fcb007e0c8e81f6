"""One clock: every "today" and "now" of the product, on the configured zone.

The server's own zone is never asked: a server set to UTC would otherwise show yesterday's
fee standard and count the one-month notice from the wrong day between 00:00 and 08:00
Beijing time. ``TIME_ZONE`` in the settings names the zone (default Asia/Shanghai).

Two kinds of moment are stored:

- wall-clock times a person enters or reads as such (报修时间, 约定归还时间): naive local time,
  written with :func:`local_now`;
- stamps the system writes (记账时间, 投票时间, 操作日志): UTC in the database, read back
  in the zone as aware values (:class:`UTCDateTime`), written with :func:`utc_now`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

DEFAULT_ZONE = "Asia/Shanghai"
_zone = ZoneInfo(DEFAULT_ZONE)


def configure(name: str | None) -> None:
    """Set the zone from the settings (an unknown name fails at start-up, not on a page)."""
    global _zone
    _zone = ZoneInfo(name or DEFAULT_ZONE)


def zone() -> ZoneInfo:
    return _zone


def now() -> dt.datetime:
    """Now, aware, in the configured zone."""
    return dt.datetime.now(_zone)


def today() -> dt.date:
    """Today's date in the configured zone."""
    return now().date()


def local_now() -> dt.datetime:
    """Wall-clock time in the zone to the second, naive (as wall-clock columns store it)."""
    return now().replace(tzinfo=None, microsecond=0)


def utc_now() -> dt.datetime:
    """Now, aware, in UTC (what :class:`UTCDateTime` columns store)."""
    return dt.datetime.now(dt.timezone.utc)


def to_local(value: dt.datetime) -> dt.datetime:
    """An aware value in the zone; a naive one is taken as stored UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(_zone)


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC; read back as an aware datetime in the configured zone.

    Aware values are converted to UTC before they are stored. A naive value is taken as
    local time: it comes from a person (a filter, an import), not from code.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=_zone)
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=dt.timezone.utc).astimezone(_zone)
        return value
