"""The views generated from the declarative schema behave like a mature admin."""

from __future__ import annotations

import re
import warnings
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model
from sqlalchemy import Column, select

from app.extensions import db
from models.base import built_on, declared_entities
from models.estate import Unit
from tests.support import count_queries
from views.registry import VIEWS


def test_migrations_create_exactly_the_declared_schema(app, ctx):
    with db.engine.connect() as connection, warnings.catch_warnings():
        # SQLite's indexes over an expression cannot be reflected: the next test finds them by name
        warnings.filterwarnings("ignore", message=".*expression-based index")
        context = MigrationContext.configure(connection, opts={"include_object": built_on(connection.dialect.name)})
        diff = compare_metadata(context, Model.metadata)
    assert diff == []


def test_the_migrations_build_every_declared_index_over_an_expression(app, ctx):
    with db.engine.connect() as connection:
        dialect = connection.dialect.name
        include = built_on(dialect)
        declared = {index.name for table in Model.metadata.tables.values() for index in table.indexes
                    if index.expressions and not all(isinstance(e, Column) for e in index.expressions)
                    and include(index, index.name, "index", False, None)}
        built = set(connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index'" if dialect == "sqlite"
            else "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()").scalars())
    assert declared and declared <= built


def test_every_master_data_entity_of_the_spec_is_declared():
    labels = {m.Admin.label for m in declared_entities()}
    assert {"街道", "社区", "小区", "楼栋", "房屋", "业主", "产权登记", "住户/租户", "车位", "车辆", "停车卡",
            "物业服务企业", "物业服务合同", "部门", "员工", "设施设备", "设备档案", "保养计划"} <= labels


def test_generated_titles_are_chinese():
    for model, view in VIEWS.items():
        label = model.Admin.label
        assert (view.list_title, view.add_title, view.edit_title, view.show_title) == (
            f"{label}列表", f"新增{label}", f"编辑{label}", f"{label}详情")


def test_list_page_query_count_does_not_grow_with_page_size(app, admin_client):
    admin_client.get("/unit/list/")  # what the first request of a process reads once (the permission cache)
    counts = []
    for size in (5, 50):
        with count_queries(app) as statements:
            response = admin_client.get(f"/unit/list/?psize_UnitView={size}")
            assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_every_list_page_loads_displayed_relations_eagerly(app, admin_client):
    for model, view in VIEWS.items():
        small = admin_client.get(f"{view.route_base}/list/?psize_{view.__name__}=2")
        assert small.status_code == 200
        with count_queries(app) as few:
            admin_client.get(f"{view.route_base}/list/?psize_{view.__name__}=2")
        with count_queries(app) as many:
            admin_client.get(f"{view.route_base}/list/?psize_{view.__name__}=40")
        assert len(few) == len(many), model.__name__


def test_relations_to_big_tables_use_a_server_side_search_box(admin_client):
    html = admin_client.get("/resident/add").get_data(as_text=True)
    unit_select = re.search(r'<select[^>]*name="unit"[^>]*>(.*?)</select>', html, re.S)
    assert unit_select and "ajax-select" in unit_select.group(0)
    assert unit_select.group(1).count("<option") == 0, "no unit is rendered into the page"


def test_the_server_side_search_returns_one_page_of_matches(admin_client):
    data = admin_client.get("/unit/lookup/?q=1-&page=1").get_json()
    assert 0 < len(data["results"]) <= 20
    assert all("1-" in row["text"] for row in data["results"])
    assert data["pagination"]["more"] in (True, False)


def test_the_server_side_search_ignores_letter_case(app, admin_client):
    from models.parking import Vehicle

    with app.app_context():
        plate = db.session.execute(select(Vehicle.plate).order_by(Vehicle.id).limit(1)).scalar_one()
    typed = plate[1:].lower()  # 京A12345 typed as a12345
    assert typed != plate[1:]
    data = admin_client.get("/vehicle/lookup/", query_string={"q": typed}).get_json()
    assert plate in {row["text"] for row in data["results"]}


def test_decimal_fields_keep_their_scale(app, admin_client):
    with app.app_context():
        unit = db.session.execute(select(Unit).limit(1)).scalar_one()
        pk = unit.id
    html = admin_client.get(f"/unit/edit/{pk}").get_data(as_text=True)
    with app.app_context():
        area = db.session.get(Unit, pk).floor_area
    assert f'value="{area:.2f}"' in html
    assert area == area.quantize(Decimal("0.01"))


def test_choice_codes_are_shown_as_chinese_labels(admin_client):
    html = admin_client.get("/unit/list/").get_data(as_text=True)
    assert "住宅" in html and ">residence<" not in html


def test_booleans_and_empty_values_never_read_true_false_or_none(admin_client):
    html = admin_client.get("/building/list/").get_data(as_text=True)
    assert not re.search(r">\s*(True|False|None)\s*<", html)
    assert "是" in html or "否" in html


def test_datetime_columns_use_a_native_picker():
    from views.fields import DateTimeInput, datetime_field

    field = datetime_field("时间", required=False)
    assert field.kwargs["widget"].__class__ is DateTimeInput


def test_a_non_numeric_page_size_is_ignored_not_an_error(admin_client):
    assert admin_client.get("/unit/list/?psize_UnitView=abc&page_UnitView=x").status_code == 200


def test_page_size_is_capped(admin_client):
    html = admin_client.get("/unit/list/?psize_UnitView=100000").get_data(as_text=True)
    assert html.count('name="rowid"') <= 100 or html.count("/unit/show/") <= 100


def test_a_column_keeping_a_login_shows_the_persons_name(admin_client):
    page = admin_client.get("/ballot/list/?_flt_0_channel=paper").get_data(as_text=True)

    # the ballots a committee member entered name them as people read names, not by login
    assert "赵委员" in page and ">committee_a<" not in page


def _header_rows(html: str) -> list[list[str]]:
    """Each table's column headings, as text."""
    return [[re.sub(r"<[^>]+>|\s+", "", th) for th in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]
            for head in re.findall(r"<thead>(.*?)</thead>", html, re.S)]


def test_a_records_lines_are_listed_without_the_column_naming_the_record(app, admin_client, ctx):
    """On a document's page its lines (a 收费标准's 收费明细) leave out the column that would
    name the document itself on every row; their other columns stay."""
    checked = []
    for model, view in VIEWS.items():
        for related in view.related_views:
            line = related.datamodel.obj
            back = related.datamodel.get_related_fk(model)
            (key,) = getattr(line, back).property.local_columns
            owner = db.session.scalar(select(key).limit(1))
            if owner is None:
                continue
            headings = _header_rows(admin_client.get(f"{view.route_base}/show/{owner}").get_data(as_text=True))
            shown = [related.label_columns[name] for name in related.list_columns if name != back]
            lists = [row for row in headings if set(shown) <= set(row)]
            assert lists, f"{model.__name__}: no list of {line.__name__} with {shown}"
            assert all(related.label_columns[back] not in row for row in lists), f"{model.__name__}: {back}"
            checked.append(line.__name__)
    assert len(checked) >= 5, checked
