"""The public JSON API (v1): what journalists, partner sites and the embeds read,
and its page for people (/<lang>/api).

Reads only, open to every origin (CORS), cacheable by any proxy or CDN, and never
more than a few seconds behind the database. It never says more about a signer
than the public campaign page does: in v1, nothing at all but the counts."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from campaign.api import pages, routes
    from campaign.extensions import csrf

    csrf.exempt(routes.bp)
    app.register_blueprint(routes.bp)
    app.register_blueprint(pages.bp)
