"""`flask moderation reindex`: keep the normalised names that search relies on."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from campaign.extensions import db
from campaign.moderation import services

moderation_cli = AppGroup("moderation", help="Moderation upkeep.")


@moderation_cli.command("reindex")
def reindex_command() -> None:
    """Recompute every signature's normalised name (run once after the migration that
    adds it, and whenever campaign/text_normalise.py changes)."""
    changed = services.reindex_names(db.session)
    db.session.commit()
    click.echo(f"{changed} signature(s) updated")


def init_app(app: Flask) -> None:
    app.cli.add_command(moderation_cli)
