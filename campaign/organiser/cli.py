"""`flask users …`: make organiser accounts from the command line."""
from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from campaign.config import DEFAULT_PUBLIC_URL
from campaign.extensions import db
from campaign.i18n import LANGUAGES
from campaign.organiser import services
from campaign.organiser.models import Role

users_cli = AppGroup("users", help="Organiser accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--organisation", "organisation", default=None,
              help="The organisation's name (created if new). Not needed for admin.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True,
              help="owner or editor of the organisation, or admin of the whole site.")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None,
              help="Language of the setup page (default: the account's language, else Arabic).")
def create_command(email: str, organisation: str | None, role: str, lang: str | None) -> None:
    """Create an organiser (and the organisation if new) and print a one-time setup
    link. For an existing address it adds the membership and prints a fresh link,
    which, if used, resets their password and two-factor."""
    existing = services.find_by_email(db.session, email)
    try:
        organiser, token = services.create_account(
            db.session, email, role=role, organisation_name=organisation, locale=lang or "ar"
        )
    except services.AccountError as exc:
        db.session.rollback()
        with force_locale("en"):  # the terminal speaks English, like click itself
            raise click.UsageError(str(exc.message)) from exc
    db.session.commit()
    if role == Role.admin.value and organisation:
        click.echo("Note: a site administrator holds every organisation; --organisation was not used.")
    if existing is not None and existing.password_hash:
        click.echo(f"{organiser.email} already has an account: the link below resets its password and two-factor.")
    else:
        click.echo(f"Created {role} {organiser.email}" + (f" in {organisation.strip()}" if role != "admin" else ""))
    hours = current_app.config["SETUP_LINK_HOURS"]
    if not os.environ.get("PUBLIC_URL") and current_app.config["PUBLIC_URL"] == DEFAULT_PUBLIC_URL:
        # `PORT=8000 bin/serve` sets PUBLIC_URL for the server only: this command, run
        # in another terminal, would otherwise print the default port without a word.
        click.echo(f"Note: PUBLIC_URL is not set, so the link uses {current_app.config['PUBLIC_URL']}. "
                   "Run this command with PUBLIC_URL set to the address people open "
                   "(e.g. PUBLIC_URL=http://127.0.0.1:8000 flask users create …).", err=True)
    click.echo(f"Setup link (works once, for {hours} hours):")
    click.echo(services.setup_url(token, lang or organiser.locale))


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
