"""The API's page for people: /<lang>/api, what each address gives and how to check
a signed count."""
from __future__ import annotations

from flask import Blueprint, render_template

from campaign.i18n import current_language
from campaign.public_cache import public, rendered

bp = Blueprint("api_pages", __name__, url_prefix="/<lang_code>")


@bp.get("/api")
@public
def docs():
    return rendered(f"page:api:{current_language()}", lambda: render_template("api/docs.html"))
