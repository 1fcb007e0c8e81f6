"""Generates the views, APIs and menus of every declared entity.

The models are the schema and the declaration (see ``models.base``); this module
turns each one into a ``ModelView`` (Chinese titles, labels, formatters, fields
with the right widgets, eager loading) and a ``ModelRestApi``, and files it under
its menu category. An entity with real extra behaviour can subclass the
generated view in its own module; plain master data never needs to.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any

from flask_appbuilder import AppBuilder
from sqlalchemy import Boolean, Date, DateTime, inspect
from wtforms import BooleanField

from app.roles import CHOICES_BY_ROLE, offered_codes
from models.base import Entity, admin_of, decimal_text, declared_entities, file_columns, fixed_links, is_decimal
from models.filter_ops import column_kind
from models.rules import column_info
from views.base import EntityApi, EntityModelView
from views.fields import (
    AjaxRelationField, ChoiceField, DocumentField, DocumentLink, date_field, datetime_field, decimal_field,
)
from views.interface import AppInterface
from views.masking import masked_formatter
from views.people import login_name


def display(value: Any) -> str:
    """How a value reads on a page and in an export: no 'None', 'True' or '1.5E+2'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _str_paths(model: type, depth: int = 3) -> list[str]:
    """What a model's ``__str__`` reads, and what theirs read in turn (a ballot names its unit,
    which names its building and estate)."""
    paths = []
    for path in admin_of(model).str_loads:
        paths.append(path)
        if depth > 1:
            target = model
            for step in path.split("."):
                target = inspect(target).relationships[step].mapper.class_
            paths += [f"{path}.{p}" for p in _str_paths(target, depth - 1)]
    return list(dict.fromkeys(paths))


class EntitySpec:
    """Everything the generated views derive from one model's declaration."""

    def __init__(self, model: type[Entity]):
        self.model = model
        self.admin = model.Admin
        mapper = inspect(model)
        self.relations = {r.key: r for r in mapper.relationships}
        self.columns = {c.key: c.columns[0] for c in mapper.column_attrs}
        fks = {c.key for r in self.relations.values() for c in r.local_columns}
        # Attributes a person edits: labelled columns that are not raw foreign keys,
        # and the many-to-one relations standing for those keys.
        self.editable = [
            name for name, col in self.columns.items()
            if name != "id" and name not in fks and "label" in col.info
        ] + [name for name, rel in self.relations.items() if rel.direction.name == "MANYTOONE"]

    @property
    def name(self) -> str:
        return self.model.__name__

    def labels(self) -> dict[str, str]:
        names = [*self.columns, *self.relations]
        labels = {name: column_info(self.model, name).get("label", name) for name in names}
        # a raw key (the REST API shows "estate_id") is named after its relation: 所属小区编号
        for key, rel in self.relations.items():
            labels[f"{key}.id"] = labels[key] + "编号"  # the REST API names a related row by it
            for column in rel.local_columns:
                if column.key in self.columns and "label" not in column.info:
                    labels[column.key] = labels[key] + "编号"
        labels["id"] = "编号"
        return {**labels, **self.admin.computed}

    def descriptions(self) -> dict[str, str]:
        """Only non-empty help texts: FAB's REST layer translates "" into the PO header."""
        names = [*self.columns, *self.relations]
        found = {n: column_info(self.model, n).get("description", "") for n in names}
        return {n: text for n, text in found.items() if text}

    def form_columns(self) -> list[str]:
        if self.admin.form_columns:
            return list(self.admin.form_columns)
        # relations first (where does it belong), then the model's own columns in order
        rels = [n for n in self.editable if n in self.relations]
        return rels + [n for n in self.editable if n not in self.relations]

    def edit_columns(self) -> list[str]:
        """The form's fields less the relations a row keeps from its creation."""
        return [n for n in self.form_columns() if n not in fixed_links(self.model)]

    def show_columns(self) -> list[str]:
        return list(self.admin.show_columns) or ["id", *self.form_columns()]

    def list_columns(self) -> list[str]:
        return list(self.admin.list_columns) or self.form_columns()[:6]

    def choices(self) -> dict[str, Any]:
        return {n: c.info["choices"] for n, c in self.columns.items() if "choices" in c.info}

    def eager_paths(self) -> tuple[str, ...]:
        """Relations a list page displays, with what their ``__str__`` reads."""
        paths: list[str] = list(self.admin.str_loads)
        for name in self.list_columns():
            rel = self.relations.get(name)
            if rel is not None:
                paths += [name, *(f"{name}.{p}" for p in _str_paths(rel.mapper.class_))]
        return tuple(dict.fromkeys(paths))

    def masked(self) -> dict[str, str]:
        """Personal-data columns and their kind ("id_card", "mobile")."""
        return {n: c.info["masked"] for n, c in self.columns.items() if "masked" in c.info}

    def formatters(self) -> dict[str, Any]:
        formatters: dict[str, Any] = {name: display for name in [*self.columns, *self.relations]}
        for name, choices in self.choices().items():
            formatters[name] = choices.label
        for name in self.masked():
            formatters[name] = masked_formatter(f"{self.name}View", display)
        for name in file_columns(self.model):
            formatters[name] = DocumentLink(f"{self.name}View")
        for name, col in self.columns.items():
            if col.info.get("login"):
                formatters[name] = login_name
        formatters.update(self.admin.formatters)
        return formatters

    def form_fields(self, views: dict[type[Entity], type[EntityModelView]]) -> dict[str, Any]:
        """Fields FAB's converter gets wrong: choices, scaled decimals, datetimes, big relations."""
        fields: dict[str, Any] = {}
        labels, descriptions = self.labels(), self.descriptions()
        for name in self.form_columns():
            text, help_text = labels[name], descriptions.get(name, "")
            if name in self.relations:
                rel = self.relations[name]
                target = rel.mapper.class_
                if admin_of(target).large:
                    required = not all(c.nullable for c in rel.local_columns)
                    fields[name] = AjaxRelationField(
                        text, AppInterface(target), views[target].__name__, required,
                        description=help_text,
                    )
                continue
            col = self.columns[name]
            required = not col.nullable
            default = col.default.arg if col.default is not None and not callable(col.default.arg) else None
            if name in file_columns(self.model):
                fields[name] = DocumentField(text, f"{self.name}View", description=help_text)
            elif "choices" in col.info:
                fields[name] = ChoiceField(
                    text, col.info["choices"], required, description=help_text, default=default,
                    offered=functools.partial(offered_codes, self.model.__name__, name)
                    if (self.model.__name__, name) in CHOICES_BY_ROLE else None,
                )
            elif is_decimal(col.type):
                fields[name] = decimal_field(text, col.type.scale or 0, required, help_text)
            elif isinstance(col.type, DateTime):
                fields[name] = datetime_field(text, required, help_text)
            elif isinstance(col.type, Date):
                computed = col.default is not None and col.default.is_callable  # clock.today, asked per form
                fields[name] = date_field(text, required, help_text,
                                          functools.partial(col.default.arg, None) if computed else default)
            elif isinstance(col.type, Boolean):
                # unticked means "no", never "missing" (FAB would make it required)
                fields[name] = BooleanField(text, description=help_text, default=bool(default))
        return fields

    def search_columns(self) -> list[str]:
        """The filters above the list: declared, else every list column that can be filtered."""
        if self.admin.search_columns:
            return list(self.admin.search_columns)
        return [c for c in self.list_columns() if column_kind(self.model, c) is not None]

    def order_columns(self) -> list[str]:
        """Every list column a click can sort: columns and the relations they show."""
        return [c for c in self.list_columns()
                if c in self.columns or (c in self.relations and not self.relations[c].uselist)]

    def titles(self) -> dict[str, str]:
        """Explicit Chinese titles: FAB's automatic ones are English ("List Unit")."""
        label = self.admin.label
        return dict(list_title=f"{label}列表", show_title=f"{label}详情",
                    add_title=f"新增{label}", edit_title=f"编辑{label}")

    def build_view(self, views: dict[type[Entity], type[EntityModelView]]) -> type[EntityModelView]:
        fields = self.form_fields(views)
        attrs = dict(
            model=self.model,
            datamodel=AppInterface(self.model, eager=self.eager_paths()),
            route_base=f"/{self.model.__tablename__}",
            **self.titles(),
            label_columns=self.labels(),
            description_columns=self.descriptions(),
            list_columns=self.list_columns(),
            show_columns=self.show_columns(),
            add_columns=self.form_columns(),
            edit_columns=self.edit_columns(),
            search_columns=self.search_columns(),
            declared_order_columns=self.order_columns(),
            base_order=self.admin.order_by,
            formatters_columns=self.formatters(),
            masked_columns=tuple(self.masked()),
            add_form_extra_fields=fields,
            edit_form_extra_fields=fields,
            extra_args={
                "importable": self.admin.importable,
                "view_name": f"{self.name}View",
                "list_buttons": getattr(EXTENSIONS.get(self.model), "list_buttons", ()),
                "show_buttons": getattr(EXTENSIONS.get(self.model), "show_buttons", ()),
            },
            # documents are served by our scoped download, only where a row holds one;
            # import only where declared
            exclude_route_methods={"action", "action_post"}
            | (set() if file_columns(self.model) else {"download"})
            | {a for a in ("add", "edit", "delete") if a not in self.admin.actions}
            | (set() if self.admin.importable else {"import_excel", "import_template"}),
        )
        bases = (EXTENSIONS[self.model], EntityModelView) if self.model in EXTENSIONS else (EntityModelView,)
        return type(f"{self.name}View", bases, attrs)

    def related_views(self, views: dict[type[Entity], type[EntityModelView]]) -> list[type[EntityModelView]]:
        """The lines of a document, listed on its page (FAB related views)."""
        return [views[self.relations[name].mapper.class_] for name in self.admin.details]

    def build_api(self) -> type[EntityApi]:
        def rest(name: str) -> str:
            return f"{name}.id" if name in self.relations else name

        # a document is uploaded through the form only (checked, stored under a random name)
        writable = [n for n in self.form_columns() if n not in file_columns(self.model)]

        return type(
            f"{self.name}Api",
            (EntityApi,),
            dict(
                model=self.model,
                masked_columns=tuple(self.masked()),
                # REST selects its list columns with contains_eager itself (no N+1)
                datamodel=AppInterface(self.model),
                resource_name=self.model.__tablename__,
                **self.titles(),
                label_columns=self.labels(),
                description_columns=self.descriptions(),
                list_columns=["id", *map(rest, self.list_columns())],
                show_columns=["id", *map(rest, self.form_columns())],
                add_columns=writable,
                edit_columns=[n for n in writable if n in self.edit_columns()],
                declared_order_columns=self.order_columns(),
                search_columns=self.search_columns(),
                base_order=self.admin.order_by,
                page_size=25,
                max_page_size=100,
                exclude_route_methods={
                    rest for rest, action in (("post", "add"), ("put", "edit"), ("delete", "delete"))
                    if action not in self.admin.actions
                },
            ),
        )


#: generated view classes by model (built once; FAB instantiates them per app)
VIEWS: dict[type[Entity], type[EntityModelView]] = {}
APIS: dict[type[Entity], type[EntityApi]] = {}
#: mixins adding real extra behaviour (own endpoints) to one entity's generated view
EXTENSIONS: dict[type[Entity], type] = {}
#: (entity, first mixin, second mixin) of an entity extended twice (app.checks refuses it)
DUPLICATE_EXTENSIONS: list[tuple[str, str, str]] = []


def extends(model: type[Entity]):
    """Class decorator: ``@extends(Bill) class BillActions: ...`` mixes into BillView."""

    def register_mixin(mixin: type) -> type:
        if model in EXTENSIONS and EXTENSIONS[model] is not mixin:
            DUPLICATE_EXTENSIONS.append((model.__name__, EXTENSIONS[model].__name__, mixin.__name__))
        EXTENSIONS[model] = mixin
        return mixin

    return register_mixin


def build_all() -> None:
    if VIEWS:
        return
    import views.fee_standards  # noqa: F401  (these modules register extensions)
    import views.fees  # noqa: F401
    import views.fund_disclosure  # noqa: F401
    import views.repair_fund  # noqa: F401
    import views.owners_assembly  # noqa: F401
    import views.operations  # noqa: F401
    specs = [EntitySpec(m) for m in declared_entities()]
    # Names first: a form's big-relation field points at its target's lookup route.
    for spec in specs:
        VIEWS[spec.model] = type(f"{spec.name}View", (EntityModelView,), {})
    for spec in specs:
        VIEWS[spec.model] = spec.build_view(VIEWS)
        APIS[spec.model] = spec.build_api()
    for spec in specs:  # details point at the final view classes
        VIEWS[spec.model].related_views = spec.related_views(VIEWS)


def register(appbuilder: AppBuilder) -> None:
    from app.checks import check_declarations

    build_all()
    check_declarations()
    for model, view in VIEWS.items():
        admin = model.Admin
        category, category_icon = admin.menu
        appbuilder.add_view(
            view, admin.label, icon=admin.icon, label=admin.label,
            category=category, category_icon=category_icon, category_label=category,
        )
        appbuilder.add_api(APIS[model])
