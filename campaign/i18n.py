"""Languages: locale from the URL prefix, text direction, number formats.

Adding a language is a translation catalogue plus campaign texts: LANGUAGES is the
only list in the code.
"""
from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from babel import Locale
from babel.numbers import format_decimal
from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_babel import get_locale

LANGUAGES: list[str] = ["ar", "en"]
DEFAULT_LANGUAGE = "ar"
# The language of the msgids in the code and templates: it needs no catalogue.
SOURCE_LANGUAGE = "en"

log = logging.getLogger(__name__)

# With Arabic-Indic digits go the Arabic thousands and decimal separators (٬ ٫):
# "٥,٠٠٠" mixes two scripts; the comma is also the Arabic list separator's twin.
_ARABIC_INDIC = str.maketrans("0123456789,.", "٠١٢٣٤٥٦٧٨٩٬٫")
# Languages whose pages may show Arabic-Indic digits when a campaign asks for them.
_ARABIC_INDIC_LANGUAGES = {"ar"}


def select_locale() -> str:
    lang = g.get("lang_code")
    if lang in LANGUAGES:
        return lang
    if request:
        # An address that matched no route (404, 405) still says its language.
        prefix = request.path.split("/", 2)[1]
        if prefix in LANGUAGES:
            return prefix
        return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


@cache
def text_direction(lang: str) -> str:
    return Locale.parse(lang).text_direction


@cache
def language_name(lang: str) -> str:
    """A language's name in itself: the switcher shows 'العربية' to everyone."""
    return Locale.parse(lang).get_display_name(lang)


def uses_arabic_indic(digits: object = "latn", lang: str | None = None) -> bool:
    """The one rule for digits: Arabic-Indic only on an Arabic page *and* where the
    campaign asks for them (``digits`` is ``'arab'``, a ``Digits`` or a campaign).
    English pages always show 0-9; pages about no campaign (home, lists) too, so
    cards side by side never mix "0" and "٠"."""
    digits = getattr(digits, "digits", digits)
    return getattr(digits, "value", digits) == "arab" and (lang or current_language()) in _ARABIC_INDIC_LANGUAGES


def localise_digits(text: str, digits: object = "latn", lang: str | None = None) -> str:
    """Text already formatted by Babel (a number, a percentage, a date) with the
    page's digits: Babel never converts digits itself."""
    return text.translate(_ARABIC_INDIC) if uses_arabic_indic(digits, lang) else text


def language_name_here(lang: str) -> str:
    """A language's name in the page's language, for sentences: "in English",
    "بالإنجليزية" (not "باللغة English")."""
    return _display_name(lang, current_language())


@cache
def _display_name(lang: str, in_lang: str) -> str:
    return Locale.parse(lang).get_display_name(in_lang)


def format_number(value: int | float | None, digits: object = "latn", lang: str | None = None) -> str:
    """A number grouped per locale, with the digits ``localise_digits`` chooses.
    In templates: ``{{ count|num(campaign.digits.value) }}``. Used by the page, the
    e-mails, the export and the charts alike."""
    lang = lang or current_language()
    return localise_digits(format_decimal(value or 0, locale=lang), digits, lang)


def normalise_digits(text: str) -> str:
    """Arabic-Indic and Persian digits to ASCII, for anything a person types."""
    return text.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789"))


def url_in_language(lang: str) -> str:
    """The current page in another language (used by the switcher and hreflang)."""
    from campaign.public_cache import rendering_for_everyone

    endpoint = request.endpoint
    args = dict(request.view_args or {})
    if not endpoint or "lang_code" not in _endpoint_arguments(endpoint):
        return url_for("campaigns.home", lang_code=lang)
    if request.method != "GET" and not _address_has_a_page(request.url_rule):
        # A form shown again after a failed POST (signing, resending): its address
        # only takes POSTs and would answer 405, so offer the campaign instead.
        if "slug" in args:
            return url_for("campaigns.show", lang_code=lang, slug=args["slug"])
        return url_for("campaigns.home", lang_code=lang)
    args["lang_code"] = lang
    # The query string is the visitor's: a name that is also a route argument or
    # one of url_for's own (endpoint, _external, _anchor…) would crash url_for or
    # change the link, so those are left out.
    # A page kept for every reader (public_cache) carries none of the first one's.
    query = {} if rendering_for_everyone() else {
        key: value
        for key, value in request.args.items()
        if key not in args and key != "endpoint" and not key.startswith("_")
    }
    return url_for(endpoint, **args, **query)


# Open Graph names locales language_TERRITORY; these are the ones its readers use.
_OG_LOCALES = {"ar": "ar_AR", "en": "en_GB"}


def og_locale(lang: str) -> str:
    return _OG_LOCALES.get(lang, lang)


def public_page_url(lang: str | None = None) -> str | None:
    """The current page's address on PUBLIC_URL, in ``lang``, without its query
    (a share's ?ref=…): what a link preview names as the page. None for pages that
    have no public address of their own (errors, form posts, links with a token)."""
    from campaign.urls import external_url

    endpoint = request.endpoint
    args = dict(request.view_args or {})
    if (not endpoint or request.method != "GET" or "token" in args
            or "lang_code" not in _endpoint_arguments(endpoint)):
        return None
    return external_url(endpoint, **args, lang_code=lang or current_language())


def _endpoint_arguments(endpoint: str) -> set[str]:
    return {a for rule in current_app.url_map.iter_rules(endpoint) for a in rule.arguments}


def _address_has_a_page(url_rule) -> bool:
    """Whether some view answers GET at this rule's address (confirm and withdraw
    do; sign and resend take only POSTs)."""
    return url_rule is not None and any(
        rule.rule == url_rule.rule and "GET" in rule.methods for rule in current_app.url_map.iter_rules()
    )


def _check_catalogues(app: Flask) -> None:
    """Log an error for every language whose compiled catalogue is missing or older
    than its .po. Flask-Babel quietly falls back to the msgids, so an install that
    skipped the build step would serve Arabic campaigns inside an English interface
    and nobody would be told."""
    domain = app.config.get("BABEL_DOMAIN", "messages").split(";")[0]
    directories = [
        Path(app.root_path, directory)
        for directory in app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations").split(";")
    ]
    remedy = "run `flask translate compile`, or reinstall the package"
    for lang in LANGUAGES:
        if lang == SOURCE_LANGUAGE:
            continue
        catalogues = [directory / lang / "LC_MESSAGES" / f"{domain}.mo" for directory in directories]
        if not any(mo.exists() for mo in catalogues):
            log.error("No compiled catalogue for %r in %s: those pages show English; %s",
                      lang, " or ".join(str(d) for d in directories), remedy)
        for mo in catalogues:
            po = mo.with_suffix(".po")
            if mo.exists() and po.exists() and po.stat().st_mtime > mo.stat().st_mtime:
                log.error("%s is older than %s: its newest translations are missing; %s",
                          mo, po.name, remedy)


def init_app(app: Flask) -> None:
    _check_catalogues(app)

    @app.url_value_preprocessor
    def pull_lang(endpoint, values):
        if values and "lang_code" in values:
            lang = values.pop("lang_code")
            if lang not in LANGUAGES:
                abort(404)
            g.lang_code = lang

    @app.url_defaults
    def add_lang(endpoint, values):
        if "lang_code" in values or not g.get("lang_code"):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang_code"):
            values["lang_code"] = g.lang_code

    @app.get("/")
    def root():
        lang = request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
        response = redirect(url_for("campaigns.home", lang_code=lang))
        response.headers["Vary"] = "Accept-Language"
        return response

    @app.context_processor
    def language_context():
        lang = current_language()
        return {
            "LANGUAGES": LANGUAGES,
            "lang": lang,
            "text_direction": text_direction,
            "language_name": language_name,
            "language_name_here": language_name_here,
            "url_in_language": url_in_language,
            "og_locale": og_locale,
            "public_page_url": public_page_url,
        }

    app.jinja_env.filters["num"] = format_number
    app.jinja_env.filters["digits"] = localise_digits
    app.jinja_env.filters["country"] = country_name


# Babel's territory list includes groupings and non-ISO codes (001, EU, UN, QO…).
# CLDR territories that are not places a signer lives: groupings, pseudo-locales,
# and the reserved codes for islands that share a country's (AC, CP, DG, EA, IC, TA).
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AC", "CP", "DG", "EA", "IC", "TA"}


@cache
def countries(lang: str) -> list[tuple[str, str]]:
    """(ISO code, localised name) for every country, sorted by name in ``lang``."""
    territories = Locale.parse(lang).territories
    pairs = [
        (code, name)
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    ]
    return sorted(pairs, key=lambda pair: pair[1].casefold())


def country_name(code: str | None, lang: str | None = None) -> str:
    if not code:
        return ""
    return Locale.parse(lang or current_language()).territories.get(code, code)
