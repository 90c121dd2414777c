"""Amplify: the share panel (networks, copy link, QR code, the phone's share sheet)
on the campaign and thank-you pages, and prefilled posts at a campaign's targets."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from campaign.amplify import routes
    from campaign.campaigns.page import register_section

    app.register_blueprint(routes.bp)
    register_section(app, "share", "amplify/_share_section.html", routes.share_section, slot="main", order=40)
