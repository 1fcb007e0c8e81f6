"""Base classes of the generated views: one behaviour per concern, shared by all entities."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, jsonify, redirect, request, session, url_for
from flask_appbuilder import ModelRestApi, ModelView, expose, has_access
from flask_appbuilder.exceptions import InvalidOperationFilterFABException
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.urltools import get_filter_args, get_order_args, get_page_args, get_page_size_args
from marshmallow import ValidationError
from sqlalchemy import inspect, or_, select
from wtforms import StringField

from app.roles import may_act_on, rows_acted_on
from models.base import INT_MAX, Entity, admin_of, lookup_columns_of, normalized, row_id, small_number, value_kind
from models.deleting import delete_refusals
from models.rules import violations
from models.workflow import frozen_refusals, frozen_state_of, frozen_states, frozen_states_under, line_add_refusal
from views.api_zh import ChineseResponses
from views.errors import Refused
from views.interface import AtLeast, counting_up_to, leaving_out
from views.masking import MaskedColumns, mask_record, personal_data_filters
from views.people import login_name, remember_logins


class RulesForm:
    """Mixed into generated forms: the entity's rules put their messages on the fields."""

    _model: ClassVar[type[Entity]]

    def validate(self, extra_validators: Any = None) -> bool:
        # texts written canonically before any check (a length limit would refuse "+86 138 0013 8000");
        # only those: reading or setting a relation's data here would skip its own choice check
        fields = self._fields  # type: ignore[attr-defined]
        texts = {n: f.data for n, f in fields.items() if isinstance(f, StringField) and isinstance(f.data, str)}
        for name, value in normalized(self._model, texts).items():
            if value != texts[name]:
                fields[name].data = value
        valid = super().validate(extra_validators)  # type: ignore[misc]
        values = {name: field.data for name, field in self._fields.items()}  # type: ignore[attr-defined]
        db_session = current_app.appbuilder.session
        for name, message in violations(self._model, values, db_session, getattr(self, "_id", None)):
            field = self._fields.get(name)  # type: ignore[attr-defined]
            if field is not None and message not in field.errors:
                field.errors = [*field.errors, message]
                valid = False
            elif field is None:
                raise Refused(message)
        return valid


def input_fields(model: type[Entity], transition: Any) -> list[dict[str, Any]]:
    """How the workflow panel renders a transition's inputs: name, label, kind, choices."""
    fields = []
    for name in transition.inputs:
        column = model.__table__.columns[name]
        info = column.info
        kind = {"int": "number", "decimal": "text", "bool": "text"}.get(value_kind(column), value_kind(column))
        fields.append({"name": f"input_{name}", "label": info.get("label", name), "kind": kind,
                       "choices": info["choices"].pairs if "choices" in info else ()})
    return fields


def transition_inputs(model: type[Entity], transition: Any, form: Any) -> dict[str, Any]:
    """The typed values of a transition's inputs, or Refused (in Chinese) for a bad one."""
    import datetime as dt

    from models.workflow import TransitionRefused

    values: dict[str, Any] = {}
    for field in input_fields(model, transition):
        name = field["name"].removeprefix("input_")
        raw = (form.get(field["name"]) or "").strip()
        if not raw:
            values[name] = None
            continue
        try:
            if field["kind"] == "datetime":
                values[name] = dt.datetime.fromisoformat(raw).replace(second=0, microsecond=0, tzinfo=None)
            elif field["kind"] == "date":
                values[name] = dt.date.fromisoformat(raw)
            elif field["kind"] == "number":
                values[name] = int(raw)
            elif field["kind"] == "choice":
                if raw not in {code for code, _ in field["choices"]}:
                    raise ValueError(raw)
                values[name] = raw
            else:
                values[name] = raw[: model.__table__.columns[name].type.length or None]
        except ValueError:
            raise TransitionRefused(f"「{field['label']}」填写的格式不正确") from None
    return values


class EntityModelView(MaskedColumns, ModelView):
    """The HTML views of a declared entity (list, show, add, edit, delete, export, lookup)."""

    model: ClassVar[type[Entity]]
    list_template = "entity/list.html"
    # the filter panel (views.filters.panel) replaces FAB's search form, which cannot hold
    # a path such as "unit.building": FAB builds none when one is given
    search_form = DynamicForm
    show_template = "entity/show.html"
    edit_template = "appbuilder/general/model/edit_cascade.html"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        flow = self.model.Admin.workflow
        if flow is not None:  # each transition is its own permission: can_submit, can_approve ...
            self.base_permissions += [f"can_{t.name}" for t in flow.transitions]

    def _init_forms(self) -> None:
        super()._init_forms()
        for attr in ("add_form", "edit_form"):
            form = getattr(self, attr)
            for unbound in vars(form).values():
                # FAB leaves the blank choice unlabelled and WTForms then shows "__None"
                if getattr(unbound, "field_class", None) is QuerySelectField:
                    unbound.kwargs["blank_text"] = "（未选择）"
            setattr(self, attr, type(form.__name__, (RulesForm, form), {"_model": self.model}))

    def _fill_form_exclude_cols(self, exclude_cols: Any, form: Any) -> None:
        """A form prefilled by ``?_flt_0_<relation>=<id>``: an id the user cannot see is
        answered like a missing page, never silently saved as an empty relation."""
        for name in exclude_cols:
            value = self._filters.get_filter_value(name)
            if value not in (None, "") and self.datamodel.get_related_obj(name, value) is None:
                abort(404)
        super()._fill_form_exclude_cols(exclude_cols, form)

    def _edit(self, pk: Any) -> Any:
        """A frozen row's form is not offered, even from a bookmark: the way back, with why
        (its 编辑 button says the same). A row out of scope is left to FAB's 404."""
        key = row_id(pk)
        refusal = frozen_refusals(self.datamodel.session, self.model, [key], "edit").get(key) if key else None
        if refusal:
            self.update_redirect()  # so that the way back is the page the click was made on
            flash(refusal, "danger")
            return None
        return super()._edit(pk)

    def pre_update(self, item: Any) -> None:
        """Write the change now, so that a freeze or a database constraint refuses it with
        its own Chinese sentence (FAB's edit would answer only "数据库错误")."""
        from sqlalchemy.exc import IntegrityError

        from views.errors import integrity_message

        super().pre_update(item)
        db_session = self.datamodel.session
        try:
            db_session.flush()
        except IntegrityError as error:
            db_session.rollback()
            raise Refused(integrity_message(error, self.model)) from error
        except Refused:
            db_session.rollback()
            raise

    # -- the list and what filters it ---------------------------------------------------
    def request_filters(self) -> tuple[Any, list[str]]:
        """The filters of this request (typed; refused values listed, not applied) and the
        keyword box, for the page, its export and its counts alike."""
        from views.filters import KeywordFilter, keyword_paths, request_filters

        problems = request_filters(self._filters, request.args)
        keyword = request.args.get("q", "").strip()
        hidden, refused = personal_data_filters(self._filters, keyword, self)
        filters = self._filters.copy()
        if keyword:
            paths = tuple(p for p in keyword_paths(self.model) if not (refused and p in self.masked_columns))
            filters._add_filter(KeywordFilter(self.datamodel, paths, hidden), keyword)
        return filters, problems + refused

    def _list(self, **kwargs: Any):
        from models.saved_filters import list_query, saved_filters
        from views.filters import panel

        order_column, order_direction = get_order_args().get(self.__class__.__name__, ("", ""))
        if order_column and order_column not in self.order_columns:
            order_column, order_direction = "", ""
        filters, problems = self.request_filters()
        with counting_up_to(current_app.config["LIST_COUNT_CAP"]):
            widgets = self._get_list_widget(
                filters=filters, order_column=order_column, order_direction=order_direction,
                page=get_page_args().get(self.__class__.__name__),
                page_size=get_page_size_args().get(self.__class__.__name__), **kwargs,
            )
        self.update_redirect()
        widgets["panel"] = panel(self, self._filters, problems, request.args)
        widgets["panel"]["count"] = count = widgets["list"].template_args.get("count")
        widgets["panel"]["more_than"] = count if isinstance(count, AtLeast) else None
        widgets["panel"]["past_last_page"] = self._past_last_page(widgets["list"].template_args)
        widgets["panel"]["saved"] = saved_filters(self.datamodel.session, g.user.id, self.__class__.__name__)
        widgets["panel"]["query"] = list_query(request.query_string.decode())
        return widgets

    def _get_related_view_widget(self, item: Any, related_view: Any, order_column: str = "",
                                 order_direction: str = "", page: Any = None, page_size: Any = None) -> Any:
        """A record's lines on its page, without the column naming the record itself: it would
        say the same on every row (and be loaded for each), as Django admin's inlines leave it out."""
        fk = related_view.datamodel.get_related_fk(self.datamodel.obj)
        if not related_view.datamodel.is_relation_many_to_one(fk):
            return super()._get_related_view_widget(item, related_view, order_column, order_direction,
                                                    page, page_size)
        filters = related_view.datamodel.get_filters()
        filters.add_filter_related_view(fk, self.datamodel.FilterRelationOneToManyEqual,
                                        self.datamodel.get_pk_value(item))
        return related_view._get_list_widget(filters=filters, order_column=order_column,
                                             order_direction=order_direction, page=page, page_size=page_size,
                                             leave_out=fk, document=item)["list"]

    def _get_list_widget(self, filters: Any, actions: Any = None, order_column: str = "",
                         order_direction: str = "", page: Any = None, page_size: Any = None,
                         widgets: dict[str, Any] | None = None, leave_out: str | None = None,
                         document: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The list, and on its own page as on a record's page (its lines, ``leave_out`` naming
        their ``document``): which rows the person acts on, and why a row's 编辑 or 删除 would
        be refused (said on the button). FAB's own, but for the column left out."""
        widgets = widgets or {}
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        page_size = page_size or self.page_size
        columns = [name for name in self.list_columns if name != leave_out]
        with leaving_out(leave_out):
            count, rows = self.datamodel.query(filters.get_joined_filters(self._base_filters), order_column,
                                               order_direction, page=page, page_size=page_size)
        pks = [self._serialize_pk_if_composite(pk) for pk in self.datamodel.get_keys(rows)]
        widgets["list"] = self.list_widget(
            label_columns=self.label_columns, include_columns=columns,
            value_columns=self.datamodel.get_values(rows, columns), order_columns=self.order_columns,
            formatters_columns=self.formatters_columns, page=page, page_size=page_size, count=count, pks=pks,
            actions=actions or self.actions, filters=filters, modelview_name=self.__class__.__name__, **kwargs,
        )
        shown = widgets["list"].template_args
        shown["acts_on"] = self._rows_acted_on(pks)
        db_session, model = self.datamodel.session, self.model
        # read once, for 编辑 and 删除 alike (on their document's page: the document's state)
        known = frozen_states_under(model, leave_out, document, pks) if leave_out else None
        states = cache(lambda: frozen_states(db_session, model, pks) if known is None else known)
        shown["refused"] = lambda action: (delete_refusals(db_session, model, pks, states()) if action == "delete"
                                           else frozen_refusals(db_session, model, pks, action, states()))
        shown["add_refused"] = self._add_refusal(filters)
        logins = [name for name, shows in self.formatters_columns.items() if shows is login_name]
        if logins:  # the page's people named in one read (FAB hands the rows over as a generator)
            shown["value_columns"] = rows = list(shown.get("value_columns", ()))
            remember_logins(row.get(name) for row in rows for name in logins)
        return widgets

    def _add_refusal(self, filters: Any) -> str | None:
        """Why 新增 would be refused: the list is a frozen document's lines (a published
        standard's, on its page), as its filter on the ``frozen_by`` relation says."""
        name = admin_of(self.model).frozen_by
        if not name or filters is None:
            return None
        for condition, value in zip(filters.filters, filters.values):
            # the page's own filters name the operator "op"; FAB's related list, "arg_name"
            equal = "rel_o_m" in (getattr(condition, "op", None), getattr(condition, "arg_name", None))
            values = value if isinstance(value, (list, tuple)) else [value]  # the page's filters hold lists
            if condition.column_name == name and equal and len(values) == 1 \
                    and (parent_id := row_id(getattr(values[0], "id", values[0]))):
                return line_add_refusal(self.datamodel.session, self.model, parent_id)
        return None

    def _add(self) -> Any:
        """The form for a line of a frozen document is not offered (its 新增 says why): the way
        back, with the reason."""
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        refusal = self._add_refusal(self._filters)
        if refusal:
            self.update_redirect()
            flash(refusal, "danger")
            return None
        return super()._add()

    def _past_last_page(self, shown: Mapping[str, Any]) -> dict[str, Any] | None:
        """A page after the last (a bookmark, rows deleted since): how many pages there are (at
        least, when the count stopped at its cap), and links to the first and the last."""
        from views.list_table import link_page, page_count

        count, page_size = shown.get("count") or 0, shown.get("page_size") or 1
        if not count or shown.get("pks"):
            return None
        pages, name = page_count(count, page_size), self.__class__.__name__
        return {"page": (shown.get("page") or 0) + 1, "pages": pages, "exact": not isinstance(count, AtLeast),
                "first": link_page(0, name), "last": link_page(pages - 1, name)}

    def _rows_acted_on(self, pks: Any) -> set | None:
        """The rows of this page the person may edit or delete, where that depends on the row
        (a meeting is run by its convener); None: every row their rights cover."""
        mine = rows_acted_on(self.model)
        if mine is None or not pks:
            return None
        return set(self.datamodel.session.scalars(select(self.model.id).where(self.model.id.in_(list(pks)), mine)))

    # -- saved filters (named quick links, each person's own) ----------------------------
    @expose("/filters/save", methods=["POST"])
    @has_access
    @permission_name("list")
    def save_filter(self):
        from models.saved_filters import list_query, save_filter

        db_session = self.datamodel.session
        query = request.form.get("query", "")
        try:
            saved = save_filter(db_session, g.user.id, self.__class__.__name__, request.form.get("name", ""), query)
            db_session.commit()
        except Refused as refused:
            db_session.rollback()
            flash(str(refused), "danger")
            return redirect(url_for(f"{self.endpoint}.list") + "?" + list_query(query))
        flash(f"已保存筛选条件「{saved.name}」，以后在列表上方点它即可", "success")
        return redirect(url_for(f"{self.endpoint}.list") + "?" + saved.query)

    @expose("/filters/delete/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("list")
    def delete_filter(self, pk: int):
        from models.saved_filters import SavedFilter

        db_session = self.datamodel.session
        saved = db_session.get(SavedFilter, pk)
        if saved is None or saved.user_id != g.user.id or saved.view_name != self.__class__.__name__:
            abort(404)
        db_session.delete(saved)
        db_session.commit()
        flash(f"已删除筛选条件「{saved.name}」", "success")
        return redirect(url_for(f"{self.endpoint}.list"))

    # -- querying what the user currently sees ---------------------------------
    def current_query(self):
        """The list as currently filtered and ordered, unpaged (exports use it)."""
        filters, _ = self.request_filters()
        filters = filters.get_joined_filters(self._base_filters)
        order_column, direction = get_order_args().get(self.__class__.__name__, self.base_order or ("", ""))
        if order_column and order_column not in self.order_columns:
            order_column, direction = self.base_order or ("", "")
        query = self.datamodel.session.query(self.model)
        return self.datamodel.apply_all(query, filters, order_column, direction)

    @expose("/export/")
    @has_access
    @permission_name("export")
    def export(self):
        from views.excel import export_list

        return export_list(self)

    @expose("/import/", methods=["GET", "POST"])
    @has_access
    @permission_name("import")
    def import_excel(self):
        """Dry run, then all-or-nothing import from the downloadable template."""
        from views.excel import import_page

        if not self.model.Admin.importable:
            abort(404)
        return import_page(self)

    @expose("/import/template.xlsx")
    @has_access
    @permission_name("import")
    def import_template(self):
        from views.excel import template_download

        if not self.model.Admin.importable:
            abort(404)
        return template_download(self)

    @expose("/download/<string:filename>")
    @has_access
    @permission_name("download")
    def download(self, filename: str):
        """A stored document, only if a row this user may see names it (else 404).

        Replaces FAB's download, which serves any file of the upload folder to anyone
        holding the permission: here the estate scope of the data layer decides.
        """
        from models.base import file_columns
        from views.uploads import send_document

        columns = file_columns(self.model)
        if not columns or not filename:
            abort(404)
        row = self.datamodel.session.query(self.model).filter(
            or_(*(getattr(self.model, c) == filename for c in columns))
        ).first()
        if row is None:
            abort(404)
        column = next(c for c in columns if getattr(row, c) == filename)
        label = self.label_columns.get(column, column)
        return send_document(filename, f"{label}_{row.id}")

    # -- workflow ---------------------------------------------------------------------
    def may_fire(self, name: str) -> bool:
        return self.appbuilder.sm.has_access(f"can_{name}", self.class_permission_name)

    @expose("/transition/<name>/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("show")
    def transition(self, name: str, pk: int):
        """One button per transition; the workflow decides, the view only adapts."""
        flow = self.model.Admin.workflow
        if flow is None or name not in {t.name for t in flow.transitions}:
            abort(404)
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        if not self.may_fire(name):
            abort(403)
        db_session = self.datamodel.session
        try:
            values = transition_inputs(self.model, flow.transition(name), request.form)
            flow.fire(db_session, item, name, g.user, request.form.get("comment", ""), values)
            db_session.commit()
        except Refused as refused:  # a guard's refusal, or a domain service's (TransitionRefused is one)
            db_session.rollback()
            flash(str(refused), "danger")
        else:
            flash(f"已{flow.transition(name).label}", "success")
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))

    # -- the show page ----------------------------------------------------------------
    def _get_show_widget(self, pk: Any, item: Any, *args: Any, **kwargs: Any):
        g.shown_item = item  # read once by FAB's show under the scope; the panels reuse it
        return super()._get_show_widget(pk, item, *args, **kwargs)

    def shown(self, pk: Any) -> Any | None:
        """The row the show page being rendered is about, without reading it again."""
        item = g.get("shown_item")
        if isinstance(item, self.model) and str(item.id) == str(pk):
            return item
        return self.datamodel.get(pk, self._base_filters)

    def render_template(self, template: str, **kwargs: Any):
        if template == self.show_template and "pk" in kwargs:
            if self.model.Admin.workflow is not None:
                kwargs["workflow"] = self._workflow_panel(kwargs["pk"])
            kwargs["record_buttons"] = self._record_buttons(kwargs["pk"])
        return super().render_template(template, **kwargs)

    def post_delete_redirect(self) -> Any:
        """Back to the page the delete was made on, unless that was the record's own page (or
        its form), which is gone: then to the page it was opened from, the list as a rule."""
        pk = (request.view_args or {}).get("pk")
        gone = {f"{self.route_base}/{page}/{pk}" for page in ("show", "edit", "delete")}
        history = [url for url in session.get("page_history", []) if urlsplit(url).path not in gone]
        session["page_history"] = history
        return redirect(history[-1] if history else self.appbuilder.get_url_for_index)

    def _record_buttons(self, pk: Any) -> Any:
        """The record's page offers 编辑 and 删除 as its list row does: to whom its rights and the
        row allow, greyed with the reason where the step would be refused."""
        from views.list_table import record_buttons

        item, name = self.shown(pk), self.__class__.__name__
        if item is None:
            return ""
        visible = current_app.jinja_env.filters["is_item_visible"]
        mine = may_act_on(item)
        can_edit = mine and visible("can_edit", name)
        can_delete = mine and visible("can_delete", name)
        db_session, key = self.datamodel.session, item.id
        state = frozen_state_of(item)
        states = {key: state} if state else {}
        return record_buttons(
            name, key, can_edit=can_edit, can_delete=can_delete,
            no_edit=frozen_refusals(db_session, self.model, [key], "edit", states).get(key) if can_edit else None,
            no_delete=delete_refusals(db_session, self.model, [key], states).get(key) if can_delete else None)

    def _workflow_panel(self, pk: Any) -> dict[str, Any] | None:
        from models.workflow import timeline
        from views.people import names_by_id

        item = self.shown(pk)
        if item is None:
            return None
        flow = self.model.Admin.workflow
        events = timeline(self.datamodel.session, item)
        acts = may_act_on(item)  # a meeting convened by the 筹备组 is run by the official, and so on
        return {
            "state": flow.states.label(getattr(item, flow.field)),
            "phase": item.phase(self.datamodel.session) if hasattr(item, "phase") else None,
            "buttons": [{"t": t, "refusal": flow.refusal(self.datamodel.session, item, t),
                         "confirm": flow.confirmation(item, t)}
                        for t in flow.available(item) if acts and self.may_fire(t.name)],
            "events": events,
            "names": names_by_id(self.datamodel.session, (e.user_id for e in events)),
            "labels": flow.states,
            "transition_labels": {t.name: t.label for t in flow.transitions},
            "notes": item.workflow_notes(self.datamodel.session) if hasattr(item, "workflow_notes") else [],
            "inputs": [(t, input_fields(self.model, t)) for t in flow.available(item)
                       if acts and t.inputs and self.may_fire(t.name)],
        }

    @expose("/history/<int:pk>")
    @has_access
    @permission_name("show")
    def history(self, pk: int):
        """变更历史: the audit trail of one record the user may see."""
        from views.history import history_page

        return history_page(self, pk)

    @expose("/lookup/")
    @has_access
    @permission_name("list")
    def lookup(self):
        """Server-side search for Select2: one page of ``{id, text}`` matches.

        Every word typed must match one of the entity's lookup columns ("8号楼 301": the
        building's name and the room); rows that read alike are told apart by their
        ``lookup_label`` (an owner's estate and ID tail)."""
        from views.filters import KeywordFilter

        page = request.args.get("page", "1")
        page = small_number(page, 10_000) or 1
        size = 20
        typed = request.args.get("q", "")
        hidden, refused = personal_data_filters(None, typed, self)
        # the same matching as a list's keyword box: every word, any lookup column
        paths = tuple(p for p in lookup_columns_of(self.model) if not (refused and p in self.masked_columns))
        query = KeywordFilter(self.datamodel, paths, hidden).apply(self.datamodel.session.query(self.model), typed)
        query = self.datamodel.apply_all(query, self._base_filters, self.base_order[0], self.base_order[1])
        rows = query.offset((page - 1) * size).limit(size + 1).all()
        label = getattr(self.model, "lookup_label", None)
        results = [{"id": row.id, "text": row.lookup_label() if label else str(row)} for row in rows[:size]]
        return jsonify(results=results, pagination={"more": len(rows) > size})


class EntityApi(MaskedColumns, ChineseResponses, ModelRestApi):
    """The REST API of a declared entity; writes pass the same rules as the forms."""

    model: ClassVar[type[Entity]]
    allow_browser_login = True

    def _init_model_schemas(self) -> None:
        super()._init_model_schemas()  # FAB builds the schemas with the blueprint, after __init__
        # a posted value is written canonically before the schema checks its length
        for name in ("add_model_schema", "edit_model_schema"):
            schema = getattr(self, name, None)
            if schema is not None:
                schema.load = self._normalizing(schema.load)

    def _normalizing(self, load: Any) -> Any:
        def normalizing_load(data: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(data, dict):
                refused = self._malformed_references(data)
                if refused:
                    raise ValidationError(refused)
                data = normalized(self.model, data)
            return load(data, *args, **kwargs)

        return normalizing_load

    def _malformed_references(self, data: dict[str, Any]) -> dict[str, list[str]]:
        """A related row is named by its id: an object, a text or an id no column can hold
        is refused before marshmallow-sqlalchemy tries to build a row from it (a 500)."""
        relations = inspect(self.model).relationships
        refused = {}
        for name, value in data.items():
            if name not in relations or value is None:
                continue
            ids = value if relations[name].uselist and isinstance(value, list) else [value]
            if not all(type(i) is int and 0 < i <= INT_MAX for i in ids):
                label = self.label_columns.get(name, name)
                refused[name] = [f"「{label}」请填写关联记录的编号（正整数）" + ("的列表" if relations[name].uselist else "")]
        return refused

    def _handle_filters_args(self, rison_args: dict[str, Any]):
        self._filters.clear_filters()
        self._filters.rest_add_filters(rison_args.get("filters", []))
        _hidden, refused = personal_data_filters(self._filters, "", self)
        if refused:
            g.too_many_requests = True  # FAB answers a FABException with 400: response() says 429
            raise InvalidOperationFilterFABException(refused[0])
        return self._filters.get_joined_filters(self._base_filters)

    def pre_get(self, data: dict[str, Any]) -> None:
        mask_record(data.get("result", {}), self.masked_columns, f"{self.model.__name__}View")

    def pre_get_list(self, data: dict[str, Any]) -> None:
        for record in data.get("result", []):
            mask_record(record, self.masked_columns, f"{self.model.__name__}View")

    def _check(self, item: Any, pk: Any = None) -> None:
        values = {name: getattr(item, name) for name in self.add_columns}
        found = violations(self.model, values, self.datamodel.session, pk)
        if found:
            fields: dict[str, list[str]] = {}
            for name, message in found:
                fields.setdefault(name, []).append(message)
            self.datamodel.session.rollback()
            raise Refused("；".join(f"{self.label_columns.get(n, n)}：{'，'.join(m)}" for n, m in fields.items()), fields)

    def response(self, code: int, **kwargs: Any):
        if code == 400 and g.get("too_many_requests"):
            code = 429
        return super().response(code, **kwargs)

    def _get_field_info(self, field: Any, filter_rel_field: Any, page: Any = None, page_size: Any = None):
        info = super()._get_field_info(field, filter_rel_field, page, page_size)
        # FAB passes "" through gettext, which answers with the catalogue's header
        info["description"] = self.description_columns.get(field.name, "")
        return info

    def pre_add(self, item: Any) -> None:
        self._check(item)

    def pre_update(self, item: Any) -> None:
        self._check(item, item.id)

