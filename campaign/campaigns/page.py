"""The public campaign page, composed of the sections that features register.

The campaigns feature draws the frame (title, summary, text, demands); every other
feature adds what it owns — the count and sign form, recent signers, signatories,
targets, share panel — with ``register_section`` from its ``init_app``, without
importing another feature's views. A section is a template and a function that
gives it its data; the page puts it in a slot, ordered by ``order``:

- ``byline``: under the title, after who runs the campaign and since when
  (for the targets feature: to whom the campaign is addressed);
- ``header``: under the summary (the count, "Sign now");
- ``main``: after the text and demands;
- ``aside``: beside the text on wide screens, after it on phones (the sign form).

A section's template sees ``campaign``, ``text``, ``lang``, ``preview`` and its own
data as ``data``. When a section's data holds a ``form`` with errors (a failed
post re-renders the page), the page lists those errors at the top.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

from flask import Flask, abort, current_app, make_response, render_template, request
from markupsafe import escape

from campaign.campaigns import services
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.i18n import LANGUAGES, current_language
from campaign.public_cache import forget as forget_pages
from campaign.public_cache import rendered

# A page is rendered once for every reader (public_cache), but a sign form must
# carry the share channel the reader came from (?ref=wa): sections write this
# placeholder, and every answer fills it in for its own request.
REFERRAL_SLOT = "__sawt_referral__"

SLOTS = ("byline", "header", "main", "aside")
_SECTIONS = "sawt.page_sections"
_HEAD = "sawt.page_head"
_VIEW_LISTENERS = "sawt.page_view_listeners"

SectionData = Callable[[Campaign, str, bool], dict]


@dataclass(frozen=True)
class Section:
    name: str
    template: str
    data: SectionData
    slot: str
    order: int


@dataclass(frozen=True)
class RenderedSection:
    name: str
    template: str
    data: dict


def public_campaign_or_404(slug: str, *, lean: bool = False) -> Campaign:
    """The campaign at /<lang>/c/<slug>, for every public view of any feature
    (``lean``: see campaigns.services.get_by_slug)."""
    campaign = services.get_by_slug(db.session, slug, lean=lean)
    if campaign is None or not services.is_public(campaign):
        abort(404)
    return campaign


def register_section(app: Flask, name: str, template: str, data: SectionData | None = None, *,
                     slot: str = "main", order: int = 50) -> None:
    """Add a section to every campaign page. ``data(campaign, lang, preview)``
    returns the dict its template sees as ``data``."""
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r}; one of {SLOTS}")
    sections = app.extensions.setdefault(_SECTIONS, {})
    if name in sections:
        raise ValueError(f"section {name!r} is registered twice")
    sections[name] = Section(name, template, data or (lambda campaign, lang, preview: {}), slot, order)


def register_head(app: Flask, template: str) -> None:
    """Add ``template`` to the <head> of every campaign page (link tags such as the
    embeds' oEmbed discovery). It sees ``campaign`` and ``lang``, and is part of the
    cached page like every section."""
    app.extensions.setdefault(_HEAD, []).append(template)


def on_public_view(app: Flask, listener: Callable[[int], None]) -> None:
    """Call ``listener(campaign_id)`` whenever the public page is shown (not
    previews), also when it comes from the page cache."""
    app.extensions.setdefault(_VIEW_LISTENERS, []).append(listener)


def _viewed(campaign_id: int) -> None:
    for listener in current_app.extensions.get(_VIEW_LISTENERS, []):
        listener(campaign_id)


def _page_key(campaign: Campaign | str, lang: str) -> str:
    slug = campaign if isinstance(campaign, str) else campaign.slug
    return f"page:campaign:{lang}:{slug}"


def show_public(slug: str):
    """The public page at /<lang>/c/<slug> as every reader sees it. From the page
    cache it costs no database query: only public campaigns are ever cached, and
    forget() drops a campaign's pages when it changes."""
    lang = current_language()

    def render_page() -> tuple[int, str, str]:
        campaign = public_campaign_or_404(slug)
        html = _render_html(campaign, lang, preview=False, overrides={})
        return campaign.id, html, hashlib.blake2b(html.encode(), digest_size=12).hexdigest()

    campaign_id, html, etag = rendered(_page_key(slug, lang), render_page)
    _viewed(campaign_id)
    referral = _referral()
    response = make_response(html.replace(REFERRAL_SLOT, str(escape(referral))))
    # Hashed once per render, not per reader; the channel filled in is part of it.
    response.set_etag(f"{etag}-{referral}" if referral else etag)
    return response


def forget(campaign: Campaign) -> None:
    """The campaign changed (text, state, sections): render its pages afresh."""
    forget_pages(*[_page_key(campaign, lang) for lang in LANGUAGES], *[f"page:home:{lang}" for lang in LANGUAGES])


def _referral() -> str:
    from campaign.signatures.services import clean_referral

    return clean_referral(request.args.get("ref")) or ""


def _fill_referral(html: str) -> str:
    return html.replace(REFERRAL_SLOT, str(escape(_referral())))


def render(campaign: Campaign, *, status: int = 200, preview: bool = False,
           overrides: dict[str, dict] | None = None):
    """The campaign page. ``overrides`` replaces part of a section's data, by
    section name: the sign view passes its form back, with the signer's input and
    the errors, as ``{"sign": {"form": form}}``. ``preview`` (the editor's draft
    preview) shows a "not public" banner and the forms switched off."""
    return _fill_referral(_render_html(campaign, current_language(), preview=preview, overrides=overrides or {})), status


def _render_html(campaign: Campaign, lang: str, *, preview: bool, overrides: dict[str, dict]) -> str:
    slots: dict[str, list[RenderedSection]] = {slot: [] for slot in SLOTS}
    sections = sorted(current_app.extensions.get(_SECTIONS, {}).values(), key=lambda s: (s.order, s.name))
    for section in sections:
        data = section.data(campaign, lang, preview)
        data.update(overrides.get(section.name, {}))
        slots[section.slot].append(RenderedSection(section.name, section.template, data))
    forms_with_errors = [
        s.data["form"] for slot in SLOTS for s in slots[slot] if s.data.get("form") is not None and s.data["form"].errors
    ]
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        text=campaign.text(lang),
        slots=slots,
        forms_with_errors=forms_with_errors,
        preview=preview,
        head_templates=current_app.extensions.get(_HEAD, []),
    )
