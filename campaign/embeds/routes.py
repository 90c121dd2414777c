"""The embeds: counter, badge and map at /embed/<slug>/…, the embed kit at
/<lang>/c/<slug>/embed, and oEmbed at /oembed.

In a surge these are the most-requested addresses of all (every article that
embeds a counter asks for it, and its script asks again every few seconds), so
each answer is rendered at most once per PAGE_CACHE_SECONDS per campaign and
choice of options (``public_cache.rendered``): a hit reads nothing from the
database. They set no cookie, may be kept by any cache for a few seconds (ETag,
304), may be framed by any site, and name no signer.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Callable
from urllib.parse import urlsplit

from babel import Locale
from flask import Blueprint, Response, abort, current_app, jsonify, make_response, render_template, request, url_for
from flask_babel import force_locale, get_translations
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from campaign.amplify import cards
from campaign.amplify.share import REFERRAL_CODES
from campaign.campaigns.models import Campaign
from campaign.campaigns.page import public_campaign_or_404
from campaign.embeds import badges, services, worldmap
from campaign.embeds.options import THEMES, EmbedOptions
from campaign.extensions import db
from campaign.i18n import LANGUAGES, current_language
from campaign.public_cache import public, rendered
from campaign.security import allow_framing
from campaign.signatures.embed import sign_snippet
from campaign.urls import external_url

bp = Blueprint("embeds", __name__, url_prefix="/embed")
kit_bp = Blueprint("kit", __name__, url_prefix="/<lang_code>")
oembed_bp = Blueprint("oembed", __name__)

# The height an iframe needs for each embed and size, with the goal's bar (px).
HEIGHTS = {
    "counter": {"full": 230, "compact": 124},
    "map": {"full": 620, "compact": 400},
}
COUNTRIES_SECONDS = 30  # the map's counts by country are one grouped query per campaign this often
MAX_SLUG = 80


@bp.after_request
def embeddable(response):
    # Framed by any site (security.allow_framing), and loadable by pages that ask
    # for Cross-Origin-Resource-Policy (COEP hosts): nothing here is personal.
    response.headers.setdefault("Cross-Origin-Resource-Policy", "cross-origin")
    return response


def _facts(slug: str) -> services.CampaignFacts | None:
    """The campaign's facts from the page cache (a miss costs one query; an unknown
    slug is remembered too, so a flood of typos costs nothing either)."""
    if len(slug) > MAX_SLUG:
        return None
    return rendered(f"embeds:facts:{slug}", lambda: (services.facts_of(db.session, slug),))[0]


def _embed(slug: str, name: str, render: Callable[[str, EmbedOptions], tuple[int, str | bytes, str]],
           mimetype: str = "text/html"):
    """An embed's answer for this request's options: rendered at most once per
    PAGE_CACHE_SECONDS, with its ETag; an unknown campaign's 404 page too."""
    allow_framing()
    options = EmbedOptions.from_args(request.args)
    if len(slug) > MAX_SLUG:
        status, body, etag = _not_found(options)
    else:
        status, body, etag = rendered(f"embeds:{name}:{slug}:{options.key}", lambda: render(slug, options))
    response = make_response(body, status)
    response.mimetype = mimetype if status == 200 else "text/html"
    if etag:
        response.set_etag(etag)
    return response


def _etag(body: str | bytes) -> str:
    return hashlib.blake2b(body.encode() if isinstance(body, str) else body, digest_size=12).hexdigest()


def _not_found(options: EmbedOptions) -> tuple[int, str, str]:
    with force_locale(options.lang):
        return 404, render_template("embeds/not_found.html", options=options), ""


def _campaign_url(slug: str, lang: str, channel: str) -> str:
    return external_url("campaigns.show", lang_code=lang, slug=slug, ref=REFERRAL_CODES[channel])


# --- the counter ---

@cache
def _plural_samples(lang: str) -> dict[str, int]:
    """One number of each plural category of ``lang`` (CLDR's: zero, one, two, few,
    many, other), as the script's Intl.PluralRules names them."""
    rule = Locale.parse(lang).plural_form
    samples: dict[str, int] = {}
    for n in range(1, 1000):
        samples.setdefault(rule(n), n)
    return samples


def count_sentences(lang: str) -> dict[str, str]:
    """The count's sentence for each plural category, "{n}" where the number goes:
    the script writes a new count as the page would ("توقيعان", "١١ توقيعًا")."""
    with force_locale(lang):
        plural = get_translations().ngettext
        return {category: plural("%(num)s confirmed signature", "%(num)s confirmed signatures", n) % {"num": "{n}"}
                for category, n in _plural_samples(lang).items()}


def _render_counter(slug: str, options: EmbedOptions) -> tuple[int, str, str]:
    facts = _facts(slug)
    if facts is None:
        return _not_found(options)
    lang = options.lang
    with force_locale(lang):
        html = render_template(
            "embeds/counter.html",
            facts=facts,
            options=options,
            digits=options.digits_for(facts.digits),
            sentences=count_sentences(lang),
            count_url=url_for("api.count", slug=facts.slug),
            campaign_url=_campaign_url(facts.slug, lang, "counter"),
            # Each reader's script adds up to a quarter at random, so that a crowd
            # that opened an article at once does not ask at once.
            refresh_seconds=current_app.config["EMBED_REFRESH_SECONDS"],
        )
    return 200, html, _etag(html)


@bp.get("/<slug>/counter")
@public
def counter(slug: str):
    """The live counter, for an iframe: no cookie, no third party, a few KB."""
    return _embed(slug, "counter", _render_counter)


# --- the badge ---

def _render_badge(slug: str, options: EmbedOptions, kind: str) -> tuple[int, str | bytes, str]:
    facts = _facts(slug)
    if facts is None:
        return _not_found(options)
    layout = badges.layout(facts, options)
    body = badges.to_svg(layout) if kind == "svg" else badges.to_png(layout)
    return 200, body, _etag(body)


@bp.get("/<slug>/badge.svg")
@public
def badge_svg(slug: str):
    """The count as an SVG picture, for places that allow no iframe and no script."""
    return _embed(slug, "badge.svg", functools.partial(_render_badge, kind="svg"), "image/svg+xml")


@bp.get("/<slug>/badge.png")
@public
def badge_png(slug: str):
    """The same picture as PNG, where Pillow can shape Arabic (RAQM) with Noto."""
    if not cards.available():
        abort(404)
    return _embed(slug, "badge.png", functools.partial(_render_badge, kind="png"), "image/png")


# --- the map ---

def countries_map(facts_id: int) -> worldmap.SignatureMap:
    """Signatures by country of one campaign: one grouped query every
    COUNTRIES_SECONDS, shared by every map and language."""
    minimum = current_app.config["PUBLIC_BREAKDOWN_MIN"]
    breakdown = rendered(f"embeds:countries:{facts_id}",
                         lambda: services.countries_of(db.session, facts_id, minimum), seconds=COUNTRIES_SECONDS)
    return worldmap.signature_map(breakdown)


def _render_map(slug: str, options: EmbedOptions) -> tuple[int, str, str]:
    facts = _facts(slug)
    if facts is None:
        return _not_found(options)
    with force_locale(options.lang):
        html = render_template(
            "embeds/map.html",
            facts=facts,
            options=options,
            digits=options.digits_for(facts.digits),
            signature_map=countries_map(facts.id),
            minimum=current_app.config["PUBLIC_BREAKDOWN_MIN"],
            campaign_url=_campaign_url(facts.slug, options.lang, "map"),
        )
    return 200, html, _etag(html)


@bp.get("/<slug>/map")
@public
def map_page(slug: str):
    """The world map of confirmed signatures by country, with its table, for an iframe."""
    return _embed(slug, "map", _render_map)


def map_section(campaign: Campaign, lang: str, preview: bool) -> dict:
    """The campaign page's map (under its table of countries)."""
    return {"signature_map": countries_map(campaign.id), "minimum": current_app.config["PUBLIC_BREAKDOWN_MIN"]}


def kit_link_section(campaign: Campaign, lang: str, preview: bool) -> dict:
    return {"preview": preview}


# --- the embed kit ---

@dataclass(frozen=True)
class Snippet:
    """One embed's code for a journalist to copy: ``{query}`` stands for the
    options, ``{height}`` for the height the chosen size needs. The sign form's
    code is the signatures feature's (``sign_snippet``): one variant per language
    and theme, the options it takes."""

    name: str
    path: str  # the embed's own address, for the preview
    template: str = ""
    heights: dict[str, int] | None = None
    variants: dict[str, str] | None = None

    def code(self, options: EmbedOptions) -> str:
        if self.variants:
            return self.variants[f"{options.lang}:{options.theme}"]
        height = str(self.heights[options.size]) if self.heights else ""
        return self.template.replace("{query}", escape(options.query())).replace("{height}", height)


def kit_snippets(campaign: Campaign, lang: str) -> dict[str, Snippet]:
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    slug = campaign.slug
    title = campaign.title_in(lang)
    paths = {"counter": url_for("embeds.counter", slug=slug), "map": url_for("embeds.map_page", slug=slug)}

    def frame(name: str, label: str, width: int) -> Snippet:
        return Snippet(name, paths[name],
                       f'<iframe src="{base}{paths[name]}{{query}}" title="{escape(label)}" width="100%" '
                       f'height="{{height}}" style="border:0;max-width:{width}px" loading="lazy"></iframe>',
                       HEIGHTS[name])

    def image(kind: str) -> Snippet:
        path = url_for(f"embeds.badge_{kind}", slug=slug)
        link = escape(_campaign_url(slug, lang, "badge"))
        alt = escape(_("%(title)s: live count of signatures", title=title))
        return Snippet(f"badge_{kind}", path, f'<a href="{link}"><img src="{base}{path}{{query}}" alt="{alt}"></a>')

    sign = {f"{code}:{theme}": str(sign_snippet(campaign, code, theme=theme)) for code in LANGUAGES for theme in THEMES}
    return {
        "counter": frame("counter", _("Live signature count: %(title)s", title=title), 480),
        "badge_svg": image("svg"),
        "badge_png": image("png"),
        "map": frame("map", _("Map of signatures: %(title)s", title=title), 720),
        "sign": Snippet("sign", url_for("embed_sign.sign_form", slug=slug), variants=sign),
    }


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    href: str
    current: bool


def _pickers(slug: str, options: EmbedOptions) -> list[tuple[str, str, list[Choice]]]:
    from campaign.i18n import language_name

    named = {
        "lang": (_("Language"), [(lang, language_name(lang)) for lang in LANGUAGES]),
        "digits": (_("Digits (in Arabic)"), [("arab", _("Arabic-Indic (١٢٣)")), ("latn", _("Latin (123)"))]),
        "theme": (_("Colours"), [("light", _("Light")), ("dark", _("Dark"))]),
        "size": (_("Size"), [("full", _("Full")), ("compact", _("Compact"))]),
    }
    pickers = []
    for name, (label, values) in named.items():
        choices = [Choice(value, text, url_for("kit.embed", slug=slug, **_query_args(options.but(**{name: value})),
                                               _anchor="options"), getattr(options, name) == value)
                   for value, text in values]
        pickers.append((name, label, choices))
    return pickers


def _query_args(options: EmbedOptions) -> dict[str, str]:
    return {"lang": options.lang, "digits": options.digits, "theme": options.theme, "size": options.size}


@kit_bp.get("/c/<slug>/embed")
@public
def embed(slug: str):
    """The embed kit: each embed's preview and code, for journalists and partner sites."""
    campaign = public_campaign_or_404(slug)
    lang = current_language()
    options = EmbedOptions.from_args(request.args, default_lang=lang)
    options = options.but(digits=options.digits_for(campaign.digits.value))
    snippets = kit_snippets(campaign, lang)
    return render_template(
        "embeds/kit.html",
        campaign=campaign,
        options=options,
        snippets=snippets,
        pickers=_pickers(slug, options),
        png=cards.available(),
        oembed_url=oembed_discovery_url(campaign, lang),
        campaign_url=external_url("campaigns.show", lang_code=lang, slug=slug),
    )


# --- oEmbed (https://oembed.com/) ---

def oembed_discovery_url(campaign: Campaign, lang: str) -> str:
    """What a campaign page names as its oEmbed (the <link> consumers look for)."""
    return external_url("oembed.oembed", url=external_url("campaigns.show", lang_code=lang, slug=campaign.slug),
                        format="json")


OEMBED_WIDTH = 480


def _campaign_address(url: str) -> tuple[str, str] | None:
    """(language, slug) of a campaign page address on this site, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    ours = {urlsplit(current_app.config["PUBLIC_URL"]).netloc.lower(), request.host.lower()}
    if parts.scheme not in ("http", "https") or parts.netloc.lower() not in ours:
        return None
    try:
        endpoint, args = current_app.url_map.bind(parts.netloc).match(parts.path or "/", method="GET")
    except HTTPException:
        return None
    if endpoint not in ("campaigns.show", "kit.embed") or args.get("lang_code") not in LANGUAGES:
        return None
    return args["lang_code"], args["slug"]


def _dimension(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < len(value) < 6 else None


@oembed_bp.get("/oembed")
@public
def oembed():
    """oEmbed for campaign addresses: type "rich", the counter in an iframe. JSON
    only (XML answers 501, as the specification says)."""
    if (request.args.get("format") or "json").lower() != "json":
        return Response(status=501)
    found = _campaign_address(request.args.get("url", ""))
    facts = _facts(found[1]) if found else None
    if facts is None:
        return _oembed_error(404)
    lang, slug = found[0], facts.slug
    width = min(OEMBED_WIDTH, _dimension("maxwidth") or OEMBED_WIDTH)
    maxheight = _dimension("maxheight")
    size = next((s for s in ("full", "compact") if maxheight is None or HEIGHTS["counter"][s] <= maxheight), None)
    if size is None or width < 200:
        return _oembed_error(404)  # nothing of ours fits
    options = EmbedOptions(lang=lang, size=size)
    height = HEIGHTS["counter"][size]
    with force_locale(lang):
        title = facts.title(lang)
        label = _("Live signature count: %(title)s", title=title)
        provider = _("Sawt")
    src = external_url("embeds.counter", slug=slug) + options.query(facts.digits)
    html = (f'<iframe src="{escape(src)}" title="{escape(label)}" width="{width}" height="{height}" '
            f'style="border:0" loading="lazy"></iframe>')
    response = jsonify({
        "version": "1.0",
        "type": "rich",
        "title": title,
        "provider_name": provider,
        "provider_url": external_url("campaigns.home", lang_code=lang),
        "html": html,
        "width": width,
        "height": height,
        "cache_age": 3600,
    })
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _oembed_error(status: int):
    response = jsonify(error="not_found", status=status)
    response.status_code = status
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
