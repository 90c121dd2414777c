"""The outbox: side effects (mail, posts) written in the transaction that causes them,
delivered by `flask worker` with retries."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from campaign.outbox import cli

    cli.init_app(app)
