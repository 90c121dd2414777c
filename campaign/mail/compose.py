"""Render an e-mail (text and HTML) in the recipient's language."""
from __future__ import annotations

from flask import render_template
from flask_babel import force_locale


def compose(template: str, *, to: str, locale: str, subject, **context) -> dict:
    """Render ``templates/email/<template>.txt`` and ``.html`` under ``locale``.

    ``subject`` is a lazy string, evaluated in the recipient's language."""
    with force_locale(locale):
        return {
            "to": to,
            "locale": locale,
            "subject": str(subject),
            "text": render_template(f"email/{template}.txt", **context),
            "html": render_template(f"email/{template}.html", **context),
        }
