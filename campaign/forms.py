"""The base of every public form (sign, resend, erase, the confirm buttons,
unsubscribe).

Public pages set no cookie, so that any proxy or CDN may serve them; their forms
therefore carry no session-bound token. Cross-site posts are refused instead by
what the browser says about where a request comes from (security.cross_site),
the approach of Go 1.25's CrossOriginProtection. Workspace forms stay FlaskForms
with Flask-WTF's token.
"""
from __future__ import annotations

import functools

from babel import support
from flask import abort, current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path

from campaign.i18n import current_language
from campaign.security import CrossSiteRefused, cross_site

CROSS_SITE_MESSAGE = _l(
    "This form was sent from another website, so nothing was saved. If you meant to send it, "
    "check what it says and press the button again."
)


@functools.cache
def _wtforms_translations(lang: str) -> support.Translations:
    return support.Translations.load(messages_path(), [lang], domain="wtforms")


def without_nul(value):
    """A field filter. PostgreSQL refuses NUL in text (a 500 on saving); it never
    belongs in what a person types, so it goes before validation."""
    return value.replace("\x00", "") if isinstance(value, str) else value


class PublicForm(FlaskForm):
    class Meta:
        csrf = False

        def get_translations(self, form):
            # WTForms' own messages in the page's language, from a catalogue read once
            # per language: Flask-WTF reads and parses it again for every request.
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_translations(current_language())

    refused_cross_site = False

    def validate_on_submit(self, extra_validators=None) -> bool:
        if self.is_submitted() and cross_site():
            # What was typed stays in the form, shown again with the reason.
            self.refused_cross_site = True
            self.form_errors.append(str(CROSS_SITE_MESSAGE))
            return False
        return super().validate_on_submit(extra_validators)

    def require_button(self) -> None:
        """For a form that is only a button: go on only if it was pressed on our page."""
        if not self.validate_on_submit():
            if self.refused_cross_site:
                raise CrossSiteRefused()
            abort(400)

    @property
    def error_status(self) -> int:
        """The status of the page that shows this form again: 403 for a cross-site
        post, 422 for input that needs correcting."""
        return 403 if self.refused_cross_site else 422
