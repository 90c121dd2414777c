"""Public views of amplify: the share panel's section of the campaign page and the
campaign's QR code as a file to print."""
from __future__ import annotations

from flask import Blueprint, Response, abort

from campaign.amplify import cards
from campaign.amplify.share import REFERRAL_CODES, campaign_link, qr_svg, share_panel
from campaign.campaigns.models import Campaign
from campaign.campaigns.page import public_campaign_or_404
from campaign.i18n import current_language

bp = Blueprint("amplify", __name__, url_prefix="/<lang_code>")


def share_section(campaign: Campaign, lang: str, preview: bool) -> dict:
    return {"share": share_panel(campaign, lang), "preview": preview}


@bp.get("/c/<slug>/qr.svg")
def qr(slug: str):
    """The QR code as a standalone SVG file, for posters and leaflets."""
    campaign = public_campaign_or_404(slug)
    lang = current_language()
    svg = qr_svg(campaign_link(campaign, lang, REFERRAL_CODES["qr"]), campaign.title_in(lang))
    svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1) if "xmlns=" not in svg else svg
    return Response(svg, mimetype="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="{campaign.slug}-qr.svg"',
        "Cache-Control": "public, max-age=3600",
    })


@bp.get("/c/<slug>/card.png")
def card(slug: str):
    """The link preview's picture (og:image): title and live count, in the page's language."""
    if not cards.available():
        abort(404)
    campaign = public_campaign_or_404(slug)
    return Response(cards.card_png(campaign, current_language()), mimetype="image/png", headers={
        "Cache-Control": "public, max-age=300, s-maxage=300, stale-while-revalidate=3600",
    })
