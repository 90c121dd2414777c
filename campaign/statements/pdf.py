"""The statement as a PDF: its text and numbered signatories, in one language or
both. WeasyPrint (Pango + HarfBuzz) shapes Arabic and mixes right-to-left and
left-to-right text correctly, and embeds the (subset) fonts it used."""
from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict

from flask import render_template
from flask_babel import force_locale
from sqlalchemy.orm import Session

from campaign.campaigns.models import Campaign
from campaign.i18n import text_direction
from campaign.statements import services


# WeasyPrint logs every step of every document at INFO.
logging.getLogger("weasyprint").setLevel(logging.WARNING)


# Laying out a PDF takes seconds for a long list; the HTML it is made from takes
# milliseconds. PDFs are kept per process by the hash of that HTML, so a changed
# list or text makes a new one and an unchanged one is served again.
CACHE_SIZE = 32
_cache: OrderedDict[str, bytes] = OrderedDict()
_cache_lock = threading.Lock()


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs (Pango, HarfBuzz) are missing."""


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: libpango not installed
        raise PdfUnavailable(str(exc)) from exc
    return weasyprint


def section_html(session: Session, campaign: Campaign, lang: str, signatories) -> str:
    with force_locale(lang):
        return render_template(
            "statements/pdf_section.html",
            campaign=campaign,
            lang=lang,
            dir=text_direction(lang),
            text=campaign.text(lang),
            groups=services.numbered_groups(session, campaign, signatories),
            version=services.current_version(session, campaign),
        )


def document_html(session: Session, campaign: Campaign, languages: list[str]) -> str:
    """The HTML the PDF is made from (public fields only: never a note or address)."""
    signatories = services.public_signatories(session, campaign)
    sections = [section_html(session, campaign, lang, signatories) for lang in languages]
    return render_template("statements/pdf.html", campaign=campaign, sections=sections,
                           first_lang=languages[0], first_dir=text_direction(languages[0]))


def render(session: Session, campaign: Campaign, languages: list[str]) -> bytes:
    """The PDF of a statement in ``languages`` (one, or several in that order)."""
    weasyprint = _weasyprint()
    html = document_html(session, campaign, languages)
    key = hashlib.sha256(html.encode()).hexdigest()
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    try:
        data = weasyprint.HTML(string=html).write_pdf()
    except OSError as exc:  # a library found at import but failing at use
        raise PdfUnavailable(str(exc)) from exc
    with _cache_lock:
        _cache[key] = data
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return data
