"""Excel export and import of the declared entities.

* :func:`stream_export` writes the list exactly as filtered and ordered, every
  matching row, streamed: the query is read in batches (``yield_per``) and rows go
  through XlsxWriter's constant-memory workbook into an anonymous temporary file, so
  the memory stays flat however many rows there are. Import and templates use openpyxl.
* :func:`template_download` and :func:`import_page` serve the import. The columns
  of the sheet derive from the entity's declaration (form columns, column types,
  ``info``): a new importable entity needs no code here. The one thing a
  declaration cannot say is how people name a related row in a sheet (a building is
  "小区名称 + 楼栋编号", not an id): that is :data:`NATURAL_KEYS`.

An import is all or nothing: every row is converted and checked with the same rules
as the forms (``models.rules.violations``), plus required values and duplicates
within the file; any error and nothing is written, otherwise all rows go in one
transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response, current_app, flash, g, redirect, request, send_file, url_for
from markupsafe import Markup
import xlsxwriter
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import Boolean, Date, DateTime, Integer, String, inspect, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.jobs import handler
from models.base import Choices, Entity, is_decimal, lookup_columns_of, value_kind
from models.company import PropertyCompany
from models.errors import Refused
from models.estate import Building, Estate
from models.region import Community
from models.rules import label, stored_duplicates, unique_sets, violations
from views.errors import integrity_message
from views.registry import EntitySpec, display

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: rows per import file (header excluded); more must be split into several files
MAX_ROWS = 20_000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: What an upload may unpack to, checked on the zip directory before anything is parsed (a
#: full 20,000-row template is ~10 MB unpacked; a 1 MB file can hold a 1 GiB cell).
#: Reading stops at a part's declared size, so a directory that lies cannot exceed it.
MAX_UNPACKED_PART_BYTES = 32 * 1024 * 1024
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_PARTS = 1000
#: rows read, empty ones included: a sheet of a million empty rows is refused within seconds
MAX_ROWS_READ = 2 * MAX_ROWS
NOT_XLSX = "无法读取该文件：它不是有效的 .xlsx 文件，请用 Excel 另存为 .xlsx 后重试"
#: errors listed on the page (all are counted)
SHOWN_ERRORS = 1000
#: rows read from the database per batch while exporting
EXPORT_BATCH = 1000

#: How a sheet names a row of a related model: (column header, attribute path on
#: that model). Keyed by the *related* model, so every relation to it (from any
#: importable entity) is entered the same way. Models not listed here are named by
#: their first lookup column (``Admin.lookup_columns``), with that column's label.
NATURAL_KEYS: dict[type[Entity], tuple[tuple[str, str], ...]] = {
    Community: (("社区名称", "name"),),
    PropertyCompany: (("物业服务企业名称", "name"),),
    Estate: (("小区名称", "name"),),
    Building: (("小区名称", "estate.name"), ("楼栋编号", "code")),
}

_HEADER_FONT = Font(bold=True)
_REQUIRED_FONT = Font(bold=True, color="C00000")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")
_FILE_NAME_BAD = re.compile(r'[\\/:*?"<>|]')


# -- export ---------------------------------------------------------------------------

def stream_export(view: Any) -> Response:
    """The list as currently filtered and ordered, every row, as an .xlsx download."""
    # An anonymous temporary file (already unlinked on POSIX): nothing to clean up, the
    # handle is closed when the response has been sent.
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        write_export(view, handle)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    response = send_file(handle, mimetype=XLSX_MIME, as_attachment=True, download_name=export_name(view))
    response.headers["Cache-Control"] = "no-store"
    return response


def export_name(view: Any) -> str:
    return f"{_file_name(view.model.Admin.label)}_{_stamp()}.xlsx"


def write_export(view: Any, handle: Any, progress: Any = None, total: int | None = None) -> int:
    """Write the list as currently filtered and ordered into ``handle``; returns the rows
    written. XlsxWriter's constant-memory mode writes each row out as it comes (inline
    strings), about twice as fast as openpyxl, in flat memory however many rows there are.
    ``progress(done, total)`` is told after every batch (background exports)."""
    model = view.model
    workbook = xlsxwriter.Workbook(handle, {"constant_memory": True})
    sheet = workbook.add_worksheet(_sheet_title(model.Admin.label))
    sheet.freeze_panes(1, 0)
    columns = [_ExportColumn(view, workbook, name) for name in view.list_columns]
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "pattern": 1})
    for index, column in enumerate(columns):
        sheet.set_column(index, index, column.width)
        sheet.write_string(0, index, column.header, header)
    number = 0
    for number, row in enumerate(view.current_query().yield_per(EXPORT_BATCH), 1):
        for index, column in enumerate(columns):
            column.write(sheet, number, index, row)
        if progress is not None and number % EXPORT_BATCH == 0:
            progress(number, total)
    workbook.close()
    return number


class _ExportColumn:
    """One list column: its header, width and how a value is written to its cell.

    Every cell is written with its type (text, number, date): a text is never read as a
    formula, and an exact decimal goes into the file as its exact digits.
    """

    def __init__(self, view: Any, workbook: Any, name: str):
        model = view.model
        self.name, self.workbook = name, workbook
        self._formats: dict[str, Any] = {}
        self.header = view.label_columns.get(name, name)
        self.formatter = view.formatters_columns.get(name, display)
        mapper = inspect(model)
        attr = mapper.attrs.get(name)
        column = attr.columns[0] if attr is not None and hasattr(attr, "columns") else None
        self.choices: Choices | None = column.info.get("choices") if column is not None else None
        self.scale = column.type.scale if column is not None and is_decimal(column.type) else None
        self.width = _export_width(self.header, column, name in mapper.relationships, self.choices)

    def value(self, row: Any) -> Any:
        value = row
        for part in self.name.split("."):
            value = getattr(value, part, None)
            if value is None:
                return None
        return value

    def write(self, sheet: Any, row_number: int, index: int, row: Any) -> None:
        value = self.value(row)
        if value is None:
            return
        if self.choices is not None:
            sheet.write_string(row_number, index, self.choices.label(value))
        elif isinstance(value, bool):
            sheet.write_string(row_number, index, _plain(self.formatter(value)))
        elif isinstance(value, Decimal):
            scale = self.scale if self.scale is not None else max(0, -value.as_tuple().exponent)
            sheet.write_number(row_number, index, value, self._format("0." + "0" * scale if scale else "0"))
        elif isinstance(value, dt.datetime):
            sheet.write_datetime(row_number, index, value.replace(tzinfo=None), self._format("yyyy-mm-dd hh:mm"))
        elif isinstance(value, dt.date):
            sheet.write_datetime(row_number, index, value, self._format("yyyy-mm-dd"))
        elif isinstance(value, (int, float)):
            sheet.write_number(row_number, index, value)
        else:  # relations (str()), texts, and whatever the list's formatter does to them
            sheet.write_string(row_number, index, _plain(self.formatter(value)))

    def _format(self, number_format: str) -> Any:
        found = self._formats.get(number_format)
        if found is None:
            found = self._formats[number_format] = self.workbook.add_format({"num_format": number_format})
        return found


def _plain(value: Any) -> str:
    """A formatter's output as plain text (a formatter may return HTML for the page)."""
    return value.striptags() if isinstance(value, Markup) else str(value)


def _export_width(header: str, column: Any, is_relation: bool, choices: Choices | None) -> float:
    if is_relation:
        guess = 24
    elif choices is not None:
        guess = max(_text_width(text) for text in choices.labels.values())
    elif column is None:
        guess = 16
    elif isinstance(column.type, DateTime):
        guess = 17
    elif isinstance(column.type, Date):
        guess = 12
    elif is_decimal(column.type):
        guess = 14
    elif isinstance(column.type, Boolean):
        guess = 6
    elif isinstance(column.type, Integer):
        guess = 8
    elif isinstance(column.type, String):
        guess = min(column.type.length or 20, 36)
    else:
        guess = 16
    return min(max(_text_width(header), guess) + 2, 50)


# -- the import sheet, derived from the declaration ----------------------------------

@dataclass
class Field:
    """A column of the model, one column of the sheet."""

    name: str
    header: str
    kind: str  # text | int | decimal | date | datetime | bool | choice
    required: bool
    default: Any
    description: str
    choices: Choices | None = None
    server_default: bool = False  # left out when empty: the database fills it in
    length: int | None = None
    precision: int | None = None
    scale: int = 0
    #: how a typed value is written (the column's ``normalize``): before the length check
    normalize: Any = None


@dataclass
class Relation:
    """A many-to-one relation, entered as the related row's natural key (one column per part)."""

    name: str
    label: str
    target: type[Entity]
    parts: tuple[tuple[str, str], ...]  # (header, attribute path on target)
    required: bool
    fk_columns: tuple[str, ...]

    @property
    def headers(self) -> list[str]:
        return [header for header, _ in self.parts]

    @property
    def header(self) -> str:
        """Where errors about the relation as a whole are shown."""
        return "+".join(self.headers)


class ImportSheet:
    """The columns of an entity's import sheet and how each cell is read."""

    def __init__(self, model: type[Entity]):
        self.model = model
        self.label = model.Admin.label
        spec = EntitySpec(model)
        self.fields: list[Field] = []
        self.relations: list[Relation] = []
        self.columns: list[tuple[str, Field | Relation, int]] = []  # (header, owner, part index)
        taken = {
            label(model, n) for n in spec.form_columns() if n in spec.columns
        }
        for name in spec.form_columns():
            rel = spec.relations.get(name)
            if rel is not None:
                if rel.direction.name != "MANYTOONE":
                    continue
                relation = self._relation(name, rel, taken)
                self.relations.append(relation)
                self.columns += [(header, relation, i) for i, header in enumerate(relation.headers)]
            elif name in spec.columns:
                field = self._field(name, spec.columns[name])
                self.fields.append(field)
                self.columns.append((field.header, field, 0))
        self.headers = [header for header, _, _ in self.columns]
        self._by_name: dict[str, str] = {f.name: f.header for f in self.fields}
        self._by_name.update({r.name: r.header for r in self.relations})
        for relation in self.relations:
            for fk in relation.fk_columns:
                self._by_name[fk] = relation.header
        self.fk_relation = {fk: r.name for r in self.relations for fk in r.fk_columns}

    def _field(self, name: str, column: Any) -> Field:
        info, kind = column.info, value_kind(column)
        default = column.default.arg if column.default is not None and not callable(column.default.arg) else None
        has_default = default is not None or column.server_default is not None
        return Field(
            name=name,
            header=info.get("label", name),
            kind=kind,
            required=not column.nullable and not has_default,
            default=default,
            description=info.get("description", ""),
            choices=info.get("choices"),
            server_default=column.server_default is not None,
            length=getattr(column.type, "length", None) if kind == "text" else None,
            precision=column.type.precision if kind == "decimal" else None,
            scale=(column.type.scale or 0) if kind == "decimal" else 0,
            normalize=info.get("normalize"),
        )

    def _relation(self, name: str, rel: Any, taken: set[str]) -> Relation:
        target = rel.mapper.class_
        parts = NATURAL_KEYS.get(target) or tuple(
            (label(target, c), c) for c in lookup_columns_of(target)[:1]
        )
        rel_label = rel.info.get("label", name)
        # two relations to the same model, or a key named like a column: say which one
        parts = tuple(
            (f"{rel_label}{header}" if header in taken else header, path) for header, path in parts
        )
        taken.update(header for header, _ in parts)
        return Relation(
            name=name,
            label=rel_label,
            target=target,
            parts=parts,
            required=not all(c.nullable for c in rel.local_columns),
            fk_columns=tuple(c.key for c in rel.local_columns),
        )

    def key_value(self, values: dict[str, Any], column: str) -> Any:
        """A unique column's value in a row; a foreign key through its related object."""
        if column in values:
            return values[column]
        relation = self.fk_relation.get(column)
        related = values.get(relation) if relation else None
        if related is None:
            return None
        identity = inspect(related).identity
        return identity[0] if identity else id(related)

    def position(self, header: str) -> int:
        """Where a column (or a relation's "a+b" columns) stands in the sheet."""
        first = header.split("+")[0]
        return self.headers.index(first) if first in self.headers else len(self.headers)

    def header_for(self, name: str) -> str:
        """The sheet column that shows a model attribute (what an error points at)."""
        return self._by_name.get(name) or label(self.model, name)

    def describe(self, for_sheet: bool = False) -> list[dict[str, str]]:
        """Per sheet column: header, 必填/选填 and what to write (template and page)."""
        rows = []
        for header, owner, index in self.columns:
            if isinstance(owner, Relation):
                target_label = owner.target.Admin.label
                required = "必填" if owner.required else "选填"
                hint = f"须为系统中已有的{target_label}"
                if len(owner.parts) > 1:
                    hint += f"（{'、'.join(owner.headers)}一起确定{owner.label}）"
                elif not owner.required:
                    hint += f"；不填表示没有{owner.label}"
                rows.append({"header": header, "required": required, "hint": hint, "note": ""})
                continue
            required = "必填" if owner.required else "选填"
            if owner.default is not None:
                shown = owner.choices.label(owner.default) if owner.choices else display(owner.default)
                required = f"选填（默认：{shown}）"
            rows.append({
                "header": header, "required": required, "hint": _hint(owner, for_sheet),
                "note": owner.description,
            })
        return rows


def _hint(field: Field, for_sheet: bool) -> str:
    """What to write in a column (the sheet may name formats the way Excel users know them)."""
    if field.kind == "choice":
        return "可选值：" + "、".join(field.choices.labels.values())
    if field.kind == "bool":
        return "填写“是”或“否”"
    if field.kind == "date":
        return f"日期，格式 {'YYYY-MM-DD' if for_sheet else '年-月-日'}，如 2024-03-01"
    if field.kind == "datetime":
        return f"日期时间，格式 {'YYYY-MM-DD HH:MM' if for_sheet else '年-月-日 时:分'}，如 2024-03-01 08:30"
    if field.kind == "decimal":
        return f"数字，最多 {field.scale} 位小数" if field.scale else "整数"
    if field.kind == "int":
        return "整数"
    return f"文本，最多 {field.length} 个字" if field.length else "文本"


# -- converting cells -------------------------------------------------------------------

class Bad(ValueError):
    """A cell that cannot be read as its column's type; the message is shown as is."""


def _empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))  # 1503 typed into a number cell is the text "1503"
    if isinstance(raw, (dt.date, dt.datetime)):
        return display(raw)
    return str(raw).strip()


_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DATETIME = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
_INT = re.compile(r"^[+-]?\d+$")
_BOOLS = {"是": True, "否": False, "1": True, "0": False}


def convert(field: Field, raw: Any) -> Any:
    """A non-empty cell as the Python value of its column; raises :class:`Bad`."""
    if field.kind == "text":
        text = field.normalize(_text(raw)) if field.normalize else _text(raw)
        if field.length and len(text) > field.length:
            raise Bad(f"不能超过 {field.length} 个字（现有 {len(text)} 个）")
        return text
    if field.kind == "choice":
        text = _text(raw)
        code = field.choices.code_for(text)
        if code is None:
            raise Bad(f"“{text}”不是可选值，可选：{'、'.join(field.choices.labels.values())}")
        return code
    if field.kind == "bool":
        if isinstance(raw, bool):
            return raw
        value = _BOOLS.get(_text(raw))
        if value is None:
            raise Bad("请填写“是”或“否”")
        return value
    if field.kind == "int":
        if isinstance(raw, bool):
            raise Bad("应为整数")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if isinstance(raw, str) and _INT.match(raw.strip()):
            return int(raw.strip())
        raise Bad("应为整数")
    if field.kind == "decimal":
        return _decimal(field, raw)
    if field.kind == "date":
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        match = _DATE.match(raw.strip()) if isinstance(raw, str) else None
        if not match:
            raise Bad("日期格式应为 年-月-日，如 2024-03-01")
        try:
            return dt.date(*map(int, match.groups()))
        except ValueError:
            raise Bad(f"“{raw.strip()}”不是有效的日期") from None
    if field.kind == "datetime":
        if isinstance(raw, dt.datetime):
            return raw
        if isinstance(raw, dt.date):
            return dt.datetime.combine(raw, dt.time())
        text = raw.strip() if isinstance(raw, str) else ""
        match = _DATETIME.match(text) or _DATE.match(text)
        if not match:
            raise Bad("日期时间格式应为 年-月-日 时:分，如 2024-03-01 08:30")
        try:
            return dt.datetime(*(int(g) for g in match.groups() if g is not None))
        except ValueError:
            raise Bad(f"“{text}”不是有效的日期时间") from None
    raise Bad("无法识别的列类型")  # pragma: no cover


def _decimal(field: Field, raw: Any) -> Decimal:
    """Exact decimals: from the cell's text, never through float arithmetic."""
    if isinstance(raw, bool):
        raise Bad("应为数字")
    try:
        if isinstance(raw, float):
            value = Decimal(str(raw))
            # Excel keeps 15 significant digits; more is binary noise (89.35000000000001)
            if len(value.as_tuple().digits) > 15:
                value = Decimal(format(raw, ".15g"))
        elif isinstance(raw, (int, Decimal)):
            value = Decimal(raw)
        else:
            value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise Bad("应为数字") from None
    if not value.is_finite():
        raise Bad("应为数字")
    places = max(0, -value.normalize().as_tuple().exponent)
    if places > field.scale:
        raise Bad(f"最多 {field.scale} 位小数" if field.scale else "应为整数")
    try:
        value = value.quantize(Decimal(1).scaleb(-field.scale))
    except InvalidOperation:
        raise Bad("数值过大") from None
    if field.precision and len(value.as_tuple().digits) > field.precision:
        raise Bad("数值过大")
    return value


class Resolver:
    """Finds related rows by their natural key; one query per distinct key per import."""

    def __init__(self, session: Any):
        self.session = session
        self.cache: dict[tuple[Any, ...], list[Any]] = {}

    def find(self, relation: Relation, key: tuple[str, ...]) -> list[Any]:
        cache_key = (relation.target, *key)
        if cache_key not in self.cache:
            query = select(relation.target).where(
                *(_path_equals(relation.target, path, value) for (_, path), value in zip(relation.parts, key))
            )
            self.cache[cache_key] = list(self.session.scalars(query.limit(2)))
        return self.cache[cache_key]


def _path_equals(model: type[Entity], path: str, value: Any) -> Any:
    """``estate.name == v`` on Building as ``Building.estate.has(Estate.name == v)``."""
    head, _, rest = path.partition(".")
    attr = getattr(model, head)
    if not rest:
        return attr == value
    return attr.has(_path_equals(attr.property.mapper.class_, rest, value))


# -- reading and checking an upload -----------------------------------------------------

class Refusal(Exception):
    """The file as a whole cannot be imported (wrong type, unreadable, wrong header, too big)."""


@dataclass
class Checked:
    rows: list[dict[str, Any]]
    count: int
    errors: list[tuple[int, str, str]]


def read_rows(upload: Any, sheet: ImportSheet) -> list[tuple[int, dict[str, Any]]]:
    """(Excel row number, {header: raw cell}) for every non-empty data row.

    Every row of the first sheet is read, whatever range the file records for it (a
    recorded ``A1:L2`` over five rows silently dropped four)."""
    if upload is None or not upload.filename:
        raise Refusal("请选择要上传的 Excel 文件（.xlsx）")
    if not upload.filename.lower().endswith(".xlsx"):
        raise Refusal("只支持 .xlsx 格式的 Excel 文件（不支持 .xls、.csv 等），请下载导入模板填写后上传")
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise Refusal(f"文件过大（超过 {MAX_UPLOAD_BYTES // 1024 // 1024} 兆字节），请拆分后分批导入")
    _check_unpacked_size(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise Refusal(NOT_XLSX) from None
    try:
        worksheet = workbook.worksheets[0] if workbook.worksheets else None
        if worksheet is None:
            raise Refusal("文件中没有工作表")
        worksheet.reset_dimensions()
        rows = worksheet.iter_rows(values_only=True)
        header = _check_header(next(rows, ()), sheet)
        found: list[tuple[int, dict[str, Any]]] = []
        for number, cells in enumerate(rows, 2):
            if number > MAX_ROWS_READ + 1:
                raise Refusal(f"文件中的行数（含空行）超过 {MAX_ROWS_READ} 行：请删除数据下方的空行，"
                              f"或拆分后分批导入（每个文件最多 {MAX_ROWS} 行数据）")
            if all(_empty(c) for c in cells):
                continue
            if len(found) == MAX_ROWS:
                raise Refusal(f"一个文件最多导入 {MAX_ROWS} 行，本文件超过了这个数量，请拆分后分批导入")
            found.append((number, {h: cells[i] for h, i in header.items() if i < len(cells)}))
        return found
    except Refusal:
        raise
    except Exception:
        raise Refusal("读取文件时出错，文件可能已损坏，请另存为 .xlsx 后重试") from None
    finally:
        workbook.close()


def _check_unpacked_size(data: bytes) -> None:
    try:
        parts = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Refusal(NOT_XLSX) from None
    if (len(parts) > MAX_PARTS or sum(p.file_size for p in parts) > MAX_UNPACKED_BYTES
            or any(p.file_size > MAX_UNPACKED_PART_BYTES for p in parts)):
        raise Refusal(f"文件解压后过大（超过 {MAX_UNPACKED_BYTES // 1024 // 1024} 兆字节），"
                      "可能含有异常内容；请把数据复制到新的导入模板后重试")


def _check_header(cells: tuple[Any, ...], sheet: ImportSheet) -> dict[str, int]:
    """{header: column index}; the header must have exactly the template's columns."""
    names = [_text(c) if not _empty(c) else "" for c in cells]
    position: dict[str, int] = {}
    duplicated = []
    for index, name in enumerate(names):
        if not name:
            continue
        if name in position:
            duplicated.append(name)
        position[name] = index
    missing = [h for h in sheet.headers if h not in position]
    unknown = [h for h in position if h not in sheet.headers]
    if not position:
        raise Refusal("第 1 行应为表头（各列名称），请下载导入模板，在表头下方填写数据")
    if missing or unknown or duplicated:
        problems = []
        if missing:
            problems.append("缺少列：" + "、".join(missing))
        if unknown:
            problems.append("模板中没有的列：" + "、".join(unknown))
        if duplicated:
            problems.append("重复的列：" + "、".join(dict.fromkeys(duplicated)))
        raise Refusal(
            f"表头与{sheet.label}导入模板不一致（{'；'.join(problems)}）。"
            "请下载最新的导入模板，不要修改第 1 行表头。"
        )
    return position


def check_rows(sheet: ImportSheet, rows: list[tuple[int, dict[str, Any]]], session: Any) -> Checked:
    """Converts and checks every row; keeps the values only while no row has failed."""
    model = sheet.model
    resolver = Resolver(session)
    checked: list[tuple[int, dict[str, Any], list[tuple[str, str]]]] = []
    seen: dict[tuple[Any, ...], int] = {}
    uniques = list(unique_sets(model))
    for number, cells in rows:
        row_errors: list[tuple[str, str]] = []
        values: dict[str, Any] = {}
        for field in sheet.fields:
            raw = cells.get(field.header)
            if _empty(raw):
                if field.required:
                    row_errors.append((field.header, "必填，不能为空"))
                elif field.default is not None:
                    values[field.name] = field.default
                elif not field.server_default:
                    values[field.name] = None
                continue
            try:
                values[field.name] = convert(field, raw)
            except Bad as error:
                row_errors.append((field.header, str(error)))
        for relation in sheet.relations:
            key = tuple(_text(cells.get(h)) if not _empty(cells.get(h)) else "" for h in relation.headers)
            if not any(key):
                if relation.required:
                    row_errors += [(h, "必填，不能为空") for h in relation.headers]
                else:
                    values[relation.name] = None
                continue
            blanks = [h for h, k in zip(relation.headers, key) if not k]
            if blanks:
                row_errors += [(h, f"必填，与{'、'.join(relation.headers)}一起确定{relation.label}") for h in blanks]
                continue
            found = resolver.find(relation, key)
            if not found:
                named = "、".join(f"{h}“{k}”" for h, k in zip(relation.headers, key))
                row_errors.append((relation.header, f"找不到{named}的{relation.target.Admin.label}"))
            elif len(found) > 1:
                row_errors.append((relation.header, f"有多个同名的{relation.target.Admin.label}，无法确定是哪一个，请联系管理员"))
            else:
                values[relation.name] = found[0]
        for name, message in violations(model, values):  # the stored duplicates: below, in batches
            row_errors.append((sheet.header_for(name), message))
        for unique in uniques:
            key = unique.key(lambda c: sheet.key_value(values, c))
            if key is None:
                continue
            first = seen.setdefault((unique.columns, *key), number)
            if first != number:
                row_errors.append((sheet.header_for(unique.columns[-1]), f"{unique.message}（与第 {first} 行重复）"))
        checked.append((number, values, row_errors))
    stored = stored_duplicates(model, [values for _number, values, _errors in checked], session)
    errors: list[tuple[int, str, str]] = []
    for index, (number, _values, row_errors) in enumerate(checked):
        row_errors += [(sheet.header_for(name), message) for name, message in stored.get(index, ())]
        # in the sheet's column order, one message per cell and reason
        for column, reason in sorted(dict.fromkeys(row_errors), key=lambda e: sheet.position(e[0])):
            errors.append((number, column, reason))
    return Checked(rows=[values for _n, values, _e in checked] if not errors else [], count=len(rows),
                   errors=errors)


# -- the import page and template -------------------------------------------------------

def import_page(view: Any) -> Any:
    """GET: the steps and the upload form. POST: check the file; import it unless a dry run."""
    model = view.model
    sheet = ImportSheet(model)
    endpoint = getattr(view, "endpoint", None) or type(view).__name__
    page = dict(
        title=f"导入{sheet.label}",
        entity_label=sheet.label,
        columns=sheet.describe(),
        template_url=url_for(f"{endpoint}.import_template"),
        list_url=url_for(f"{endpoint}.list"),
        max_rows=MAX_ROWS,
    )
    if request.method != "POST":
        return view.render_template("entity/import.html", **page)

    dry_run = request.form.get("dry_run") == "1"
    page["dry_run"] = dry_run
    upload = request.files.get("file")
    page["file_name"] = upload.filename if upload is not None else ""
    try:
        rows = read_rows(upload, sheet)
    except Refusal as refusal:
        return view.render_template("entity/import.html", message=str(refusal), **page)
    if not rows:
        return view.render_template("entity/import.html", message="文件中没有数据行：请从第 2 行起填写，每行一条", **page)

    session = db.session
    checked = check_rows(sheet, rows, session)
    if checked.errors:
        session.rollback()
        return view.render_template(
            "entity/import.html",
            errors=checked.errors[:SHOWN_ERRORS],
            error_count=len(checked.errors),
            error_rows=len({number for number, _, _ in checked.errors}),
            row_count=checked.count,
            **page,
        )
    if dry_run:
        session.rollback()
        return view.render_template(
            "entity/import.html", success=f"校验通过，共 {checked.count} 行，可以导入", **page
        )
    try:
        session.add_all([model(**values) for values in checked.rows])
        session.commit()
    except Exception as error:
        session.rollback()
        if isinstance(error, IntegrityError):
            reason = integrity_message(error, model)
        else:
            current_app.logger.exception("import of %s failed", model.__name__)
            reason = "保存时出错，请稍后重试或联系系统管理员"
        return view.render_template(
            "entity/import.html", message=f"导入失败，未写入任何数据：{reason}", **page
        )
    flash(f"已导入 {checked.count} 条{sheet.label}", "success")
    return redirect(page["list_url"])


def template_download(view: Any) -> Response:
    """The import template: the header row, and a sheet "填写说明" on every column."""
    sheet = ImportSheet(view.model)
    described = sheet.describe(for_sheet=True)
    workbook = Workbook()
    data = workbook.active
    data.title = _sheet_title(sheet.label)
    data.append(sheet.headers)
    data.freeze_panes = "A2"
    for index, ((header, owner, _), about) in enumerate(zip(sheet.columns, described), 1):
        letter = get_column_letter(index)
        cell = data.cell(row=1, column=index)
        cell.font = _REQUIRED_FONT if about["required"] == "必填" else _HEADER_FONT
        cell.fill = _HEADER_FILL
        data.column_dimensions[letter].width = max(_text_width(header) + 4, 12)
        kind = owner.kind if isinstance(owner, Field) else "text"
        if kind == "text":  # keep 身份证号, 房号 "0101"... as typed, not as numbers
            data.column_dimensions[letter].number_format = "@"
        options = None
        if kind == "choice":
            options = list(owner.choices.labels.values())
        elif kind == "bool":
            options = ["是", "否"]
        if options and len(",".join(options)) < 250:
            check = DataValidation(type="list", formula1=f'"{",".join(options)}"', allow_blank=True)
            check.error, check.errorTitle = "请从下拉列表中选择", "填写有误"
            data.add_data_validation(check)
            check.add(f"{letter}2:{letter}{MAX_ROWS + 1}")

    notes = workbook.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "填写要求 / 可选值", "说明"])
    for cell in notes[1]:
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
    for about in described:
        notes.append([about["header"], about["required"], about["hint"], about["note"]])
    notes.append([])
    for line in (
        f"1. 在“{data.title}”工作表中填写，第 1 行表头请勿修改、删除或调换；从第 2 行起每行一条{sheet.label}。",
        "2. 标红的列为必填；空行会被忽略。",
        "3. 日期写成 YYYY-MM-DD（年-月-日，如 2024-03-01）；面积等数字最多 2 位小数，不要带单位。",
        "4. 有可选值的列填写中文名称（如“住宅”），也可填写代码。",
        f"5. 一个文件最多 {MAX_ROWS} 行。先“校验（不写入）”，全部通过后再“导入”；有任何一行出错时不会写入任何数据。",
    ):
        notes.append([line])
    for letter, width in zip("ABCD", (20, 18, 48, 36)):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return send_file(
        buffer, mimetype=XLSX_MIME, as_attachment=True,
        download_name=f"{_file_name(sheet.label)}导入模板.xlsx",
    )


# -- small helpers ----------------------------------------------------------------------

def _text_width(text: str) -> int:
    """Display width: a Chinese character is as wide as two Latin ones."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _sheet_title(text: str) -> str:
    return _SHEET_TITLE_BAD.sub("_", text)[:31] or "Sheet1"


def _file_name(text: str) -> str:
    return _FILE_NAME_BAD.sub("-", text)


def _stamp() -> str:
    from models import clock

    return clock.now().strftime("%Y%m%d-%H%M")


# -- background exports ---------------------------------------------------------------------

def export_list(view: Any) -> Response:
    """Small lists stream at once; above the threshold (系统设置) the export becomes a job whose
    file appears in 「我的下载」, so no web worker is held for minutes."""
    from app import jobs
    from models.settings import Settings

    session = view.datamodel.session
    threshold = Settings.current(session).export_background_rows
    total = view.current_query().order_by(None).count()
    if total <= threshold:
        return stream_export(view)
    job = jobs.submit(session, "export", f"{view.model.Admin.label}列表导出（{total:,} 行）", user_id=g.user.id,
                      params={"view": type(view).__name__, "path": request.full_path})
    session.commit()
    jobs.enqueue(job.id)
    flash(f"共 {total:,} 行，已转入后台导出；完成后会在「站内消息」通知您，文件在「我的下载」中", "info")
    return redirect(url_for("MyJobsView.job", pk=job.id))


@handler("export")
def _export_job(session: Any, job: Any, progress: Any) -> str:
    from app import jobs
    from models.clock import utc_now
    from models.settings import Settings

    view = next((v for v in current_app.appbuilder.baseviews if type(v).__name__ == job.arguments.get("view")), None)
    if view is None or not current_app.appbuilder.sm.has_access("can_export", view.class_permission_name):
        raise Refused("您已没有导出此列表的权限，导出未执行")
    final = jobs.download_path(job.id)
    partial = final.with_suffix(".part")
    total = view.current_query().order_by(None).count()
    progress(0, total)
    try:
        with open(partial, "wb") as handle:
            rows = write_export(view, handle, progress, total)
        os.replace(partial, final)  # a complete file or none: a killed export leaves only .part
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise Refused("服务器无法保存导出文件（磁盘已满或不可写），请联系系统管理员") from error
    days = Settings.current(session).download_retention_days
    job.rows, job.file_name = rows, export_name(view)
    job.expires_at = utc_now() + dt.timedelta(days=days)
    return f"共 {rows:,} 行，请在「我的下载」中下载，{days} 天内有效"
