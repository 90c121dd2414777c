from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from campaign.amplify.share import campaign_link, share_links
from campaign.campaigns import services
from campaign.campaigns.models import Campaign
from campaign.dashboard.services import count_view
from campaign.extensions import db
from campaign.i18n import current_language
from campaign.signatures.forms import SignForm
from campaign.signatures.services import country_breakdown, recent_public_signers

bp = Blueprint("campaigns", __name__, url_prefix="/<lang_code>")


def public_campaign_or_404(slug: str) -> Campaign:
    campaign = services.get_by_slug(db.session, slug)
    if campaign is None or not services.is_public(campaign):
        abort(404)
    return campaign


def render_campaign(campaign: Campaign, form: SignForm | None = None, status: int = 200, *, preview: bool = False):
    """The campaign page; the sign form is re-rendered here, with what the signer
    typed and the errors, when signing fails validation. ``preview`` (the editor's
    draft preview) adds a "not public" banner and shows the sign form disabled."""
    lang = current_language()
    if form is None and (campaign.is_open or preview):
        form = SignForm(lang, formdata=None, ref=request.args.get("ref", ""))
    minimum = current_app.config["PUBLIC_BREAKDOWN_MIN"]
    return (
        render_template(
            "campaigns/show.html",
            campaign=campaign,
            text=campaign.text(lang),
            form=form,
            signers=recent_public_signers(db.session, campaign),
            breakdown=country_breakdown(db.session, campaign, minimum),
            breakdown_minimum=minimum,
            share_links=share_links(campaign, lang),
            share_url=campaign_link(campaign, lang),
            preview=preview,
        ),
        status,
    )


@bp.get("/")
def home():
    return render_template("campaigns/home.html", campaigns=services.public_campaigns(db.session))


@bp.get("/c/<slug>")
def show(slug: str):
    campaign = public_campaign_or_404(slug)
    count_view(campaign)
    return render_campaign(campaign)
