"""`flask retention run`: anonymise the signatures of campaigns past their retention
period. Run it daily (cron, a scheduler); it is idempotent."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from campaign.extensions import db
from campaign.retention import services

retention_cli = AppGroup("retention", help="Anonymise old campaigns' signatures.")


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Only list the campaigns that are due.")
def run_command(dry_run: bool) -> None:
    """Anonymise every signature of campaigns closed (or archived) longer ago than
    their retention period; counts are kept."""
    if dry_run:
        for campaign in services.due_campaigns(db.session):
            left = services.remaining(db.session, campaign)
            if left:
                click.echo(f"{campaign.slug}\t{campaign.state.value}\tdue since "
                           f"{services.anonymise_at(campaign):%Y-%m-%d}\t{left} signature(s) to anonymise")
        return
    # Each batch is its own transaction: a large campaign never holds one long lock.
    result = services.anonymise_due(db.session, after_batch=db.session.commit)
    db.session.commit()
    click.echo(f"retention: {result.signatures} signature(s) anonymised in {result.campaigns} campaign(s)")


def init_app(app: Flask) -> None:
    app.cli.add_command(retention_cli)
