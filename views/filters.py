"""Filters that speak Chinese, for every list page and REST ``q`` alike.

Each column gets the operators of its kind (``models.filter_ops``): a closed list by its
Chinese labels, a yes/no column by 是/否, a relation by a scoped id, dates and amounts by
range. A value is typed before it reaches SQL: a code or its label, a date, an exact
decimal; anything else is refused in Chinese (a REST 400; on a page the filter is left
out and said so) and never silently ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from flask_appbuilder.exceptions import InvalidColumnFilterFABException, InvalidOperationFilterFABException
from flask_appbuilder.models.filters import BaseFilter, BaseFilterConverter, FilterRelation, Filters
from sqlalchemy import Integer, String, and_, false, inspect, or_, select

from models.base import INT_MAX, admin_of, contains, row_id
from models.filter_ops import OPS, column_kind
from models.rules import column_info

TEXT_MAX = 100


class BadFilter(InvalidOperationFilterFABException):
    """A filter the user cannot have meant: its message is shown as is (Chinese)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "筛选条件不正确"


def through(hops: list[Any], condition: Any) -> Any:
    """``condition`` on the row a path's relations lead to: along a many-to-one, the key is
    among the targets that meet it (``building_id IN (SELECT id FROM building WHERE …)``,
    read once, where ``has()``'s EXISTS was asked again for each of a city's 100,000 units);
    ``any()`` along a collection ("an owner with any title to this unit")."""
    for hop in reversed(hops):
        pairs = hop.property.local_remote_pairs
        if hop.property.uselist:
            condition = hop.any(condition)
        elif len(pairs) == 1:
            (key, target), = pairs
            condition = key.in_(select(target).where(condition))
        else:
            condition = hop.has(condition)
    return condition


def _walk(model: type, path: str) -> tuple[list[Any], type, str]:
    """The relations leading to the last name of ``path``, the model owning it, and the name."""
    hops, names = [], path.split(".")
    for name in names[:-1]:
        hops.append(getattr(model, name))
        model = inspect(model).relationships[name].mapper.class_
    return hops, model, names[-1]


def label_of(model: type, path: str) -> str:
    """A path's Chinese label: its last name's ("unit.building" reads 楼栋)."""
    _, owner, name = _walk(model, path)
    return column_info(owner, name).get("label", name)


def _add_filter_index(self: Filters, column_name: str, filter_instance_index: int, value: Any) -> None:
    """A list URL's ``_flt_<n>_<column>`` names the column's n-th filter; FAB indexes its list
    unchecked, so a number past the end was a 500. Ignored instead, as an unknown column is."""
    found = self._all_filters.get(column_name, [])
    if 0 <= filter_instance_index < len(found):
        self._add_filter(found[filter_instance_index], value)


# on FAB's class itself: its own views (accounts, roles, groups) parse list URLs with it too
Filters.add_filter_index = _add_filter_index


class AppFilter(BaseFilter):
    """One operator on one column path; ``parse`` types a raw value or raises BadFilter."""

    op: str = ""

    def __init__(self, column_name: str, datamodel: Any, is_related_view: bool = False):
        # FAB rebuilds filters from (column, class) pairs: the kind is read from the column
        self.kind = column_kind(datamodel.obj, column_name)
        self.arg_name = None  # never registered in FAB's global operator map (see AppFilters)
        super().__init__(column_name, datamodel, is_related_view)
        self.arg_name = self.op
        self.name = dict(OPS[self.kind])[self.op]
        self.hops, self.owner, self.leaf = _walk(self.model, column_name)
        self.label = label_of(self.model, column_name)

    # -- values -----------------------------------------------------------------------
    def parse(self, raw: Any) -> Any:
        if isinstance(raw, (list, tuple)):
            if self.op != "in":
                raise BadFilter(f"「{self.label}」只能填一个值")
            values = [self.parse_one(v) for v in raw if str(v).strip()]
            if not values:
                raise BadFilter(f"请为「{self.label}」选择至少一项")
            return values
        if self.op == "in":
            return [self.parse_one(raw)]
        return self.parse_one(raw)

    def parse_one(self, raw: Any) -> Any:
        text = "" if raw is None else str(raw).strip()
        if self.kind == "text":
            if len(text) > TEXT_MAX:
                raise BadFilter(f"「{self.label}」的筛选内容过长")
            return text
        if not text:
            raise BadFilter(f"请填写「{self.label}」的筛选值")
        if self.kind == "choice":
            code = self.choices.code_for(text)
            if code is None:
                raise BadFilter(f"「{self.label}」没有「{text[:20]}」这一项")
            return code
        if self.kind == "boolean":
            if text.lower() in ("是", "1", "y", "true", "yes"):
                return True
            if text.lower() in ("否", "0", "n", "false", "no"):
                return False
            raise BadFilter(f"「{self.label}」请选择 是 或 否")
        if self.kind == "relation":
            if (found := row_id(text)) is None:
                raise BadFilter(f"所选的「{self.label}」不存在")
            return found
        if self.kind == "number":
            return self._number(text)
        return self._date(text)

    @property
    def choices(self) -> Any:
        return self.owner.__table__.columns[self.leaf].info["choices"]

    def _number(self, text: str) -> Any:
        column = self.owner.__table__.columns[self.leaf]
        try:
            value = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise BadFilter(f"「{self.label}」请填写数字") from None
        if not value.is_finite() or abs(value) >= Decimal(10) ** 15:
            raise BadFilter(f"「{self.label}」请填写数字")
        if isinstance(column.type, Integer):
            if value != value.to_integral_value() or abs(value) > INT_MAX:
                raise BadFilter(f"「{self.label}」请填写整数")
            return int(value)
        return value

    def _date(self, text: str) -> Any:
        try:
            day = dt.date.fromisoformat(text.replace("/", "-")[:10])
        except ValueError:
            raise BadFilter(f"「{self.label}」请填写日期，如 2026-01-31") from None
        return dt.datetime.combine(day, dt.time()) if self.kind == "datetime" else day

    # -- SQL ---------------------------------------------------------------------------
    def condition(self, value: Any) -> Any:
        column = getattr(self.owner, self.leaf)
        if self.kind == "relation":
            rel = inspect(self.owner).relationships[self.leaf]
            fk = getattr(self.owner, next(iter(rel.local_columns)).key)
            if self.op == "rel_o_m":
                return fk == value
            return or_(fk != value, fk.is_(None))
        if self.kind == "datetime" and self.op in ("eq", "neq", "le", "gt"):
            # a day filter on a timestamp means the whole day
            start, end = value, value + dt.timedelta(days=1)
            return {"eq": and_(column >= start, column < end), "neq": or_(column < start, column >= end),
                    "le": column < end, "gt": column >= end}[self.op]
        if self.op == "sw":
            return column.istartswith(value, autoescape=True)
        if self.op == "ew":
            return column.iendswith(value, autoescape=True)
        if self.op == "ct":
            return contains(self.owner, self.leaf, value, _dialect(self.datamodel))
        if self.op == "in":
            return column.in_(value)
        if self.op == "neq":
            return or_(column != value, column.is_(None))
        return {"eq": column == value, "gt": column > value, "lt": column < value,
                "ge": column >= value, "le": column <= value}[self.op]

    def expression(self, value: Any) -> Any:
        return through(self.hops, self.condition(self.parse(value)))

    def apply(self, query: Any, value: Any) -> Any:
        return query.filter(self.expression(value))


#: one class per operator (FAB recreates a filter from its class and column); relation
#: filters are FAB FilterRelations, so a form opened from a filtered list is prefilled
FILTER_CLASSES = {op: type(f"Filter_{op}", (AppFilter, FilterRelation) if op in dict(OPS["relation"]) else (AppFilter,),
                           {"op": op})
                  for ops in OPS.values() for op, _ in ops}


class AppFilterConverter(BaseFilterConverter):
    """Every column path gets the operators of its kind, in ``OPS`` order."""

    def convert(self, col_name: str) -> list[AppFilter] | None:
        kind = column_kind(self.datamodel.obj, col_name)
        if kind is None:
            return None
        return [FILTER_CLASSES[op](col_name, self.datamodel) for op, _ in OPS[kind]]


class AppFilters(Filters):
    """FAB's Filters with dotted paths ("unit.building"), typed values and REST operators
    looked up on the column itself (FAB's global operator map depends on import order)."""

    def __init__(self, filter_converter: Any, datamodel: Any, search_columns: Any = None,
                 search_filters: Any = None):
        super().__init__(filter_converter, datamodel, search_columns, search_filters)
        for column, found in self._search_filters.items():
            self._all_filters.setdefault(column, found)

    def rest_add_filters(self, data: Any) -> None:
        if not isinstance(data, list):
            raise BadFilter("filters 必须是列表")
        for item in data:
            if not isinstance(item, dict) or not {"col", "opr", "value"} <= set(item):
                raise BadFilter("每个筛选条件须包含 col、opr、value")
            column, op, value = item["col"], item["opr"], item["value"]
            if column not in self.search_columns:
                raise InvalidColumnFilterFABException(f"不能按「{column}」筛选")
            found = next((f for f in self._search_filters.get(column, []) if f.op == op), None)
            if found is None:
                names = "、".join(f"{f.op}（{f.name}）" for f in self._search_filters.get(column, []))
                raise BadFilter(f"「{label_of(self.datamodel.obj, column)}」不支持运算符「{op}」，可用：{names}")
            found.parse(value)
            self._add_filter(found, value)

    def apply_all(self, query: Any) -> Any:
        for flt, value in zip(self.filters, self.values):
            if isinstance(flt, AppFilter):
                query = flt.apply(query, value)
            elif isinstance(value, list) and flt.arg_name not in {"in", "not_in"}:
                for item in value:
                    query = flt.apply(query, item)
            else:
                query = flt.apply(query, value)
        return query

    def _with(self, filters: list[Any], values: list[Any]) -> "AppFilters":
        """A copy holding these active filters (FAB's copies rebuild every column's filters)."""
        copied = AppFilters.__new__(AppFilters)
        copied.__dict__.update(self.__dict__)
        copied.filters, copied.values = filters, values
        return copied

    def get_joined_filters(self, filters: Any) -> "AppFilters":
        return self._with(self.filters + filters.filters, self.values + filters.values)

    def copy(self) -> "AppFilters":
        return self._with(list(self.filters), list(self.values))


# -- the request's filters on a page --------------------------------------------------------

def request_filters(filters: AppFilters, args: Any) -> list[str]:
    """Read ``_flt_<n>_<column>`` from the request into ``filters``; returns the refusals
    (Chinese) of values that could not be meant, which are left out."""
    filters.clear_filters()
    problems = []
    for arg in args:
        match = re.fullmatch(r"_flt_(\d)_(.+)", arg)
        if not match:
            continue
        index, column = int(match.group(1)), match.group(2)
        found = filters.get_search_filters().get(column, [])
        if index >= len(found):
            continue
        flt = found[index]
        if not isinstance(flt, AppFilter):  # an entity's own filter (超时): its value is a switch
            filters._add_filter(flt, args.get(arg))
            continue
        raw = args.getlist(arg)
        raw = raw if flt.op == "in" else [v for v in raw if str(v).strip()]
        if not raw or (flt.kind == "text" and not "".join(raw).strip()):
            continue
        try:
            flt.parse(raw if flt.op == "in" or len(raw) > 1 else raw[0])
        except BadFilter as refused:
            problems.append(str(refused))
            continue
        filters._add_filter(flt, raw if flt.op == "in" or len(raw) > 1 else raw[0])
    return problems


def _dialect(datamodel: Any) -> str:
    return datamodel.session.get_bind().dialect.name


class KeywordFilter(BaseFilter):
    """Django admin's ``search_fields``: one box, every declared column, any match."""

    name = "关键字"
    arg_name = None

    def __init__(self, datamodel: Any, paths: tuple[str, ...], hidden: frozenset[str]):
        self.column_name, self.datamodel, self.model = "id", datamodel, datamodel.obj
        self.is_related_view = False
        self.paths, self.hidden = paths, hidden

    def apply(self, query: Any, value: Any) -> Any:
        # as Django admin: every word must match one of the columns ("1号楼 出租")
        for word in str(value).strip()[:TEXT_MAX].split()[:5]:
            matches = [m for m in (self.match(path, word) for path in self.paths) if m is not None]
            query = query.filter(or_(*matches) if matches else false())
        return query

    def match(self, path: str, text: str) -> Any:
        hops, owner, name = _walk(self.model, path)
        column = getattr(owner, name)
        info = column_info(owner, name)
        if path in self.hidden:
            condition = column == text  # a masked number is found only when typed whole
        elif "choices" in info:
            codes = [c for c, label in info["choices"].pairs if text in label]
            condition = column.in_(codes) if codes else None
        elif isinstance(column.type, String):
            condition = contains(owner, name, text, _dialect(self.datamodel))
        else:
            condition = column == int(text) if text.isascii() and text.isdigit() and int(text) <= INT_MAX else None
        return None if condition is None else through(hops, condition)


def keyword_paths(model: type) -> tuple[str, ...]:
    """What the keyword box searches: declared, else the text columns among the filters."""
    admin = admin_of(model)
    if admin.keyword_columns:
        return tuple(admin.keyword_columns)
    return tuple(p for p in admin.search_columns if column_kind(model, p) == "text")


# -- what the page shows of them ------------------------------------------------------------

def without(args: Any, *names: str) -> str:
    """The query string of ``args`` less ``names`` (and less the page number)."""
    kept = [(k, v) for k in args for v in args.getlist(k)
            if k not in names and not k.startswith("page_")]
    return urlencode(kept)


def display_value(flt: AppFilter, value: Any, session: Any) -> str:
    values = value if isinstance(value, list) else [value]
    typed = [flt.parse_one(v) for v in values]
    if flt.kind == "choice":
        return "、".join(flt.choices.label(v) for v in typed)
    if flt.kind == "boolean":
        return "是" if typed[0] else "否"
    if flt.kind == "relation":
        target = inspect(flt.owner).relationships[flt.leaf].mapper.class_
        row = session.query(target).filter(target.id == typed[0]).first()  # under the scope
        return str(row) if row is not None else "（不存在）"
    return "、".join(str(v) for v in typed)


def arg_name(filters: AppFilters, flt: AppFilter) -> str:
    return f"_flt_{filters.get_search_filters()[flt.column_name].index(flt)}_{flt.column_name}"


def _control(view: Any, filters: AppFilters, column: str, args: Any) -> dict[str, Any] | None:
    """One filter's input above the list, in the simplest form for its kind."""
    from flask import current_app, url_for

    found = {f.op: f for f in filters.get_search_filters().get(column, []) if isinstance(f, AppFilter)}
    if not found:
        return None
    first = next(iter(found.values()))
    control: dict[str, Any] = {"column": column, "label": first.label, "kind": first.kind}
    if first.kind == "choice":
        flt = found["in"]
        control.update(arg=arg_name(filters, flt), options=first.choices.pairs,
                       selected=set(args.getlist(arg_name(filters, flt))) | set(args.getlist(arg_name(filters, found["eq"]))))
    elif first.kind == "boolean":
        control.update(arg=arg_name(filters, found["eq"]), value=args.get(arg_name(filters, found["eq"]), ""))
    elif first.kind == "relation":
        target = inspect(first.owner).relationships[first.leaf].mapper.class_
        target_view = f"{target.__name__}View"
        if not current_app.appbuilder.sm.has_access("can_list", target_view):
            return None  # the picker searches the target's list: who cannot list it filters by URL only
        flt = found["rel_o_m"]
        name = arg_name(filters, flt)
        control.update(arg=name, url=url_for(f"{target_view}.lookup"), selected=None)
        raw = args.get(name, "")
        if raw:
            try:
                control["selected"] = (raw, display_value(flt, raw, view.datamodel.session))
            except BadFilter:
                pass
    elif first.kind == "number" and isinstance(first.owner.__table__.columns[first.leaf].type, Integer):
        flt = found["eq"]  # 单元 2, 楼层 5: a count is looked up by its value
        control.update(kind="integer", arg=arg_name(filters, flt), value=args.get(arg_name(filters, flt), ""))
    elif first.kind in ("number", "date", "datetime"):
        low, high = arg_name(filters, found["ge"]), arg_name(filters, found["le"])
        control.update(low=low, high=high, low_value=args.get(low, ""), high_value=args.get(high, ""))
    else:
        flt = found["ct"]
        control.update(arg=arg_name(filters, flt), value=args.get(arg_name(filters, flt), ""))
    return control


def panel(view: Any, filters: AppFilters, problems: list[str], args: Any) -> dict[str, Any]:
    """What the list page shows of its filters: inputs, active conditions as removable chips,
    refusals, and the keyword box."""
    session = view.datamodel.session
    chips = []
    for flt, value in zip(filters.filters, filters.values):
        if flt.is_related_view:
            continue
        if isinstance(flt, AppFilter):
            text = f"{flt.label} {flt.name} {display_value(flt, value, session)}"
        else:
            text = f"{label_of(view.datamodel.obj, flt.column_name)} {flt.name}"
        chips.append({"text": text, "remove": without(args, arg_name(filters, flt))})
    keyword = args.get("q", "").strip()[:TEXT_MAX]
    if keyword:
        chips.insert(0, {"text": f"关键字：{keyword}", "remove": without(args, "q")})
    controls = [c for c in (_control(view, filters, col, args) for col in view.search_columns) if c]
    return {
        "keyword": keyword,
        "keyword_placeholder": "、".join(label_of(view.datamodel.obj, p) for p in keyword_paths(view.datamodel.obj)),
        "controls": controls,
        "chips": chips,
        "problems": problems,
        "clear": without(args, *[a for a in args if a.startswith("_flt_") or a == "q"]),
    }
