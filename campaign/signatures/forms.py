from __future__ import annotations

from functools import lru_cache

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import BooleanField, EmailField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import Select, html_params

from campaign.forms import PublicForm, without_nul
from campaign.i18n import countries
from campaign.signatures.emails import normalise_email
from campaign.signatures.models import Visibility


def valid_email(form, field):
    """Normalise a typed address, or refuse it with a translated message."""
    if not field.data:
        return
    try:
        field.data = normalise_email(field.data)
    except ValueError as exc:
        raise ValidationError(_l("This e-mail address does not look right. Please check it.")) from exc


class CountrySelect(Select):
    """The ~250 countries' <option>s, escaped and joined once per language: drawing
    them for every reader was most of the campaign page's render time."""

    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        if "required" not in kwargs and "required" in getattr(field, "flags", []):
            kwargs["required"] = True
        options = _country_options(self.lang, str(_l("Choose your country")))
        chosen = f'<option value="{escape(field.data or "")}">'
        options = options.replace(chosen, chosen.replace("<option ", "<option selected "), 1)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


@lru_cache(maxsize=16)
def _country_options(lang: str, placeholder: str) -> str:
    return f'<option value="">{escape(placeholder)}</option>' + "".join(
        f'<option value="{escape(code)}">{escape(name)}</option>' for code, name in countries(lang)
    )


@lru_cache(maxsize=16)
def _country_choices(lang: str) -> list[SelectChoice]:
    """The country select's choices, made once per language (the page renders them
    through CountrySelect; a post only checks them). Shared: never changed in place."""
    return [SelectChoice("", _l("Choose your country"))] + [SelectChoice(code, name) for code, name in countries(lang)]


@lru_cache(maxsize=16)
def _country_codes(lang: str) -> frozenset[str]:
    return frozenset(code for code, _name in countries(lang))


class SignForm(PublicForm):
    name = StringField(
        _l("Your name"),
        filters=[without_nul],
        validators=[DataRequired(_l("Please enter your name.")), Length(max=120, message=_l("Please use at most %(max)d characters."))],
    )
    email = EmailField(
        _l("Your e-mail address"),
        description=_l("We send you a link to confirm. It is never shown to anyone."),
        validators=[DataRequired(_l("Please enter your e-mail address.")), valid_email],
    )
    country = SelectField(
        _l("Country"),
        validators=[DataRequired(_l("Please choose your country."))],
        validate_choice=False,
    )
    comment = TextAreaField(
        _l("Comment (optional)"),
        description=_l("Shown with your name or initials if you choose to be shown."),
        filters=[without_nul],
        validators=[Optional(), Length(max=500, message=_l("Please use at most %(max)d characters."))],
    )
    visibility = RadioField(
        _l("What may the public see?"),
        default=Visibility.counted.value,
        validators=[DataRequired(_l("Please choose what may be shown."))],
        validate_choice=False,
    )
    opt_in = BooleanField(_l("Send me updates about this campaign (you can stop them at any time)"))
    # Honeypot: hidden from people by CSS and aria-hidden; bots fill it in.
    website = StringField(_l("Leave this field empty"))
    ref = HiddenField()

    def __init__(self, lang: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = _country_choices(lang)
        self.country.widget = CountrySelect(lang)
        self.visibility.choices = [SelectChoice(v.value, v.title) for v in Visibility]
        self.lang = lang

    def validate_country(self, field):
        if field.data not in _country_codes(self.lang):
            raise ValidationError(_l("Please choose your country."))

    def validate_visibility(self, field):
        if field.data not in {v.value for v in Visibility}:
            raise ValidationError(_l("Please choose what may be shown."))


class ResendForm(PublicForm):
    email = EmailField(
        _l("Your e-mail address"),
        validators=[DataRequired(_l("Please enter your e-mail address.")), valid_email],
    )


class ConfirmForm(PublicForm):
    """Only a button: confirming is a POST so that link scanners cannot do it."""
