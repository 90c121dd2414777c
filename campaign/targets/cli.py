"""`flask targets …`: the target directory from the command line."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup
from flask_babel import force_locale

from campaign.extensions import db
from campaign.i18n import LANGUAGES
from campaign.organiser.models import Organisation
from campaign.targets import services

targets_cli = AppGroup("targets", help="The directory of targets campaigns are addressed to.")


@targets_cli.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--organisation", required=True, help="Name of the organisation whose directory it is.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="Language of the reasons for refused rows.")
def import_command(file, organisation: str, lang: str) -> None:
    """Add or update targets from a CSV file (the workspace's export format)."""
    org = db.session.scalar(sa.select(Organisation).where(Organisation.name == organisation))
    if org is None:
        raise click.ClickException(f"no organisation named {organisation!r}")
    with force_locale(lang):
        report = services.import_csv(db.session, None, org.id, file.read())
    db.session.commit()
    click.echo(f"added {report.added}, updated {report.updated}, refused {len(report.refused)}")
    for line, reason in report.refused:
        click.echo(f"  line {line}: {reason}")


@targets_cli.command("export")
@click.option("--organisation", required=True)
def export_command(organisation: str) -> None:
    """Print an organisation's directory as CSV."""
    org = db.session.scalar(sa.select(Organisation).where(Organisation.name == organisation))
    if org is None:
        raise click.ClickException(f"no organisation named {organisation!r}")
    click.echo(services.export_csv(db.session, None, org.id).decode("utf-8-sig"), nl=False)


def init_app(app: Flask) -> None:
    app.cli.add_command(targets_cli)
