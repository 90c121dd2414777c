"""Public pages of organisers: who runs a campaign, /<lang>/org/<slug-or-id>."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from campaign.campaigns import services as campaign_services
from campaign.extensions import db
from campaign.organiser import services

bp = Blueprint("organiser", __name__, url_prefix="/<lang_code>")


@bp.get("/org/<slug>")
def organisation(slug: str):
    organisation = services.public_organisation(db.session, slug)
    if organisation is None:
        abort(404)
    campaigns = [c for c in campaign_services.public_campaigns(db.session) if c.organisation_id == organisation.id]
    return render_template("organiser/organisation.html", organisation=organisation, campaigns=campaigns)
