"""`flask campaigns list`. (`campaigns reconcile` belongs to signatures, whose rows it counts.)"""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from campaign.campaigns.models import Campaign
from campaign.extensions import db

campaigns_cli = AppGroup("campaigns", help="Inspect and maintain campaigns.")


@campaigns_cli.command("list")
def list_command() -> None:
    """One line per campaign: slug, kind, state, verified and pending counts."""
    for campaign in db.session.scalars(sa.select(Campaign).order_by(Campaign.id)):
        click.echo(
            f"{campaign.slug}\t{campaign.kind.value}\t{campaign.state.value}\t"
            f"verified={campaign.verified_count}\tpending={campaign.pending_count}"
        )


def init_app(app: Flask) -> None:
    app.cli.add_command(campaigns_cli)
