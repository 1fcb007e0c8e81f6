"""Checks for translations/zh: our Simplified Chinese override of FAB's catalogue.

No Flask app is needed: everything is read from files on disk and from the
installed flask_appbuilder / wtforms packages.
"""

import ast
import glob
import os
import re

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import flask_appbuilder
import wtforms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PO_PATH = os.path.join(ROOT, "translations", "zh", "LC_MESSAGES", "messages.po")
MO_PATH = os.path.join(ROOT, "translations", "zh", "LC_MESSAGES", "messages.mo")
FAB_DIR = os.path.dirname(flask_appbuilder.__file__)

# ASCII words allowed in a msgstr (after removing placeholders and HTML tags):
# protocol / technical names and a config key that have no Chinese equivalent.
ASCII_ALLOWLIST = {"OpenID", "LDAP", "IP", "MAC", "UUID", "AUTH_ROLES_SYNC_AT_LOGIN"}

PLACEHOLDER_RE = re.compile(
    r"%\((?P<name>\w+)\)[#0 +\-]*\d*(?:\.\d+)?[sdifrx]"  # %(name)s
    r"|%[#0 +\-]*\d*(?:\.\d+)?[sdifrx]"  # %s, %d
    r"|\{[\w.\[\]]*(?:![rsa])?(?::[^{}]*)?\}"  # {} / {name} / {0:>3}
)
HTML_TAG_RE = re.compile(r"<[^<>]+>")

# Calls that mark a string for translation in FAB's .py and .html sources:
# _( __( gettext( lazy_gettext( lazy_formatter_gettext( and method calls such as
# field.gettext( / self.gettext( (WTForms meta gettext, re-translated by FAB's
# {{ _(error) }} in general/lib.html). One or more adjacent string literals.
_STR = r"""[rRuU]?(?:"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')"""
CALL_RE = re.compile(
    r"(?<![\w])(?:_|__|gettext|lazy_gettext|lazy_formatter_gettext)\(\s*"
    r"(?P<lits>" + _STR + r"(?:\s*" + _STR + r")*)\s*[,)]"
)


def _po_msgids(path):
    """msgids of a .po/.pot file (tolerant of FAB's broken headers; skips obsolete #~)."""
    ids, cur = [], None
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            line = raw.strip()
            if line.startswith("msgid "):
                cur = [ast.literal_eval(line[6:])]
                ids.append(cur)
            elif line.startswith('"') and cur is not None:
                cur.append(ast.literal_eval(line))
            else:
                cur = None
    return {"".join(parts) for parts in ids} - {""}


def _grep_sources():
    found = set()
    for dirpath, _dirs, files in os.walk(FAB_DIR):
        for name in files:
            if not name.endswith((".py", ".html")):
                continue
            with open(os.path.join(dirpath, name), encoding="utf-8") as fh:
                src = fh.read()
            for match in CALL_RE.finditer(src):
                lits = re.findall(_STR, match.group("lits"))
                value = "".join(ast.literal_eval(lit) for lit in lits)
                if value:
                    found.add(value)
    return found


def fab_msgids():
    ids = set()
    for pot in glob.glob(os.path.join(FAB_DIR, "babel", "*.pot")):
        ids |= _po_msgids(pot)
    for po in glob.glob(os.path.join(FAB_DIR, "translations", "*", "LC_MESSAGES", "messages.po")):
        ids |= _po_msgids(po)
    ids |= _grep_sources()
    return ids


@pytest.fixture(scope="module")
def po_catalog():
    with open(PO_PATH, "rb") as fh:
        return read_po(fh)


@pytest.fixture(scope="module")
def mo_catalog():
    with open(MO_PATH, "rb") as fh:
        return read_mo(fh)


@pytest.fixture(scope="module")
def translations(mo_catalog):
    return {m.id: m.string for m in mo_catalog if m.id}


def test_header(po_catalog):
    assert str(po_catalog.locale) == "zh"
    assert po_catalog.mime_headers  # parsed
    headers = dict(po_catalog.mime_headers)
    assert headers["Language"] == "zh"
    assert headers["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"
    assert not po_catalog.fuzzy


def test_no_fuzzy_or_empty_in_po(po_catalog):
    fuzzy = [m.id for m in po_catalog if m.id and m.fuzzy]
    empty = [m.id for m in po_catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not empty, f"untranslated entries: {empty}"


def test_compiled_catalogue_complete_and_current(po_catalog, translations):
    empty = sorted(k for k, v in translations.items() if not v)
    assert not empty, f"empty translations in messages.mo: {empty}"
    po = {m.id: m.string for m in po_catalog if m.id}
    # .mo must be recompiled whenever .po changes (pybabel compile skips fuzzy entries).
    assert translations == po, "messages.mo is stale: run `pybabel compile -d translations -l zh`"


def test_every_fab_msgid_translated(translations):
    ids = fab_msgids()
    assert len(ids) > 150, "FAB msgid discovery looks broken"
    missing = sorted(i for i in ids if not translations.get(i))
    assert not missing, f"FAB msgids without zh translation: {missing}"


def test_msgstr_has_no_stray_ascii_letters(translations):
    bad = {}
    for msgid, msgstr in translations.items():
        text = PLACEHOLDER_RE.sub(" ", HTML_TAG_RE.sub(" ", msgstr))
        words = set(re.findall(r"[A-Za-z_]+", text)) - ASCII_ALLOWLIST
        if words:
            bad[msgid] = sorted(words)
    assert not bad, f"English left in msgstr: {bad}"


def test_placeholders_and_html_tags_match(translations):
    bad = {}
    for msgid, msgstr in translations.items():
        for regex in (PLACEHOLDER_RE, HTML_TAG_RE):
            src = sorted(m.group(0) for m in regex.finditer(msgid))
            dst = sorted(m.group(0) for m in regex.finditer(msgstr))
            if src != dst:
                bad[msgid] = (src, dst)
    assert not bad, f"placeholder/tag mismatch: {bad}"


def test_wtforms_messages_missing_from_wtforms_zh_are_covered(translations):
    """Field errors go through {{ _(error) }} in FAB's lib.html, so parameterless
    WTForms messages that WTForms' own zh catalogue leaves English (fuzzy or
    missing) must be translated by ours."""
    locale_dir = os.path.join(os.path.dirname(wtforms.__file__), "locale")
    with open(os.path.join(locale_dir, "zh", "LC_MESSAGES", "wtforms.mo"), "rb") as fh:
        wtf_zh = {m.id: m.string for m in read_mo(fh) if m.id and isinstance(m.id, str)}
    with open(os.path.join(locale_dir, "wtforms.pot"), "rb") as fh:
        pot = [m.id for m in read_po(fh) if m.id and isinstance(m.id, str)]
    csrf = {i for i in pot if "CSRF" in i}  # FAB never renders csrf_token errors
    needed = [i for i in pot if "%" not in i and i not in csrf and not wtf_zh.get(i)]
    missing = [i for i in needed if not translations.get(i)]
    assert not missing, f"WTForms messages shown in English: {missing}"
