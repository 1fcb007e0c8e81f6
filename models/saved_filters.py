"""Saved filters: a person's named list queries ("欠费的出租房"), shown as quick links.

Only the query is kept, never rows: opening one runs it under the user's scope like any
other list, so a filter saved by someone who later loses an estate finds nothing there.
Each person sees only their own.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlencode

from flask_appbuilder import Model
from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.clock import UTCDateTime, utc_now
from models.errors import Refused

#: the list arguments a saved filter keeps: filters, the keyword, the order and page size
KEPT = ("_flt_", "q", "_oc_", "_od_", "psize_")
NAME_MAX, QUERY_MAX, PER_LIST = 40, 1000, 20


class SavedFilter(Model):
    __tablename__ = "saved_filter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    view_name: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    query: Mapped[str] = mapped_column(String(QUERY_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)

    __table_args__ = (UniqueConstraint("user_id", "view_name", "name", name="uq_saved_filter_name"),)


def list_query(query_string: str) -> str:
    """The part of a list's query string worth keeping (no page number, nothing else)."""
    pairs = [(k, v) for k, v in parse_qsl(query_string, keep_blank_values=False) if k.startswith(KEPT)]
    return urlencode(pairs)


def saved_filters(session: Session, user_id: int, view_name: str) -> list[SavedFilter]:
    query = select(SavedFilter).where(SavedFilter.user_id == user_id, SavedFilter.view_name == view_name)
    return list(session.execute(query.order_by(SavedFilter.name)).scalars())


def save_filter(session: Session, user_id: int, view_name: str, name: str, query_string: str) -> SavedFilter:
    """Save (or replace, by name) the current conditions; refused in Chinese when unusable."""
    name = " ".join((name or "").split())
    query = list_query(query_string)
    if not name:
        raise Refused("请为这组筛选条件起个名字")
    if len(name) > NAME_MAX:
        raise Refused(f"名称最多 {NAME_MAX} 个字")
    if not query:
        raise Refused("当前没有任何筛选条件，无需保存")
    if len(query) > QUERY_MAX:
        raise Refused("筛选条件过多，无法保存")
    found = session.execute(select(SavedFilter).where(
        SavedFilter.user_id == user_id, SavedFilter.view_name == view_name, SavedFilter.name == name)).scalar_one_or_none()
    if found is None:
        count = session.execute(select(func.count(SavedFilter.id)).where(
            SavedFilter.user_id == user_id, SavedFilter.view_name == view_name)).scalar_one()
        if count >= PER_LIST:
            raise Refused(f"每个列表最多保存 {PER_LIST} 组筛选条件，请先删除不用的")
        found = SavedFilter(user_id=user_id, view_name=view_name, name=name)
        session.add(found)
    found.query = query
    return found
