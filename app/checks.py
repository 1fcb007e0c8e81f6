"""Every declaration checked at start-up, as Django's system checks do.

A typo in a model's ``Admin`` (a list column that does not exist, a sort term, a scope
path), an action in the role matrix that its entity does not offer, or two extensions of
one entity would otherwise be dropped silently or fail on the first page that uses it.
The app refuses to start and names each declaration that is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import inspect

from models.base import declared_entities
from models.filter_ops import column_kind
from models.workflow import chain_to_flow


class DeclarationError(RuntimeError):
    """The declarations that are wrong, one per line."""


def _resolves(model: type, path: str, *, columns_only: bool = False, to_one: bool = False) -> bool:
    """Whether ``path`` ("room_no", "building", "building.estate.name") names an attribute;
    ``to_one``: only along many-to-one relations (a sort cannot follow a collection)."""
    names = path.split(".")
    for depth, name in enumerate(names):
        mapper = inspect(model)
        if name in mapper.relationships:
            if to_one and mapper.relationships[name].uselist:
                return False
            if depth == len(names) - 1:
                return not columns_only
            model = mapper.relationships[name].mapper.class_
        elif name in mapper.column_attrs:
            return depth == len(names) - 1
        else:
            return False
    return False


def _entity_problems(model: type) -> Iterator[str]:
    admin = model.Admin
    where = f"{model.__name__}.Admin"
    attributes = set(inspect(model).attrs.keys())
    computed = set(admin.computed)

    def unknown(names: Any, what: str, allow_computed: bool = False) -> Iterator[str]:
        for name in names:
            if name in attributes or (allow_computed and name in computed):
                continue
            yield f"{where}.{what}: 「{name}」不是 {model.__name__} 的字段"

    yield from unknown(admin.list_columns, "list_columns", allow_computed=True)
    yield from unknown(admin.show_columns, "show_columns", allow_computed=True)
    yield from unknown(admin.form_columns, "form_columns")
    yield from unknown(admin.details, "details")
    for name in admin.search_columns:
        if column_kind(model, name) is None:
            yield f"{where}.search_columns: 「{name}」不能作为筛选条件（不存在或是一对多集合）"
    for what in ("keyword_columns", "lookup_columns"):
        for path in getattr(admin, what):
            if not _resolves(model, path, columns_only=True):
                yield f"{where}.{what}: 「{path}」不是 {model.__name__} 的字段路径"
    for path in admin.str_loads:
        if not _resolves(model, path) or _resolves(model, path, columns_only=True):
            yield f"{where}.str_loads: 「{path}」不是 {model.__name__} 的关联路径"
    order_column, direction = admin.order_by
    if order_column not in attributes or direction not in ("asc", "desc"):
        yield f"{where}.order_by: 「{order_column} {direction}」无法排序"
    for column, terms in admin.sort_by.items():
        if column not in attributes:
            yield f"{where}.sort_by: 「{column}」不是 {model.__name__} 的字段"
        for term in terms:
            if not _resolves(model, term, columns_only=True, to_one=True):
                yield f"{where}.sort_by[{column}]: 「{term}」不是字段路径（经过的关联须为多对一）"
    if admin.scope_path is not None and not _resolves(model, admin.scope_path, columns_only=True):
        yield f"{where}.scope_path: 「{admin.scope_path}」不是字段路径"
    if admin.frozen_by is not None and admin.frozen_by not in inspect(model).relationships:
        yield f"{where}.frozen_by: 「{admin.frozen_by}」不是关联"
    if admin.changes_while is not None:
        chain = chain_to_flow(model) if admin.frozen_by in inspect(model).relationships else None
        if chain is None:
            yield f"{where}.changes_while: 须经 frozen_by 关联到有流程的单据"
        elif not admin.changes_while <= set(chain[2].states.codes):
            yield f"{where}.changes_while: 「{'、'.join(sorted(admin.changes_while))}」不全是所属单据的状态"
    for link in admin.fixed_links:
        if link not in inspect(model).relationships or inspect(model).relationships[link].direction.name != "MANYTOONE":
            yield f"{where}.fixed_links: 「{link}」不是多对一关联"
    flow = admin.workflow
    if flow is not None:
        if flow.field not in attributes:
            yield f"{where}.workflow: 状态字段「{flow.field}」不存在"
        for t in flow.transitions:
            for state in (*t.source, t.target):
                if state not in flow.states.labels:
                    yield f"{where}.workflow: 流转「{t.name}」的状态「{state}」未在状态列表中声明"
            for name in t.inputs:
                if name not in attributes:
                    yield f"{where}.workflow: 流转「{t.name}」的填写项「{name}」不是字段"


def _matrix_problems() -> Iterator[str]:
    """An action a grant names must exist on some entity it covers (``aprove`` is a typo,
    not a grant); the generic levels (READ, MANAGE) may name actions an entity lacks."""
    from app.roles import MANAGE, MATRIX, READ, available_actions

    entities = declared_entities()
    by_name = {m.__name__: m for m in entities}
    generic = READ | MANAGE
    for role, grants in MATRIX.items():
        for key, actions in grants.items():
            covered = [by_name[key]] if isinstance(key, str) and key in by_name else \
                [m for m in entities if m.Admin.menu == key]
            if isinstance(key, str) and key not in by_name:
                yield f"角色矩阵 {role}: 「{key}」不是已声明的实体"
                continue
            offered = set().union(*(available_actions(m) for m in covered)) if covered else set()
            for action in sorted(set(actions) - generic - offered):
                target = key if isinstance(key, str) else key[0]
                yield f"角色矩阵 {role} → {target}: 没有「{action}」这个操作"


def _reference_problems(tables: Iterable[Any]) -> Iterator[str]:
    """A reference left to the database's other keys (``implied_reference``) must follow from
    one it checks: the column is in a checked key of its table whose target column is itself a
    checked reference to the same row (bill.estate_id in (unit_id, estate_id) -> unit, and
    unit.estate_id -> estate)."""
    from models.base import is_implied

    for table in tables:
        checked = [c for c in table.foreign_key_constraints if not is_implied(c)]
        for implied in filter(is_implied, table.foreign_key_constraints):
            (reference,) = implied.elements
            vouched = any(
                element.parent is reference.parent and any(
                    further.column is reference.column and not is_implied(further.constraint)
                    for further in element.column.foreign_keys)
                for key in checked for element in key.elements)
            if not vouched:
                yield (f"{table.name}.{reference.parent.name}: 不建的外键（→ {reference.target_fullname}）"
                       "没有本表受检查的复合外键保证")


def _deletion_problems(models: Iterable[type]) -> Iterator[str]:
    """What deleting a row does to the rows that refer to it is the foreign key's ON DELETE, as
    the schema says and ``models.deleting`` reads it: a collection either deletes its rows with
    the owner or leaves them to the database (``passive_deletes="all"``). By default the ORM
    would instead blank their reference, and a 物业企业 deleted would leave its 小区 without one."""
    from sqlalchemy.orm import RelationshipDirection

    for model in models:
        for relation in inspect(model).relationships:
            if relation.direction is RelationshipDirection.ONETOMANY and not relation.viewonly \
                    and not relation.cascade.delete and relation.passive_deletes != "all":
                yield (f"{model.__name__}.{relation.key}: 删除时应由数据库的 ON DELETE 决定"
                       "（cascade=\"all, delete-orphan\" 或 passive_deletes=\"all\"）")


def problems() -> list[str]:
    from flask_appbuilder import Model

    found: list[str] = list(_reference_problems(Model.metadata.tables.values()))
    for model in declared_entities():
        found += _entity_problems(model)
    found += _deletion_problems(declared_entities())
    found += _matrix_problems()
    from views.registry import DUPLICATE_EXTENSIONS

    found += [f"{name}: 同一实体有两个扩展（{first} 与 {second}），请合并为一个" for name, first, second
              in DUPLICATE_EXTENSIONS]
    return found


def check_declarations() -> None:
    found = problems()
    if found:
        raise DeclarationError("声明有误，应用不能启动：\n" + "\n".join(found))
