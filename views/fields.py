"""Form fields the generated views need beyond what FAB's converter produces."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, DatePickerWidget, Select2Widget
from markupsafe import Markup, escape
from wtforms import DateField, DateTimeLocalField, DecimalField, Field, SelectField
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from models.base import Choices, row_id


class ChoiceField(SelectField):
    """A closed list stored as ASCII codes and shown with Chinese labels."""

    def __init__(self, label: str, choices: Choices, required: bool, offered: Any = None, **kwargs: Any):
        """``offered()``: the codes this person may choose, asked each time a form is built
        (app.roles.CHOICES_BY_ROLE); None offers every code."""
        options = [] if required else [("", "（未填写）")]
        codes = offered() if offered is not None else None
        #: a code of the list not offered to this person still reaches the save, whose check
        #: names who may choose it (app.roles) instead of a bare 不是有效的选项
        self.valid_codes = frozenset(choices.codes)
        super().__init__(
            label,
            choices=options + [pair for pair in choices.pairs if codes is None or pair[0] in codes],
            validators=[InputRequired(message="请选择")] if required else [Optional()],
            widget=Select2Widget(),
            **kwargs,
        )

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        if self.data == "":
            self.data = None

    def pre_validate(self, form: Any) -> None:
        if self.data is None:
            return
        if self.data not in self.valid_codes:
            raise ValidationError("不是有效的选项")


def decimal_field(label: str, places: int, required: bool, description: str = "") -> DecimalField:
    """Keeps the column's scale: FAB's default DecimalField(places=2) would round it."""
    return DecimalField(
        label,
        places=places,
        description=description,
        validators=[InputRequired(message="请填写数字")] if required else [Optional()],
        widget=BS3TextFieldWidget(),
    )


class DateInput(DatePickerWidget):
    """FAB's calendar picker without the fixed ``id="datepicker"`` it gave every date field, which
    a form with two dates repeated (the picker is found by its class)."""

    data_template = DatePickerWidget.data_template.replace(' id="datepicker"', "")


def date_field(label: str, required: bool, description: str = "", default: Any = None) -> DateField:
    """FAB's date field and checks (必填 or optional), with the picker above."""
    return DateField(
        label,
        description=description,
        validators=[InputRequired()] if required else [Optional()],
        widget=DateInput(),
        default=default,
    )


class DateTimeInput:
    """A native ``datetime-local`` input: FAB's picker can only pick a date."""

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        value = field.data.strftime("%Y-%m-%dT%H:%M") if field.data else ""
        return Markup(
            f'<input type="datetime-local" class="form-control" id="{field.id}" '
            f'name="{field.name}" value="{value}">'
        )


def datetime_field(label: str, required: bool, description: str = "") -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
        description=description,
        validators=[DataRequired(message="请填写日期时间")] if required else [Optional()],
        widget=DateTimeInput(),
    )


class AjaxSelectInput:
    """A Select2 box that asks the server for one page of matches at a time."""

    def __call__(self, field: "AjaxRelationField", **kwargs: Any) -> Markup:
        option = ""
        if field.data is not None:
            option = f'<option value="{field.related_pk(field.data)}" selected>{escape(field.data)}</option>'
        url = url_for(f"{field.lookup_view}.lookup")
        return Markup(
            f'<select class="form-control ajax-select" id="{field.id}" name="{field.name}" '
            f'data-url="{url}" data-allow-clear="{str(not field.required).lower()}">'
            f"{option}</select>"
        )


class AjaxRelationField(Field):
    """A many-to-one relation to a big table (房屋, 业主...): never renders the whole table.

    ``interface`` is the related view's data interface, so the object a submitted id
    resolves to is fetched through the same data layer as that view's own pages.
    """

    widget = AjaxSelectInput()

    def __init__(self, label: str, interface: Any, lookup_view: str, required: bool, **kwargs: Any):
        validators = [DataRequired(message="请选择")] if required else [Optional()]
        super().__init__(label, validators=validators, **kwargs)
        self.interface = interface
        self.lookup_view = lookup_view
        self.required = required
        self._bad_id = False

    def related_pk(self, obj: Any) -> Any:
        return self.interface.get_pk_value(obj)

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = valuelist[0] if valuelist else ""
        self.data = None
        if raw:
            self.data = self.interface.get(raw) if row_id(raw) else None
            self._bad_id = self.data is None

    def pre_validate(self, form: Any) -> None:
        if self._bad_id:
            raise ValidationError("所选记录不存在")


class DocumentInput:
    """A file input (PDF or image) and, when a document is stored, its scoped download link."""

    def __call__(self, field: "DocumentField", **kwargs: Any) -> Markup:
        current = ""
        if field.object_data:
            url = url_for(f"{field.view_name}.download", filename=field.object_data)
            current = (f'<p class="form-control-static"><i class="fa fa-paperclip"></i> 已上传：'
                       f'<a href="{escape(url)}">下载</a>（重新选择文件即替换）</p>')
        return Markup(
            f'{current}<input type="file" class="form-control" id="{field.id}" name="{field.name}" '
            f'accept=".pdf,.jpg,.jpeg,.png">'
        )


class DocumentField(Field):
    """An uploaded document (FAB's FileColumn): stored by ``views.uploads.save_upload``.

    The column keeps the random stored name; submitting no file keeps the stored one.
    (FAB's edit form is built from the posted data, not the row, so whether a document
    is already stored is unknown here: a mandatory document is the model's NOT NULL.)
    """

    widget = DocumentInput()

    def __init__(self, label: str, view_name: str, **kwargs: Any):
        super().__init__(label, **kwargs)
        self.view_name = view_name
        self.upload = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        from werkzeug.datastructures import FileStorage

        file = valuelist[0] if valuelist else None
        self.upload = file if isinstance(file, FileStorage) and file.filename else None

    def pre_validate(self, form: Any) -> None:
        from models.errors import Refused
        from views.uploads import check_upload

        if self.upload is None:
            return
        try:
            check_upload(self.upload)
        except Refused as refused:
            raise ValidationError(str(refused)) from None

    def populate_obj(self, obj: Any, name: str) -> None:
        from views.uploads import save_upload

        if self.upload is not None:
            setattr(obj, name, save_upload(self.upload))


class DocumentLink:
    """List and show pages: a stored document reads as a 下载 link through the row's view."""

    def __init__(self, view_name: str):
        self.view_name = view_name

    def __call__(self, value: Any) -> Markup | str:
        if not value:
            return ""
        url = url_for(f"{self.view_name}.download", filename=value)
        return Markup(f'<a href="{escape(url)}"><i class="fa fa-download"></i> 下载</a>')
