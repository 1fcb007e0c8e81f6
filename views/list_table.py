"""The rows of every list table and the links that page, sort and resize it.

The rows are built in Python as Django admin builds its changelist cells
(``items_for_result``): Jinja spent about 0.2 ms on each row's three buttons and seven cells,
a fifth of a list page's time. The markup is Flask-AppBuilder's, unchanged (the table's head
and the page around it stay in app/templates/appbuilder/general/widgets/list.html).

Each button's words are translated and its address built once per page (a row's address is
the one of row 0 with its own id); a row's 删除 carries its address (data-delete) and one
listener in ab_actions.js asks the table's question.

The page, sort and page-size links keep every value of every argument: Flask-AppBuilder's kept
only the first, so page 2 of a 属于 filter (出租 and 空置) listed 出租 alone. The pager says 首页、
上一页、下一页、末页 in words; the page-size menu offers every size on every page, each on the page
that keeps this page's first row in view.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, g, request, url_for
from flask_babel import gettext
from markupsafe import Markup, escape

BUTTON = ('<a href="{path}" class="btn btn-sm btn-default" data-toggle="tooltip" rel="tooltip" title="{title}">'
          '<span class="sr-only">{word}</span><i class="fa {icon}"></i></a>')
DELETE_BUTTON = ('<a href="#" data-delete="{path}" class="btn btn-sm btn-default confirm" rel="tooltip" title="{title}">'
                 '<span class="sr-only">{word}</span><i class="fa {icon}"></i></a>')
#: a button whose action would be refused: greyed, not a link; it says why on hover, on a click
#: (ab_actions.js) and to a screen reader
REFUSED_BUTTON = ('<span class="btn btn-sm {kind} refused" role="button" aria-disabled="true" tabindex="0"'
                  ' data-toggle="tooltip" rel="tooltip" title="{why}" data-why="{why}"><span class="sr-only">{word}'
                  '<span class="sr-only">：{why}</span></span><i class="fa {icon}"></i></span>')
#: the list's page sizes (Flask-AppBuilder's, up to MAX_PAGE_SIZE)
PAGE_SIZES = (25, 50, 75, 100)


def install(app: Flask) -> None:
    app.jinja_env.globals.update(table_rows=table_rows, pager=pager, page_size_menu=page_size_menu,
                                 refused_button=refused_button)
    # in place of Flask-AppBuilder's filters of the same names (the column heads call link_order;
    # any of its templates that still pages or resizes a list gets links that keep every value)
    app.jinja_env.filters.update(link_page=link_page, link_page_size=link_page_size, link_order=link_order)


def list_link(**changed: Any) -> str:
    """This page's address with some arguments set (None: dropped), every other argument kept
    with all its values. The path is built once per request: a list page has about 20 such links."""
    path = g.get("list_link_path")
    if path is None:
        path = g.list_link_path = url_for(request.endpoint, **(request.view_args or {}))
    kept = [(name, value) for name, value in request.args.items(multi=True) if name not in changed]
    return f"{path}?{urlencode(kept + [(name, value) for name, value in changed.items() if value is not None])}"


def link_page(page: int, view_name: str) -> str:
    return list_link(**{f"page_{view_name}": page})


def link_page_size(size: int, view_name: str, first_row: int = 0) -> str:
    """``size`` rows a page, on the page that holds ``first_row`` (0: the first page)."""
    return list_link(**{f"page_{view_name}": first_row // size, f"psize_{view_name}": size})


def page_count(count: int, page_size: int) -> int:
    return -(-count // page_size)


def pager(page: int | None, page_size: int, count: int, view_name: str) -> Markup:
    """首页 上一页 1 2 … 下一页 末页: seven page numbers around this one, and words where
    Flask-AppBuilder had «, <, > and » (people read words; a screen reader says them)."""
    pages = page_count(count, page_size)
    if pages <= 1:
        return Markup("")
    page = min(max(page or 0, 0), pages)
    low = max(0, min(page - 3, pages - 7))
    items = [_page_item("首页", 0, page > 0, view_name), _page_item("上一页", page - 1, page > 0, view_name)]
    items += [f'<li class="active"><span aria-current="page">{number + 1}</span></li>' if number == page
              else _page_item(str(number + 1), number, True, view_name)
              for number in range(low, min(low + 7, pages))]
    items += [_page_item("下一页", page + 1, page + 1 < pages, view_name),
              _page_item("末页", pages - 1, page + 1 < pages, view_name)]
    return Markup(f'<ul class="pagination pagination-sm" style="display:inherit;" aria-label="分页">{"".join(items)}</ul>')


def _page_item(words: str, number: int, enabled: bool, view_name: str) -> str:
    if not enabled:
        return f'<li class="disabled"><span>{words}</span></li>'
    return f'<li><a href="{escape(link_page(number, view_name))}">{words}</a></li>'


def page_size_menu(page: int | None, page_size: int, count: int, view_name: str) -> Markup:
    """每页条数: every size on every page, each keeping this page's first row in view. Flask-
    AppBuilder kept the page number, so it offered only the sizes under which that page still
    existed (on page 300 of 25 a page, 25 alone)."""
    if count <= PAGE_SIZES[0]:
        return Markup("")
    first_row = (page or 0) * page_size
    items = "".join(
        ('<li class="active">' if size == page_size else "<li>")
        + f'<a href="{escape(link_page_size(size, view_name, first_row))}">每页 {size} 条</a></li>'
        for size in PAGE_SIZES)
    return Markup(f'<div class="btn-group page-size"><button type="button" class="btn btn-default btn-sm dropdown-toggle"'
                  f' data-toggle="dropdown">每页 {page_size} 条 <span class="caret"></span></button>'
                  f'<ul class="dropdown-menu" role="menu">{items}</ul></div>')


def record_buttons(view_name: str, pk: Any, *, can_edit: bool, can_delete: bool,
                   no_edit: str | None, no_delete: str | None) -> Markup:
    """编辑 and 删除 on a record's own page, as on its list row: greyed with the reason where the
    row refuses them (``no_edit``, ``no_delete``)."""
    out = []
    if can_edit:
        out.append(_edit_button(view_name).unless_refused(pk, no_edit))
    if can_delete:
        out.append(_delete_button(view_name).unless_refused(pk, no_delete))
    return Markup("".join(out))


def link_order(column: str, view_name: str) -> str:
    """Sorted by the column, ascending (descending when it is already sorted by it ascending),
    from the first page: page 300 of another order shows unrelated rows (Django admin does the same)."""
    ascending = request.args.get(f"_oc_{view_name}") == column and request.args.get(f"_od_{view_name}") == "asc"
    return list_link(**{f"_oc_{view_name}": column, f"_od_{view_name}": "desc" if ascending else "asc",
                        f"page_{view_name}": None})


class _Button:
    """One row button: its markup around the row's address, and how that address is built."""

    def __init__(self, view_name: str, action: str, markup: str, title: str, word: str, icon: str,
                 suffix: str) -> None:
        filters = current_app.jinja_env.filters
        self.endpoint, self.suffix = f"{view_name}.{action}", suffix
        self.word, self.icon = word, icon
        # the markup around the address, filled once: a row adds only its address
        self.before, _, self.after = markup.format(
            path="\0", title=escape(title), word=escape(word), icon=icon).partition("\0")
        at = filters["safe_url_for"](self.endpoint, pk=0)
        self.prefix = at[:-1] if at and at.endswith("/0") else None

    def __call__(self, pk: Any) -> str:
        if self.prefix is not None:
            path = f"{self.prefix}{pk}{self.suffix}"
        else:
            path = (current_app.jinja_env.filters["safe_url_for"](self.endpoint, pk=pk) or "") + self.suffix
        return f"{self.before}{escape(path)}{self.after}"

    def unless_refused(self, pk: Any, why: str | None) -> str:
        """The button for the row, or in its place a greyed one saying ``why`` the row refuses it."""
        return _refused(self.word, self.icon, why) if why else self(pk)


def _edit_button(view_name: str, suffix: str = "") -> _Button:
    return _Button(view_name, "edit", BUTTON, gettext("Edit record"), gettext("Edit"), "fa-edit", suffix)


def _delete_button(view_name: str) -> _Button:
    return _Button(view_name, "delete", DELETE_BUTTON, gettext("Delete record"), gettext("Delete"), "fa-trash", "")


@lru_cache(maxsize=1024)
def _refused(word: str, icon: str, why: str, kind: str = "btn-default") -> str:
    # a page's rows share a few reasons (every 房屋 with bills reads the same)
    return REFUSED_BUTTON.format(word=escape(word), icon=icon, why=escape(why), kind=kind)


def refused_button(word: str, icon: str, why: str, kind: str = "btn-default") -> Markup:
    """A greyed button saying why its action would be refused (the list's 新增 uses it too)."""
    return Markup(_refused(word, icon, why, kind))


def table_rows(*, modelview_name: str, pks: Sequence[Any], value_columns: Sequence[Mapping[str, Any]],
               include_columns: Iterable[str], formatters: Mapping[str, Callable[[Any], Any]], filters: Any,
               actions: Any, can_show: bool, can_edit: bool, can_delete: bool,
               acts_on: Collection[Any] | None,
               refused: Callable[[str], Mapping[Any, str]] | None = None) -> Markup:
    """The table's rows: a check box when the list has bulk actions, the buttons the person may
    use on that row (edit and delete only on rows they act on, where that depends on the row;
    greyed with the reason where the row refuses them: ``refused(action)`` says which and why),
    then each column through its formatter."""
    # a related list (a 房屋's bills on its page) keeps its filter in the show and edit links
    suffix = current_app.jinja_env.filters["set_link_filters"]("", filters)
    show = _Button(modelview_name, "show", BUTTON, gettext("Show record"), gettext("Show"), "fa-search", suffix) \
        if can_show else None
    edit = _edit_button(modelview_name, suffix) if can_edit else None
    delete = _delete_button(modelview_name) if can_delete else None
    no_edit = refused("edit") if edit and refused else {}
    no_delete = refused("delete") if delete and refused else {}
    columns = [(column, formatters.get(column)) for column in include_columns]
    out: list[str] = []
    for pk, item in zip(pks, value_columns):
        out.append("<tr>")
        if actions:
            key = escape(pk)
            out.append(f'<td><input class="action_check" name="rowid" value="{key}" type="checkbox" aria-label="选择"></td>')
        if show or edit or delete:
            mine = acts_on is None or pk in acts_on
            out.append('<td><center><div class="btn-group btn-group-xs" style="display: flex;">')
            if show:
                out.append(show(pk))
            if edit and mine:
                out.append(edit.unless_refused(pk, no_edit.get(pk)))
            if delete and mine:
                out.append(delete.unless_refused(pk, no_delete.get(pk)))
            out.append("</div></center></td>")
        for column, formatter in columns:
            value = item[column]
            out.append(f"<td>{escape(formatter(value) if formatter else value)}</td>")
        out.append("</tr>\n")
    return Markup("".join(out))
