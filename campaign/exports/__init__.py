"""Exports: signers as CSV or XLSX, streamed, audited, safe against formula injection."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from campaign.exports import manage

    app.register_blueprint(manage.bp)
