"""The gettext catalogs: same keys in both languages, compiled .mo up to date, every used key known."""

from __future__ import annotations

import io
import re
import string
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from dashboard import i18n

DASHBOARD = Path(i18n.__file__).parent
# t("key"), translate(lang, "key"), label(lang, "prefix", ...) in templates, Python and JS strings
USED_KEY = re.compile(r"""\b(?:t|translate)\((?:[a-z_.]+,\s*)?["']([a-z_]+\.[a-z_.]+)["']""")


def _po(locale: str) -> dict[str, str]:
    path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    return {str(m.id): str(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("locale", sorted(i18n.GETTEXT_LOCALES.values()))
def test_compiled_catalog_matches_the_po_file(locale: str) -> None:
    path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.mo"
    compiled = read_mo(io.BytesIO(path.read_bytes()))
    assert {str(m.id): str(m.string) for m in compiled if m.id} == _po(locale), (
        "stale .mo: run .venv/bin/pybabel compile -d dashboard/locale"
    )


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    zh, en = _po("zh_CN"), _po("en")
    assert set(zh) == set(en)
    fields = string.Formatter()
    for key in zh:
        zh_fields = {name for _, name, _, _ in fields.parse(zh[key]) if name}
        en_fields = {name for _, name, _, _ in fields.parse(en[key]) if name}
        assert zh_fields == en_fields, key
        assert zh[key], key
        assert en[key], key


def test_every_key_used_in_code_and_templates_is_in_the_catalog() -> None:
    known = set(_po("en"))
    used: set[str] = set()
    for path in [*DASHBOARD.rglob("*.py"), *DASHBOARD.rglob("*.html")]:
        used.update(USED_KEY.findall(path.read_text(encoding="utf-8")))
    assert used, "the pattern found no keys at all"
    prefixes = {key for key in used if key.endswith(".")}  # t("kind." ~ value): checked by label()
    assert used - prefixes - known == set()


def test_translate_fills_placeholders_per_language() -> None:
    assert i18n.translate("en", "login.locked", minutes=3) == (
        "Too many failed attempts. Try again in 3 minutes."
    )
    assert "3" in i18n.translate("zh-CN", "login.locked", minutes=3)
    assert i18n.translate("zh-CN", "kind.fall") == "跌倒"
    assert i18n.translate("en", "no.such.key") == "no.such.key"
    assert i18n.label("en", "kind", "unheard_of") == "unheard_of"
