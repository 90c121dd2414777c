"""`flask campaigns reconcile`: recount signatures and fix the campaigns' stored counters.

It sits in the `campaigns` group, where operators look for it, but lives here, with
the signatures it counts.
"""
from __future__ import annotations

import click
from flask import Flask

from campaign.campaigns.cli import campaigns_cli
from campaign.extensions import db
from campaign.signatures.services import reconcile_counts


@click.command("reconcile")
def reconcile_command() -> None:
    """Recount every campaign's signatures and fix the stored counters."""
    fixes = reconcile_counts(db.session)
    db.session.commit()
    for slug, counter, stored, actual in fixes:
        click.echo(f"{slug}: {counter} {stored} → {actual}")
    click.echo(f"{len(fixes)} counter(s) corrected")


def init_app(app: Flask) -> None:
    campaigns_cli.add_command(reconcile_command)
