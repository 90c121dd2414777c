"""Public pages of campaigns: the home page's list and the campaign page."""
from __future__ import annotations

from flask import Blueprint, render_template

from campaign.campaigns import page, services
from campaign.extensions import db
from campaign.i18n import current_language
from campaign.public_cache import public, rendered

bp = Blueprint("campaigns", __name__, url_prefix="/<lang_code>")


@bp.get("/")
@public
def home():
    return rendered(f"page:home:{current_language()}",
                    lambda: render_template("campaigns/home.html", campaigns=services.public_campaigns(db.session)))


@bp.get("/c/<slug>")
@public
def show(slug: str):
    return page.show_public(slug)
