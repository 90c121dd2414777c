"""`flask campaigns …`: list campaigns and reconcile their counters."""
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


@campaigns_cli.command("reconcile")
def reconcile_command() -> None:
    """Recount every campaign's signatures and fix the stored counters."""
    from campaign.signatures.services import reconcile_counts

    fixes = reconcile_counts(db.session)
    db.session.commit()
    for slug, counter, stored, actual in fixes:
        click.echo(f"{slug}: {counter} {stored} → {actual}")
    click.echo(f"{len(fixes)} counter(s) corrected")


def init_app(app: Flask) -> None:
    app.cli.add_command(campaigns_cli)
