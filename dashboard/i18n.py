"""UI strings from gettext catalogs (Babel) in Simplified Chinese and English, and the language per request.

Message ids are keys with placeholders (``login.locked`` -> "... {minutes} ..."). The catalogs are
``dashboard/locale/<locale>/LC_MESSAGES/messages.po``; the compiled ``.mo`` files beside them are
what is loaded (``pybabel compile -d dashboard/locale``; a test checks they match the ``.po``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import Translations

from dashboard.errors import DashboardError

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LANG_COOKIE = "lang"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
GETTEXT_LOCALES = {"zh-CN": "zh_CN", "en": "en"}  # our language tags -> gettext locale folders


class CatalogMissingError(DashboardError):
    """A language's compiled catalog (.mo) is missing: run ``pybabel compile -d dashboard/locale``."""


@cache
def catalog(lang: str) -> Translations:
    """The compiled gettext catalog of ``lang`` (loaded once per process)."""
    locale = GETTEXT_LOCALES.get(lang, GETTEXT_LOCALES[DEFAULT_LANGUAGE])
    translations = Translations.load(str(LOCALE_DIR), [locale], DOMAIN)
    if not isinstance(translations, Translations):
        raise CatalogMissingError(f"no compiled catalog for {locale} in {LOCALE_DIR}")
    return translations


def translate(lang: str, key: str, **params: object) -> str:
    """The string ``key`` in ``lang`` with ``params`` filled in; the key itself when unknown."""
    text = catalog(lang).gettext(key)
    if text == key and lang != "en":
        text = catalog("en").gettext(key)
    return text.format(**params) if params else text


def label(lang: str, prefix: str, value: str) -> str:
    """A translated enum-like value (``kind.fall``), falling back to the raw value."""
    key = f"{prefix}.{value}"
    text = translate(lang, key)
    return value if text == key else text


def normalise(code: str) -> str | None:
    """The supported language that ``code`` (``zh``, ``zh-Hans-CN``, ``en-GB`` ...) means, if any."""
    primary = code.strip().lower().split("-")[0].split("_")[0]
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language of a request: the ``lang`` cookie, else Accept-Language by weight, else zh-CN."""
    if cookie and (chosen := normalise(cookie)):
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        code, _, params = part.partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if (chosen := normalise(code)) and weight > 0:
            ranked.append((-weight, position, chosen))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
