"""Render an e-mail (text and HTML) in the recipient's language."""
from __future__ import annotations

from flask import render_template
from flask_babel import force_locale


def compose(template: str, *, to: str, locale: str, subject, headers: dict[str, str] | None = None,
            **context) -> dict:
    """Render ``templates/email/<template>.txt`` and ``.html`` under ``locale``.

    ``subject`` is a lazy string, evaluated in the recipient's language. ``headers``
    are extra header lines every backend adds (e.g. List-Unsubscribe)."""
    with force_locale(locale):
        message = {
            "to": to,
            "locale": locale,
            "subject": str(subject),
            "text": render_template(f"email/{template}.txt", **context),
            "html": render_template(f"email/{template}.html", **context),
        }
    if headers:
        message["headers"] = dict(headers)
    return message
