"""Workflows as explicit state machines: states, transitions, who may fire each.

A workflow is data: a tuple of :class:`Transition` (name, label, from which states,
to which state, whether a comment is required, an optional guard that can refuse in
Chinese, an optional effect). The name is also the permission (``can_<name>`` on the
entity's view), so the role matrix grants transitions like any other action. Firing
one records who, when and why in :class:`WorkflowEvent` (the timeline) and in the
audit trail. The state column is never editable through forms or REST; rows in a
frozen state cannot change at all (see ``models.workflow.install``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask_appbuilder import Model
from sqlalchemy import Index, Integer, String, Text, event, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Choices, Entity, admin_of, fixed_links
from models.clock import UTCDateTime, utc_now
from models.errors import Refused
from models.locks import lock_row

#: called after every fired transition as (session, obj, from_state, to_state, comment);
#: the audit trail registers itself here (models do not import the application)
TRANSITION_LISTENERS: list[Callable[..., None]] = []

#: a guard returns a Chinese refusal, or None when the transition may happen
Guard = Callable[[Any, Session], "str | None"]
Effect = Callable[[Any, Session], None]


class TransitionRefused(Refused):
    """A transition not allowed now; the message is shown to the user as is."""


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    source: tuple[str, ...]
    target: str
    comment_required: bool = False
    guard: Guard | None = None
    effect: Effect | None = None
    #: button style on the record's page
    style: str = "primary"
    #: whether the transition exists for this row at all (e.g. only for emergencies);
    #: a transition that does not apply is neither shown nor allowed
    applies: Callable[[Any], bool] | None = None
    #: where the row goes when that is decided by data, not by a person (a vote's
    #: tally): called after the guard, returns one of the states
    outcome: Callable[[Any, Session], str] | None = None
    #: columns the person fills in with the transition (a new deadline, a satisfaction
    #: level); they are set on the row before the guard runs, so the guard judges them
    inputs: tuple[str, ...] = ()
    #: whether the guard judges the inputs (then the page cannot say in advance whether the
    #: step will be refused); False when it reads only the row (a 备案 number does not matter)
    guard_reads_inputs: bool = True
    #: what cannot be undone, said in the confirmation dialog ("公示后向全体业主公开");
    #: a transition into a frozen state asks for confirmation even without one
    consequence: str = ""


@dataclass(frozen=True)
class Workflow:
    states: Choices
    transitions: tuple[Transition, ...]
    #: states in which nothing about the row (or its lines) may change any more
    frozen: frozenset[str] = frozenset()
    field: str = "state"
    #: fields that may still change in an otherwise frozen state (a settlement's cost)
    editable: dict[str, frozenset[str]] = dataclasses.field(default_factory=dict)

    def transition(self, name: str) -> Transition:
        for t in self.transitions:
            if t.name == name:
                return t
        raise TransitionRefused("没有这个操作")

    def available(self, obj: Any) -> list[Transition]:
        return [t for t in self.transitions
                if getattr(obj, self.field) in t.source and (t.applies is None or t.applies(obj))]

    def confirmation(self, obj: Any, t: Transition) -> str | None:
        """The question asked before an irreversible transition (None: it is not one)."""
        if not t.consequence and t.target not in self.frozen:
            return None
        what = t.consequence or "执行后内容冻结，不能再修改"
        return f"确定对「{obj}」执行「{t.label}」吗？{what}。"

    def refusal(self, session: Session, obj: Any, t: Transition) -> str | None:
        """What the guard would answer now, so the page can say it before the click.

        Run in a savepoint that is rolled back: a guard only reads, and whatever it might
        leave behind is undone. Transitions whose guard judges their inputs are judged on
        what the person fills in, so they are not asked in advance."""
        if t.guard is None or (t.inputs and t.guard_reads_inputs):
            return None
        savepoint = session.begin_nested()
        try:
            return t.guard(obj, session)
        except Refused as refused:
            return str(refused)
        finally:
            savepoint.rollback()

    def fire(self, session: Session, obj: Any, name: str, user: Any = None, comment: str = "",
             values: dict[str, Any] | None = None) -> "WorkflowEvent":
        """Move ``obj`` along one transition, or raise TransitionRefused (the caller rolls back).

        ``values``: what the person filled in for the transition's ``inputs``. The row is
        locked and re-read first: of two users firing at the same moment the second waits,
        then sees the new state and is refused with it.
        """
        t = self.transition(name)
        if t.applies is not None and not t.applies(obj):
            raise TransitionRefused(f"「{t.label}」不适用于此记录")
        lock_row(session, obj)
        state = getattr(obj, self.field)
        if state not in t.source:
            raise TransitionRefused(
                f"当前状态为「{self.states.label(state)}」，不能执行「{t.label}」"
            )
        comment = (comment or "").strip()
        if t.comment_required and not comment:
            raise TransitionRefused(f"「{t.label}」必须填写意见")
        # the flushes from here to the end of the transition may change a frozen row
        obj._firing_transition = True
        try:
            for field in t.inputs:
                setattr(obj, field, (values or {}).get(field))
            if t.guard and (message := t.guard(obj, session)):
                raise TransitionRefused(message)
            target = t.outcome(obj, session) if t.outcome else t.target
            setattr(obj, self.field, target)
            if t.effect:
                t.effect(obj, session)
            record = self.record(session, obj, t, state, target, comment, user)
            session.flush()
        finally:
            obj.__dict__.pop("_firing_transition", None)
        return record

    @staticmethod
    def record(session: Session, obj: Any, t: Transition, state: str, target: str, comment: str,
                user: Any) -> "WorkflowEvent":
        record = WorkflowEvent(
            table_name=obj.__tablename__, record_id=obj.id, transition=t.name,
            from_state=state, to_state=target, comment=comment[:1000],
            user_id=getattr(user, "id", None), username=getattr(user, "username", None) or "命令行",
            created_at=utc_now(),
        )
        session.add(record)
        for listener in TRANSITION_LISTENERS:
            listener(session, obj, state, target, comment)
        return record


class WorkflowEvent(Model):
    """One fired transition: the timeline of a record (who, when, from, to, why)."""

    __tablename__ = "workflow_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    transition: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str] = mapped_column(String(40))
    to_state: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_workflow_event_record", "table_name", "record_id"),)


def timeline(session: Session, obj: Any) -> list[WorkflowEvent]:
    query = (
        select(WorkflowEvent)
        .where(WorkflowEvent.table_name == obj.__tablename__, WorkflowEvent.record_id == obj.id)
        .order_by(WorkflowEvent.created_at, WorkflowEvent.id)
    )
    return list(session.execute(query).scalars())


# -- frozen rows ---------------------------------------------------------------------

class Frozen(Refused):
    """A change to a row (or a line of it) in a frozen state."""


def _persisted_state(obj: Any, field: str) -> Any:
    history = inspect(obj).attrs[field].history
    return history.deleted[0] if history.deleted else getattr(obj, field)


def _changed_fields(obj: Any) -> set[str]:
    state = inspect(obj)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def _frozen_owner(obj: Any) -> tuple[Any, Workflow] | None:
    """The workflow row that freezes ``obj``: itself, or the nearest one up the ``frozen_by`` chain."""
    admin = admin_of(type(obj))
    flow = getattr(admin, "workflow", None)
    if flow is not None:
        return obj, flow
    parent_name = getattr(admin, "frozen_by", None)
    if parent_name:
        parent = getattr(obj, parent_name)
        # a line of a line (a meeting's matter's candidate) is frozen by the document above both
        return _frozen_owner(parent) if parent is not None else None
    return None


def _moved_link(obj: Any) -> str | None:
    """The fixed relation (models.base.fixed_links) a changed row was moved along, if any:
    the relationship itself or its foreign-key column."""
    changed = _changed_fields(obj)
    mapper = inspect(type(obj))
    for name in fixed_links(type(obj)):
        link = mapper.relationships[name]
        if changed & {name, *(mapper.get_property_by_column(column).key for column in link.local_columns)}:
            return name
    return None


def _refuse_moved_lines(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.dirty:
        moved = _moved_link(obj) if isinstance(obj, Entity) else None
        if moved:
            label = admin_of(type(obj)).label
            parent = admin_of(inspect(type(obj)).relationships[moved].mapper.class_).label
            raise Frozen(f"{label}所属的{parent}创建后不能更改；如需调整，请删除后在另一{parent}中新增")


def _refuse_frozen_changes(session: Session, _context: Any, _instances: Any) -> None:
    for obj in [*session.dirty, *session.deleted, *session.new]:
        if not isinstance(obj, Entity):
            continue
        owner = _frozen_owner(obj)
        if owner is None:
            continue
        parent, flow = owner
        if obj is parent and obj in session.new:
            continue
        if getattr(parent, "_firing_transition", False):
            continue  # a transition's effect writes the row and its lines (a vote fixes each matter's rule)
        deleting = obj in session.deleted
        # a frozen row without lines changes nothing but is still removed by its delete
        if obj is parent and not deleting and not session.is_modified(obj, include_collections=False):
            continue
        state = _persisted_state(parent, flow.field) if parent in session.dirty else getattr(parent, flow.field)
        if obj is parent and state in flow.editable and not deleting \
                and _changed_fields(obj) <= flow.editable[state]:
            continue
        if state in frozen_in(type(obj)) and parent not in session.new:
            action = "delete" if deleting else "add" if obj in session.new else "edit"
            raise Frozen(frozen_refusal(type(obj), state, action))


_VERBS = {"add": "新增", "edit": "修改", "delete": "删除"}


@cache
def chain_to_flow(model: type) -> tuple[list[Any], type, Workflow] | None:
    """The relations from ``model`` up its ``frozen_by`` chain to the row whose workflow freezes it."""
    relations: list[Any] = []
    while (flow := getattr(admin_of(model), "workflow", None)) is None:
        parent_name = getattr(admin_of(model), "frozen_by", None)
        if not parent_name:
            return None
        relation = getattr(model, parent_name)
        relations.append(relation)
        model = relation.property.mapper.class_
    return relations, model, flow


@cache
def _changes_while(model: type) -> frozenset[str] | None:
    """The document's states in which rows of ``model`` may change, where a line up the chain
    declares them (``changes_while``: a survey's answer sheets and their answers, only while
    it is open); None: whenever the document is not frozen."""
    chain = chain_to_flow(model)
    lines = [model, *(relation.property.mapper.class_ for relation in chain[0][:-1])] if chain else []
    return next((admin_of(line).changes_while for line in lines if admin_of(line).changes_while is not None), None)


@cache
def frozen_in(model: type) -> frozenset[str]:
    """The states of its document (or of itself) in which a row of ``model`` cannot change."""
    chain = chain_to_flow(model)
    if chain is None:
        return frozenset()
    flow, open_in = chain[2], _changes_while(model)
    return flow.frozen if open_in is None else frozenset(flow.states.codes) - open_in


def frozen_refusal(model: type, state: str, action: str) -> str:
    """Why a row of ``model`` cannot be added, edited or deleted while its document (or the row
    itself) is in ``state``."""
    _relations, owner, flow = chain_to_flow(model)
    owner_label, verb = admin_of(owner).label, _VERBS[action]
    open_in = _changes_while(model)
    if open_in is not None:
        when = "、".join(f"「{flow.states.label(code)}」" for code in flow.states.codes if code in open_in)
        return (f"{admin_of(model).label}只能在{owner_label}处于{when}时{verb}，"
                f"所属{owner_label}现为「{flow.states.label(state)}」")
    whose = owner_label if model is owner else f"所属{owner_label}"
    refusal = f"{whose}处于「{flow.states.label(state)}」状态，不能{verb}"
    # the step that takes the document out of its frozen states, where there is one
    reopen = next((t.label for t in flow.transitions if state in t.source and t.target not in flow.frozen), None)
    return f"{refusal}；「{reopen}」后可再{verb}" if reopen else refusal


def frozen_states(session: Session, model: type, ids: Any) -> dict[Any, str]:
    """For the rows ``ids`` of ``model``: the frozen state of the row, or of the document it is a
    line of (rows not named are not frozen). One read serves a list's 编辑 and 删除 alike."""
    chain = chain_to_flow(model)
    if chain is None or not ids:
        return {}
    relations, owner, flow = chain
    state = getattr(owner, flow.field)
    query = select(model.id, state).where(model.id.in_(list(ids)), state.in_(sorted(frozen_in(model))))
    for relation in relations:
        query = query.join(relation)
    return {pk: code for pk, code in session.execute(query)}


def frozen_states_under(model: type, relation: str, document: Any, ids: Any) -> dict[Any, str] | None:
    """frozen_states of lines listed on their document's page (``relation`` leads from a line to
    ``document``): the document's own state, read with the page, instead of a query; None when
    the lines are frozen by something else than that document."""
    chain = chain_to_flow(model)
    if chain is None:
        return {}
    relations, owner, flow = chain
    if [r.key for r in relations] != [relation] or not isinstance(document, owner):
        return None
    state = getattr(document, flow.field)
    return dict.fromkeys(ids, state) if state in frozen_in(model) else {}


def frozen_state_of(obj: Any) -> str | None:
    """The frozen state of a loaded row, or of the document it is a line of (None: not frozen)."""
    owner = _frozen_owner(obj)
    state = getattr(owner[0], owner[1].field) if owner else None
    return state if state in frozen_in(type(obj)) else None


def frozen_refusals(session: Session, model: type, ids: Any, action: str,
                    states: Mapping[Any, str] | None = None) -> dict[Any, str]:
    """For the rows ``ids`` of ``model``: why ``action`` ("edit" or "delete") is refused because
    the row, or the document it is a line of, is in a frozen state (rows not named: allowed);
    ``states``: their frozen states, when already read. A state in which some fields stay
    editable (a settlement's cost) still allows the edit page."""
    chain = chain_to_flow(model)
    if chain is None or not ids:
        return {}
    relations, _owner, flow = chain
    still_editable = set(flow.editable) if action == "edit" and not relations else set()
    states = frozen_states(session, model, ids) if states is None else states
    return {pk: frozen_refusal(model, code, action) for pk, code in states.items() if code not in still_editable}


def line_add_refusal(session: Session, model: type, parent_id: int) -> str | None:
    """Why no line of ``model`` can be added to the document ``parent_id`` (its ``frozen_by``
    row) now: the document, or the one above it, is in a frozen state. On the document's own
    page the document is already loaded, and this reads nothing."""
    chain = chain_to_flow(model)
    if chain is None or not chain[0]:
        return None
    relations, _owner, flow = chain
    row = session.get(relations[0].property.mapper.class_, parent_id)
    for relation in relations[1:]:
        row = row and getattr(row, relation.key)
    code = row and getattr(row, flow.field)
    return frozen_refusal(model, code, "add") if code in frozen_in(model) else None


def install() -> None:
    if not event.contains(Session, "before_flush", _refuse_frozen_changes):
        event.listen(Session, "before_flush", _refuse_frozen_changes)
    if not event.contains(Session, "before_flush", _refuse_moved_lines):
        # first: a moved line is refused as such, before any check of where it went
        event.listen(Session, "before_flush", _refuse_moved_lines, insert=True)
