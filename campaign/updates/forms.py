"""The update composer: one subject and text per language, side by side."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from campaign.forms import PublicForm
from wtforms import Form, FormField, HiddenField, StringField, TextAreaField
from wtforms.validators import Length

from campaign.i18n import LANGUAGES, language_name
from campaign.updates.models import Update
from campaign.updates.services import MAX_BODY, MAX_SUBJECT, MissingText, UpdateTextInput


def _line(value):
    """A subject: no control characters at all (PostgreSQL refuses NUL, and a line
    break would end a mail header)."""
    if not isinstance(value, str):
        return value
    return "".join(" " if ch in "\r\n\t" else ch for ch in value if ch >= " " and ch != "\x7f" or ch in "\r\n\t")


def _text(value):
    """A body: line breaks and tabs stay; other control characters go."""
    if not isinstance(value, str):
        return value
    return "".join(ch for ch in value if ch >= " " and ch != "\x7f" or ch in "\n\r\t")


def _at_most(n: int):
    return Length(max=n, message=_l("Please use at most %(max)d characters."))


class UpdateTextForm(Form):
    subject = StringField(
        _l("Subject"),
        description=_l("Seen in the inbox, also by anyone who looks at the signer's phone. "
                       "Keep it neutral if naming the cause could put signers at risk."),
        filters=[_line],
        validators=[_at_most(MAX_SUBJECT)],
    )
    body_md = TextAreaField(
        _l("Text"),
        description=_l("Markdown: **bold**, *italic*, lists, > quotes and links. No images or HTML."),
        filters=[_text],
        validators=[_at_most(MAX_BODY)],
    )


class UpdateForm(FlaskForm):
    def texts(self) -> dict[str, UpdateTextInput]:
        return {
            lang: UpdateTextInput(subject=self[lang].subject.data or "", body_md=self[lang].body_md.data or "")
            for lang in LANGUAGES
        }

    def mark_missing(self, missing: list[MissingText]) -> None:
        """Put "needed before sending" next to each empty field."""
        for item in missing:
            field = self[item.locale].subject if item.field == "subject" else self[item.locale].body_md
            field.errors = list(field.errors) + [
                _l("Please write this in %(language)s: every signer gets the update in their own language.",
                   language=language_name(item.locale))
            ]


# One sub-form per language, named by its code: form["ar"].subject.
for _lang in LANGUAGES:
    setattr(UpdateForm, _lang, FormField(UpdateTextForm, label=language_name(_lang)))
del _lang


def form_data_for(update: Update) -> dict:
    data = {}
    for lang in LANGUAGES:
        text = update.text(lang)
        data[lang] = {"subject": text.subject if text else "", "body_md": text.body_md if text else ""}
    return data


class ButtonForm(FlaskForm):
    """Only a CSRF token: a confirmation button in the workspace (delete)."""


class UnsubscribeForm(PublicForm):
    """The unsubscribe page's button: a POST, so that opening the link alone (a mail
    scanner) changes nothing."""


class SendForm(FlaskForm):
    """The send button, with the version of the text the sender was shown: a draft
    changed in the meantime (by a teammate) is not sent unseen."""

    version = HiddenField()
