"""`flask statements …`: import a signatory list from a file, export it."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from campaign.campaigns import services as campaigns
from campaign.extensions import db
from campaign.statements import services

statements_cli = AppGroup("statements", help="Named signatories of statements.")

REASONS = {
    "no_name": "no name",
    "too_long": "too long",
    "not_numbered": "not numbered (the other lines are)",
    "too_many": "too many lines",
    "bad_kind": "unknown kind",
    "no_header": "no name_… column",
}


def _statement(slug: str):
    campaign = campaigns.get_by_slug(db.session, slug)
    if campaign is None or campaign.kind.value != "statement":
        raise click.ClickException(f"no statement with the address {slug!r}")
    return campaign


@statements_cli.command("import")
@click.argument("slug")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lang", default=None, help="Language of every line (default: from each line's letters).")
def import_command(slug: str, path: Path, lang: str | None) -> None:
    """Add the signatories listed in PATH (pasted-list text or CSV) to the end of
    the statement SLUG; print each line that could not be read."""
    campaign = _statement(slug)
    text = path.read_bytes().decode("utf-8-sig")
    added, preview = services.import_list(db.session, None, campaign, text, locale=lang)
    db.session.commit()
    click.echo(f"{len(added)} signatories added to {slug}.")
    for problem in preview.problems:
        click.echo(f"line {problem.line}: {REASONS.get(problem.reason, problem.reason)}: {problem.text}")


@statements_cli.command("export")
@click.argument("slug")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def export_command(slug: str, path: Path) -> None:
    """Write the approved list of SLUG to PATH as CSV (UTF-8 with a BOM, for Excel)."""
    campaign = _statement(slug)
    body = services.export_csv(db.session, None, campaign)
    db.session.commit()
    path.write_bytes(body.encode("utf-8-sig"))
    click.echo(f"{len(services.public_signatories(db.session, campaign))} signatories written to {path}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(statements_cli)
