"""Public pages of campaigns: the home page's list and the campaign page."""
from __future__ import annotations

from flask import Blueprint, render_template

from campaign.campaigns import page, services
from campaign.extensions import db

bp = Blueprint("campaigns", __name__, url_prefix="/<lang_code>")


@bp.get("/")
def home():
    return render_template("campaigns/home.html", campaigns=services.public_campaigns(db.session))


@bp.get("/c/<slug>")
def show(slug: str):
    campaign = page.public_campaign_or_404(slug)
    page.viewed(campaign)
    return page.render(campaign)
