"""URL helpers: absolute links for e-mails and share buttons, always on PUBLIC_URL
(never the request's Host header, which a client controls), and the converter for
row ids in our URLs."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app
from werkzeug.routing import IntegerConverter


def external_url(endpoint: str, **values) -> str:
    values = {k: v for k, v in values.items() if v is not None}
    return _adapter(current_app.config["PUBLIC_URL"]).build(endpoint, values, force_external=True)


def _adapter(public_url: str):
    """The URL map bound to PUBLIC_URL, once per app and address (a page builds a
    dozen share and preview links)."""
    adapters = current_app.extensions.setdefault("sawt.public_url_adapters", {})
    adapter = adapters.get(public_url)
    if adapter is None:
        parts = urlsplit(public_url)
        adapter = adapters[public_url] = current_app.url_map.bind(
            parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http"
        )
    return adapter


# The largest id an Integer primary key holds (PostgreSQL's integer).
MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in our URLs names a row: a number no id column holds is no row
    (404), not an OverflowError from the SQLite driver (500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ROW_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter
