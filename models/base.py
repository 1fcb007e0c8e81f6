"""The declarative schema.

Every entity is a typed SQLAlchemy model. What the UI needs to know about a column
(Chinese label, help text, value check, choices) sits in the column's ``info`` via
:func:`zh`; what it needs to know about the entity (menu, list/search columns,
ordering, cross-field rules) sits in an inner ``Admin`` class, in the spirit of
Django's ``ModelAdmin``. ``views.registry`` turns both into Flask-AppBuilder views,
REST APIs, menus, exports and imports, so a new entity costs a model and its
declaration.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from flask_appbuilder import Model
from flask_appbuilder.models.mixins import FileColumn
from sqlalchemy import (
    ARRAY, Boolean, CheckConstraint, ColumnElement, Date, DateTime, ForeignKey, ForeignKeyConstraint, Index, Integer,
    Numeric, String, TypeDecorator, any_, event, inspect, literal, literal_column, select, table as sql_table, text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

#: execution option of the few queries that must read across estates (see app.scoping)
ALL_ESTATES = "all_estates"


def among(column: Any, estate_ids: Iterable[int], dialect: str) -> ColumnElement[bool]:
    """``column IN (estate_ids)`` as each database reads it best. One id is an equality, which
    PostgreSQL (before 17) needs to read rows in an index's order: "estate_id = ANY('{1}')" made
    a manager's newest bills a backward scan of every bill. Several are one array parameter on
    PostgreSQL rather than one placeholder each: a city's official has a thousand estates, and
    rendering, sending and parsing a thousand placeholders cost each statement ~9 ms (psycopg)."""
    ids = sorted(estate_ids)
    if len(ids) == 1:
        return column == literal(ids[0], Integer)
    if dialect == "postgresql":
        return column == any_(literal(ids, ARRAY(Integer)))
    return column.in_(ids)


def postgresql_index(name: str, *columns: str, **options: Any) -> Index:
    """An index only PostgreSQL builds: a trigram or partial index that SQLite (the laptop's
    database, where scans are cheap) could not use."""
    return Index(name, *columns, **options).ddl_if(dialect="postgresql")


#: (table, column) of the 包含 searches a trigram index answers: pg_trgm's GIN index on
#: PostgreSQL, an FTS5 table of the trigram tokenizer on SQLite (``sqlite_trigram_table``, kept
#: by the triggers of migration b5e3d9a1f7c2)
TRIGRAM_SEARCHES: set[tuple[str, str]] = set()


def trigram_index(table: str, column: str) -> Index:
    """For 包含 searches (``ILIKE '%…%'``) on a large table: pg_trgm's GIN index, which
    answers a pattern of three or more characters without reading every row."""
    TRIGRAM_SEARCHES.add((table, column))
    return postgresql_index(f"ix_{table}_{column}_trgm", column, postgresql_using="gin",
                            postgresql_ops={column: "gin_trgm_ops"})


def unique_where(name: str, *columns: str, message: str, present: Sequence[str] = (),
                 empty: Sequence[str] = ()) -> Index:
    """Unique among the rows whose ``present`` columns are set and whose ``empty`` ones are not
    (a partial unique index, on both databases), with the message a duplicate gets.

    A unique constraint lets rows repeat when one of its columns is empty (NULL equals nothing):
    over columns of which one is always empty it refuses nothing (a 用户管辖范围 names a 小区, a
    社区 or a 街道), and it still writes an entry for each such row (every house's bill in the 车位
    key: one index more per bill of a bill run). ``models.rules`` checks it like a constraint."""
    if not set(present) <= set(columns) or set(empty) & set(columns) or not (present or empty):
        # the form's check skips a row whose key has an empty column: the index must skip it too
        raise ValueError(f"{name}: present 须是键里的列、empty 须是键外的列，至少给一项")
    where = text(" AND ".join([f"{c} IS NOT NULL" for c in present] + [f"{c} IS NULL" for c in empty]))
    return Index(name, *columns, unique=True, sqlite_where=where, postgresql_where=where,
                 info={"message": message, "empty": tuple(empty)})


def sqlite_trigram_table(table: str, column: str) -> str:
    return f"{table}_{column}_trgm"


def contains(owner: Any, name: str, text: str, dialect: str) -> Any:
    """``owner.name`` contains ``text``, case-insensitive (a 包含 search). On SQLite a column
    with a trigram table is read from it for three characters or more (fewer match no
    trigram), where LIKE reads every row; PostgreSQL's ILIKE finds pg_trgm's index itself."""
    column = getattr(owner, name)
    table = column.property.columns[0].table.name
    if dialect == "sqlite" and len(text) >= 3 and (table, name) in TRIGRAM_SEARCHES:
        fts = sqlite_trigram_table(table, name)
        phrase = '"' + text.replace('"', '""') + '"'  # one quoted phrase: every character literal
        matching = select(literal_column("rowid")).select_from(sql_table(fts)).where(
            literal_column(fts).op("MATCH")(phrase))
        return owner.id.in_(matching)
    if dialect == "sqlite":  # its LIKE ignores the case of ASCII letters, as its lower() does: no lower() per row
        return column.contains(text, autoescape=True)
    return column.icontains(text, autoescape=True)


def _never(*_args: Any, **_kwargs: Any) -> bool:
    return False


def implied_reference(column: str, target: str) -> ForeignKeyConstraint:
    """A reference the ORM joins through (relationships, the 小区 scope, the filters) that the
    database does not check by itself, because a composite key of the same table already
    implies it (start-up checks that one does): every key the database checks costs each row
    of a bill run."""
    return ForeignKeyConstraint([column], [target]).ddl_if(callable_=_never)


def is_implied(constraint: Any) -> bool:
    """Whether ``constraint`` was declared by :func:`implied_reference` (never built)."""
    only = getattr(constraint, "_ddl_if", None)
    return only is not None and only.callable_ is _never


def same_estate_key(table: str) -> Index:
    """(id, estate_id) of ``table``, unique: what a composite foreign key names to say that a
    row links to a ``table`` row of its own 小区."""
    return Index(f"uq_{table}_id_estate", "id", "estate_id", unique=True)


def built_on(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object``: what the models declare for another database only is
    not expected in this one."""
    searches = {sqlite_trigram_table(*pair) for pair in TRIGRAM_SEARCHES}

    def include(obj: Any, name: Any, kind: Any, reflected: Any, _compare_to: Any) -> bool:
        # SQLite's trigram tables, and the tables FTS5 keeps for them, are a migration's alone
        if kind == "table" and reflected and any(name == fts or name.startswith(f"{fts}_") for fts in searches):
            return False
        only = getattr(obj, "_ddl_if", None)
        return only is None or (only.dialect in (None, dialect) and not is_implied(obj))
    return include


class ExactDecimal(TypeDecorator):
    """NUMERIC(p, s) that stays exact on every database.

    PostgreSQL's NUMERIC is exact. SQLite has no decimal type and would keep the
    value as a binary float, so there it is stored as an integer count of 10^-s
    (cents, hundredths of a ㎡): sums, comparisons and CHECKs stay exact. Only
    scale-free CHECKs (> 0, a <= b, a = b - c) are declared on such columns.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int):
        super().__init__(precision, scale, asdecimal=True)
        self.quantum = Decimal(1).scaleb(-scale)
        self.exponent = -scale

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        value = Decimal(str(value)) if not isinstance(value, Decimal) else value
        value = value.quantize(self.quantum, rounding=ROUND_HALF_UP)  # as NUMERIC(p, s) rounds
        if dialect.name == "sqlite":
            return int(value.scaleb(-self.exponent))
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            if type(value) is int:  # the stored count of 10^-s: scaleb is exact, at this scale
                return Decimal(value).scaleb(self.exponent)
            return (Decimal(value).scaleb(self.exponent)).quantize(self.quantum)
        return value


def decimal_text(value: Decimal) -> str:
    """How an amount, area or price reads everywhere: at least two decimals, no trailing zeros
    beyond (2.95 not 2.9500, 0.355 stays, 1200 reads 1200.00)."""
    text = f"{value.normalize():f}" if value else "0"
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def is_decimal(column_type: Any) -> bool:
    return isinstance(column_type, (Numeric, ExactDecimal))


def value_kind(column: Any) -> str:
    """What a column holds, as forms, filters and Excel treat it: "choice", "bool",
    "datetime", "date", "decimal", "int" or "text"."""
    if "choices" in column.info:
        return "choice"
    kind = column.type
    if is_decimal(kind):
        return "decimal"
    if isinstance(kind, TypeDecorator):  # UTCDateTime is a DateTime to every reader
        kind = kind.impl_instance
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, DateTime):
        return "datetime"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, Integer):
        return "int"
    return "text"


#: the largest id: every id column is a 32-bit INTEGER (PostgreSQL refuses a larger value)
INT_MAX = 2**31 - 1


def row_id(text: object) -> int | None:
    """A record id sent as text: ASCII digits within the id columns' range, else None
    (``str.isdigit`` also passes "²", which ``int`` refuses, and numbers no row can have)."""
    text = str(text)
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= INT_MAX else None


def small_number(text: str, below: int) -> int | None:
    """A count typed as text (months, a page number): ASCII digits, less than ``below``."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= len(str(below)) and int(text) < below \
        else None

#: 建筑面积/套内面积 in ㎡ and money in 元: exact decimals, never floats.
Area = ExactDecimal(12, 2)
Money = ExactDecimal(14, 2)

#: A value check: returns a Chinese error message, or None when the value is fine.
Check = Callable[[Any], "str | None"]


class Choices:
    """A closed list of ASCII codes with Chinese labels (stored: code; shown: label)."""

    def __init__(self, *pairs: tuple[str, str]):
        self.pairs = tuple(pairs)
        self.labels = dict(pairs)
        self.codes = tuple(code for code, _ in pairs)

    def label(self, code: str | None) -> str:
        return self.labels.get(code, code or "")

    def code_for(self, text: str) -> str | None:
        """Accepts either a code or its label (imports are typed by people)."""
        if text in self.labels:
            return text
        return next((c for c, label in self.pairs if label == text), None)

    def constraint(self, column: str, name: str) -> CheckConstraint:
        codes = ", ".join(f"'{c}'" for c in self.codes)
        return CheckConstraint(f"{column} IN ({codes})", name=name)


def zh(
    label: str,
    description: str = "",
    *,
    check: Check | None = None,
    choices: Choices | None = None,
    masked: str | None = None,
    login: bool = False,
    normalize: Callable[[str], str] | None = None,
    local: bool = False,
) -> dict[str, Any]:
    """Column ``info``: the Chinese label and the rules that belong to one value.

    ``login``: the column keeps a login name; pages show the person's name instead.
    ``local``: a setting a district may set for itself (models.settings.LocalSetting).
    ``normalize``: how a typed value is written before it is checked, compared and stored
    (full-width digits, spaces, +86); a check may carry its own (``check.normalize``)."""
    info: dict[str, Any] = {"label": label}
    normalize = normalize or getattr(check, "normalize", None)
    if normalize is not None:
        info["normalize"] = normalize
    if login:
        info["login"] = True
    if description:
        info["description"] = description
    if check is not None:
        info["check"] = check
    if choices is not None:
        info["choices"] = choices
    if masked is not None:
        info["masked"] = masked  # "id_card" | "mobile": personal data, masked on pages and exports (views/masking.py)
    if local:
        info["local"] = True
    return info


def natural_key(text: str | None) -> str:
    """A text that sorts as people read numbers: every run of digits padded to 10 places.

    ``1-101 < 1-1001`` and ``2号楼 < 10号楼``, where plain text order puts 1-1001 and
    10号楼 first. Stored beside the column (:func:`sort_key_of`), so lists sort by an index.
    """
    return re.sub(r"\d+", lambda m: m.group().lstrip("0").rjust(10, "0")[-10:], text or "")[:80]


def sort_key_of(source: str):
    """A column holding ``natural_key(<source>)``; the ``order_by`` and clicks on ``source`` use it.

    Filled on every insert (bulk ones too: a column default reads the inserted row's values)
    and on ORM updates of ``source`` (:func:`_keep_sort_keys`).
    """
    def default(context: Any) -> str:
        return natural_key(context.get_current_parameters().get(source))

    return mapped_column(String(80), default=default, info={"sort_key_of": source})


@functools.cache
def sort_keys(model: type) -> dict[str, str]:
    """``{source column: its sort-key column}`` of a model (read once per class: every flush asks)."""
    table = getattr(model, "__table__", None)
    columns = table.columns if table is not None else ()
    return {c.info["sort_key_of"]: c.key for c in columns if "sort_key_of" in c.info}


@functools.cache
def kept_columns(model: type) -> frozenset[str]:
    """Columns kept by the app or the database, never typed by people: sort keys and copies
    of a linked row's key (``info["copy_of"]``)."""
    table = getattr(model, "__table__", None)
    columns = table.columns if table is not None else ()
    return frozenset(c.key for c in columns if "sort_key_of" in c.info or "copy_of" in c.info)


@functools.cache
def normalizers(model: type) -> dict[str, Callable[[str], str]]:
    """``{column: how its typed text is written}`` of a model (read once per class)."""
    table = getattr(model, "__table__", None)
    columns = table.columns if table is not None else ()
    return {c.key: c.info["normalize"] for c in columns if "normalize" in c.info}


def _keep_sort_keys(session: Session, _context: Any, _instances: Any) -> None:
    for obj in [*session.new, *session.dirty]:
        for source, key in sort_keys(type(obj)).items():
            if obj in session.new or inspect(obj).attrs[source].history.has_changes():
                setattr(obj, key, natural_key(getattr(obj, source)))


def normalized(model: type, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every text of a column declaring ``normalize`` written canonically."""
    found = dict(values)
    for name, normalize in normalizers(model).items():
        if isinstance(found.get(name), str):
            found[name] = normalize(found[name])
    return found


def _normalize_stored(session: Session, _context: Any, _instances: Any) -> None:
    """Whatever the route (form, REST, import, script), a value is stored canonically, so a
    uniqueness constraint compares 110…002X with 110…002x as the same person."""
    for obj in [*session.new, *session.dirty]:
        for name, normalize in normalizers(type(obj)).items():
            value = obj.__dict__.get(name)
            if isinstance(value, str) and normalize(value) != value:
                setattr(obj, name, normalize(value))


event.listen(Session, "before_flush", _keep_sort_keys)
event.listen(Session, "before_flush", _normalize_stored)


class Menu:
    """Menu categories in display order: (label, icon)."""

    REGION = ("行政区划", "fa-map")
    MASTER = ("基础资料", "fa-building")
    PEOPLE = ("人员与组织", "fa-users")
    PARKING = ("车辆与停车", "fa-car")
    FACILITY = ("设施设备", "fa-cogs")
    FEES = ("收费管理", "fa-jpy")
    # daily operations: service desk and community life, safety, service quality
    OPERATIONS = ("日常运营", "fa-wrench")
    SAFETY = ("安全管理", "fa-shield")
    QUALITY = ("服务质量", "fa-star-half-o")
    # the owners' self-governance: 业主大会 meetings, their matters, ballots and results
    ASSEMBLY = ("业主大会", "fa-comments")
    FUND = ("维修资金", "fa-university")
    OVERSIGHT = ("监督考核", "fa-gavel")
    SYSTEM = ("系统管理", "fa-sliders")

    ORDER = (REGION, MASTER, PEOPLE, PARKING, FACILITY, FEES, OPERATIONS, SAFETY, QUALITY, ASSEMBLY, FUND, OVERSIGHT,
             SYSTEM)


class Admin:
    """Defaults for an entity's admin declaration; models subclass it as ``Admin``."""

    label: ClassVar[str] = ""
    menu: ClassVar[tuple[str, str]] = Menu.MASTER
    icon: ClassVar[str] = "fa-table"
    list_columns: ClassVar[Sequence[str]] = ()
    #: the filters offered above the list (and to REST clients), paths allowed ("unit.building")
    search_columns: ClassVar[Sequence[str]] = ()
    #: form columns; empty = every column of the model that has a label
    form_columns: ClassVar[Sequence[str]] = ()
    show_columns: ClassVar[Sequence[str]] = ()
    order_by: ClassVar[tuple[str, str]] = ("id", "desc")
    #: what sorting by a column means when it is more than the column itself, e.g. a unit's
    #: 楼栋: {"building": ("estate_id", "building.code", "entrance", "floor", "room_no")}.
    #: A relation not named here sorts by its target's ``order_by``; a column with a
    #: natural key (:func:`sort_key_of`) sorts by that key.
    sort_by: ClassVar[dict[str, Sequence[str]]] = {}
    #: what the keyword box searches (Django admin's ``search_fields``), paths allowed
    #: ("building.name"); empty = the text columns among ``search_columns``
    keyword_columns: ClassVar[Sequence[str]] = ()
    #: a big table: related selects search it server-side, page by page
    large: ClassVar[bool] = False
    #: columns the server-side select searches; empty = the entity's first text column
    lookup_columns: ClassVar[Sequence[str]] = ()
    #: relations that ``__str__`` reads, eager-loaded wherever the row is displayed
    str_loads: ClassVar[Sequence[str]] = ()
    #: (start, end) pairs where end must not precede start
    date_order: ClassVar[Sequence[tuple[str, str]]] = ()
    #: further cross-field rules: callables (values) -> [(field, message)]
    rules: ClassVar[Sequence[Callable[[dict[str, Any]], Iterable[tuple[str, str]]]]] = ()
    #: offered in the Excel import (master data that arrives in bulk)
    importable: ClassVar[bool] = False
    #: which actions exist at all: an append-only log offers no edit or delete
    actions: ClassVar[frozenset[str]] = frozenset({"add", "edit", "delete"})
    #: the path from a row to the id of the estate it belongs to ("estate_id",
    #: "unit.estate_id", "estates.id"); None = not estate data (visible to all staff)
    scope_path: ClassVar[str | None] = "estate_id"
    #: how particular columns read on pages and exports, e.g. {"period": month_label}
    formatters: ClassVar[dict[str, Callable[[Any], str]]] = {}
    #: further permissions of the entity's own views (e.g. a bill's "generate", "pay")
    extra_actions: ClassVar[frozenset[str]] = frozenset()
    #: a models.workflow.Workflow: its transitions become buttons and permissions
    workflow: ClassVar[Any] = None
    #: a line belongs to a document that freezes it (e.g. "standard")
    frozen_by: ClassVar[str | None] = None
    #: the document's states in which such a line may be added, changed or deleted, where that
    #: is not simply "not frozen" (a survey's answer sheets: only while it is open)
    changes_while: ClassVar[frozenset[str] | None] = None
    #: many-to-one relations a row keeps from its creation (a survey's answer sheet never
    #: moves to another survey); ``frozen_by`` always is one (see ``fixed_links``)
    fixed_links: ClassVar[tuple[str, ...]] = ()
    #: one-to-many collections listed on the record's page (its lines)
    details: ClassVar[Sequence[str]] = ()
    #: rows are never changed or deleted once written (logs, ledgers, ballots): the ORM
    #: refuses it (app.audit) and database triggers refuse raw SQL (see the migrations)
    append_only: ClassVar[bool] = False
    #: read-only properties that lists, pages and exports may show: name -> Chinese label
    computed: ClassVar[dict[str, str]] = {}


class Entity(Model):
    """Abstract base: an integer primary key and a declaration."""

    __abstract__ = True
    Admin: ClassVar[type[Admin]]

    id: Mapped[int] = mapped_column(Integer, primary_key=True, info=zh("ID"))


class _DerivedScope:
    scope_path: ClassVar[str] = "estate_id"
    append_only: ClassVar[bool] = False  # the database's triggers write them, as they please


class Derived(Model):
    """Abstract base of totals the database keeps up to date from an entity's rows.

    Triggers written in the migrations add every insert, update and delete of the source
    rows in the same transaction (whatever wrote them: the ORM, a bill run's INSERT ...
    SELECT, raw SQL), so a dashboard reads a few hundred rows instead of summing millions
    and the figures are never stale. The application only reads them; they are scoped by
    estate like the entities (``Admin.scope_path``) but have no pages of their own.
    """

    __abstract__ = True
    Admin: ClassVar[type[_DerivedScope]] = _DerivedScope


def derived_tables() -> list[type[Derived]]:
    return list(Derived.__subclasses__())


def batches(items: Iterable[Any], size: int = 5000) -> Iterator[list[Any]]:
    """``items`` in lists of at most ``size``: bulk inserts, and IN lists a database accepts."""
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def positive(value: Any) -> str | None:
    """Areas, prices and counts must be greater than zero."""
    if value is not None and value <= 0:
        return "必须大于 0"
    return None


def fk(target: str, *, nullable: bool = False, ondelete: str = "RESTRICT", index: bool = True, **info: Any):
    """A foreign key column; RESTRICT so a referenced row cannot vanish under its children.

    ``index=False`` where a composite index already starts with the column (every
    index costs each insert: bills are written 240,000 at a time).
    """
    return mapped_column(
        ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index, **info
    )


def admin_of(model: type) -> type[Admin]:
    """A model's declaration; FAB's own models (users, roles) get the defaults."""
    return getattr(model, "Admin", Admin)


def fixed_links(model: type) -> set[str]:
    """The relations of ``model`` that never change after the row is created: a line of a
    document never moves to another one (out of a frozen document it would take a
    published price or a voted building with it; into one it would change it)."""
    admin = admin_of(model)
    return set(admin.fixed_links) | ({admin.frozen_by} if admin.frozen_by else set())


def lookup_columns_of(model: type) -> tuple[str, ...]:
    """What a person types to find a row: declared, else the first labelled text column."""
    declared = tuple(admin_of(model).lookup_columns)
    if declared:
        return declared
    texts = [c.key for c in model.__table__.columns
             if isinstance(c.type, String) and "label" in c.info and not c.foreign_keys]
    return (texts[0],) if texts else ("id",)


def file_columns(model: type) -> tuple[str, ...]:
    """Columns holding an uploaded document's stored name (FAB's FileColumn)."""
    return tuple(c.key for c in model.__table__.columns if isinstance(c.type, FileColumn))


class Document(FileColumn):
    """An uploaded document's stored name: FAB's FileColumn (its forms know it), stored as
    VARCHAR(n) — FAB's is TEXT(n), which PostgreSQL refuses — and safe to cache."""

    impl = String
    cache_ok = True


def declared_entities() -> list[type[Entity]]:
    """Every concrete model with an admin declaration, in menu order then label."""
    seen: list[type[Entity]] = []
    stack = list(Entity.__subclasses__())
    while stack:
        cls = stack.pop(0)
        stack.extend(cls.__subclasses__())
        if not cls.__dict__.get("__abstract__") and "Admin" in cls.__dict__:
            seen.append(cls)
    order = {menu: i for i, menu in enumerate(Menu.ORDER)}
    return sorted(seen, key=lambda m: order.get(m.Admin.menu, 99))
