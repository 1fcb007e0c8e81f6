"""Who may see which estates: the scope of every signed-in user."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import (
    Permission, PermissionView, Role, User, ViewMenu, assoc_group_role, assoc_user_group, assoc_user_role)
from sqlalchemy import CheckConstraint, ForeignKey, Integer, event, func, inspect, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import ALL_ESTATES, Admin, Entity, Menu, fk, unique_where, zh
from models.estate import Estate
from models.region import Community, Street


class UserScope(Entity):
    """One grant: a user's access to an estate, to every estate of a 社区, or of a 街道."""

    __tablename__ = "user_scope"

    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    user: Mapped[User] = relationship(info=zh("用户"))
    estate_id: Mapped[int | None] = fk("estate.id", nullable=True, ondelete="CASCADE")
    estate: Mapped[Estate | None] = relationship(info=zh("小区", "物业人员、业委会委员：所服务/所在的小区"))
    community_id: Mapped[int | None] = fk("community.id", nullable=True, ondelete="CASCADE")
    community: Mapped[Community | None] = relationship(info=zh("社区", "社区监督员：本社区全部小区"))
    street_id: Mapped[int | None] = fk("street.id", nullable=True, ondelete="CASCADE")
    street: Mapped[Street | None] = relationship(info=zh("街道", "街道监督员：本街道全部小区"))

    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN estate_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN community_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN street_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_user_scope_one_level",
        ),
        # one key per level: a key over all three never matched, the two empty levels of a scope
        # being NULL, which equals nothing
        *(unique_where(f"uq_user_scope_{level}", "user_id", f"{level}_id", present=(f"{level}_id",),
                       message="该用户已有此管辖范围") for level in ("estate", "community", "street")),
    )

    def __str__(self) -> str:
        return f"{self.user} · {self.estate or self.community or self.street}"

    class Admin(Admin):
        label = "用户管辖范围"
        menu = Menu.SYSTEM
        icon = "fa-crosshairs"
        list_columns = ("user", "estate", "community", "street")
        search_columns = ("user", "estate", "community", "street")
        form_columns = ("user", "estate", "community", "street")
        scope_path = None
        rules = (
            lambda v: [("estate", "小区、社区、街道三者必须且只能选择一项")]
            if sum(v.get(k) is not None for k in ("estate", "community", "street")) != 1
            else [],
        )


def estate_ids_of(session: Session, user_id: Any) -> tuple[set[int], bool]:
    """Every estate a user's grants reach, and whether that is every estate there is
    (one query, not subject to scoping itself)."""
    def granted(column: Any) -> Any:
        return select(column).where(UserScope.user_id == user_id, column.is_not(None))

    every = select(func.count()).select_from(Estate).scalar_subquery()
    query = select(Estate.id, every).join(Community, Estate.community_id == Community.id).where(or_(
        Estate.id.in_(granted(UserScope.estate_id)),
        Estate.community_id.in_(granted(UserScope.community_id)),
        Community.street_id.in_(granted(UserScope.street_id)),
    ))
    rows = session.execute(query, execution_options={ALL_ESTATES: True}).all()
    return {estate_id for estate_id, _every in rows}, bool(rows) and len(rows) == rows[0][1]


def role_names(user: Any) -> frozenset[str]:
    """The roles a user holds: their own and those of their 用户组 (FAB grants permissions for
    both, so the scope, the menus and the choices offered must read both too)."""
    return frozenset({role.name for role in user.roles} | {role.name for group in user.groups for role in group.roles})


def holding(roles: Iterable[str]) -> Any:
    """The ids of the users holding one of ``roles``, themselves or through a 用户组 (SQL)."""
    roles = list(roles)
    direct = (select(assoc_user_role.c.user_id).join(Role, Role.id == assoc_user_role.c.role_id)
              .where(Role.name.in_(roles)))
    grouped = (select(assoc_user_group.c.user_id)
               .join(assoc_group_role, assoc_group_role.c.group_id == assoc_user_group.c.group_id)
               .join(Role, Role.id == assoc_group_role.c.role_id).where(Role.name.in_(roles)))
    return direct.union(grouped)


def people_of(session: Session, estate_id: int, roles: Iterable[str]) -> list[int]:
    """The active users holding one of ``roles`` whose grants reach this estate: who is told
    of what happens there (a scheduled bill run, a reminder)."""
    place = session.execute(select(Estate.community_id, Community.street_id)
                            .join(Community, Estate.community_id == Community.id).where(Estate.id == estate_id),
                            execution_options={ALL_ESTATES: True}).one()
    query = (select(User.id).join(UserScope, UserScope.user_id == User.id)
             .where(User.active.is_(True), User.id.in_(holding(roles)), or_(
                 UserScope.estate_id == estate_id, UserScope.community_id == place.community_id,
                 UserScope.street_id == place.street_id))
             .distinct().order_by(User.id))
    return list(session.execute(query, execution_options={ALL_ESTATES: True}).scalars())


class GrantsStamp(Model):
    """One number that changes whenever what any role grants changes (a role's permissions, or
    the permissions and views themselves): each process keeps the permission set of a set of
    roles under it, and a change made by any process is seen by all at their next request.
    Who holds which role needs no stamp: a user's roles are read with the user on each request."""

    __tablename__ = "grants_stamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (CheckConstraint("id = 1", name="ck_grants_stamp_single_row"),)


class ScopeStamp(Model):
    """One number that changes whenever the estates a grant reaches may change: a 用户辖区 row
    added, changed or removed, an estate or a community created, removed or moved. Each process
    keeps a user's estates under it (app.scoping); database triggers move it, so every writer
    counts (forms, imports, bulk loads, raw SQL), and a change is seen by every process at its
    next request."""

    __tablename__ = "scope_stamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (CheckConstraint("id = 1", name="ck_scope_stamp_single_row"),)


_GRANT_MODELS = (Permission, PermissionView, ViewMenu)


@event.listens_for(Session, "before_flush")
def _stamp_changed_grants(session: Session, _context: Any, _instances: Any) -> None:
    """A flush that changes a role's permissions, or a permission or view, moves the stamp."""
    changed = any(isinstance(obj, (*_GRANT_MODELS, Role)) for obj in (*session.new, *session.deleted)) or any(
        isinstance(obj, _GRANT_MODELS) or (isinstance(obj, Role) and inspect(obj).attrs.permissions.history.has_changes())
        for obj in session.dirty)
    if changed:
        session.execute(update(GrantsStamp).where(GrantsStamp.id == 1).values(version=GrantsStamp.version + 1))
