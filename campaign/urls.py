"""Absolute links for e-mails and share buttons, always on PUBLIC_URL (never the
request's Host header, which a client controls)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    parts = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http"
    )
    values = {k: v for k, v in values.items() if v is not None}
    return adapter.build(endpoint, values, force_external=True)
