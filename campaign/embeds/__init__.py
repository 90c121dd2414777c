"""Embeds: what other sites show of a campaign. A live counter and a world map of
signatures by country (iframes), a badge (SVG or PNG, for places that allow
neither iframes nor scripts), the embed kit that gives journalists the code, and
oEmbed, so that a CMS turns a pasted campaign address into the counter.

Every embed sets no cookie, loads nothing from another site, may be framed by any
site and kept by any cache for a few seconds, and names no signer. The embedded
sign form is the signatures feature's (/embed/<slug>/sign); the kit shows it too.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from campaign.campaigns.page import register_head, register_section
    from campaign.embeds import routes
    from campaign.extensions import csrf

    for blueprint in (routes.bp, routes.kit_bp, routes.oembed_bp):
        csrf.exempt(blueprint)  # no forms here: nothing but GETs
        app.register_blueprint(blueprint)
    # Under the table of countries (signatures' "countries" section, order 70).
    register_section(app, "map", "embeds/_map_section.html", routes.map_section, slot="main", order=71)
    # After the share panel (order 40): "put the live count on your site".
    register_section(app, "embed_kit", "embeds/_kit_link.html", routes.kit_link_section, slot="main", order=41)
    register_head(app, "embeds/_oembed_link.html")

    @app.context_processor
    def embeds_context():
        from campaign.embeds.worldmap import SHAPES, palette
        return {"world_map_shapes": SHAPES, "map_palette": palette, "oembed_discovery_url": routes.oembed_discovery_url}
