from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import EmailField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from campaign.forms import PublicForm, without_nul
from campaign.i18n import LANGUAGES, countries, language_name
from campaign.signatures.forms import valid_email
from campaign.statements.models import ListOrder, SignatoryKind
from campaign.statements.parsing import MAX_NAME, MAX_ROLE

_TOO_LONG = _l("Please use at most %(max)d characters.")


def _kind_choices():
    return [
        SelectChoice(SignatoryKind.individual.value, _l("Myself, as an individual")),
        SelectChoice(SignatoryKind.organisation.value, _l("An organisation I represent")),
    ]


class EndorseForm(PublicForm):
    """"Add my name / my organisation": a name in at least one language. Public:
    no token, cross-site posts refused (campaign.forms.PublicForm)."""

    kind = RadioField(_l("Who is signing?"), default=SignatoryKind.individual.value, validate_choice=False)
    name_ar = StringField(_l("Name in Arabic"), filters=[without_nul],
                          validators=[Optional(), Length(max=MAX_NAME, message=_TOO_LONG)])
    role_ar = StringField(_l("Role or affiliation in Arabic"), filters=[without_nul],
                          description=_l("For example: a lawyer, the sister of a detainee, editor of a newspaper."),
                          validators=[Optional(), Length(max=MAX_ROLE, message=_TOO_LONG)])
    name_en = StringField(_l("Name in English"), filters=[without_nul],
                          validators=[Optional(), Length(max=MAX_NAME, message=_TOO_LONG)])
    role_en = StringField(_l("Role or affiliation in English"), filters=[without_nul],
                          validators=[Optional(), Length(max=MAX_ROLE, message=_TOO_LONG)])
    country = SelectField(_l("Country"), validators=[DataRequired(_l("Please choose your country."))],
                          validate_choice=False)
    website = StringField(_l("Website (optional)"), filters=[without_nul],
                          validators=[Optional(), Length(max=300, message=_TOO_LONG)])
    email = EmailField(
        _l("E-mail address"),
        description=_l("We send a link to confirm. For an organisation, use its contact address. "
                       "It is never shown, and it is erased once the organisers have decided."),
        validators=[DataRequired(_l("Please enter your e-mail address.")), valid_email],
    )
    # Honeypot, as on the sign form: hidden from people, filled in by bots.
    homepage = StringField(_l("Leave this field empty"))

    def __init__(self, lang: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = _kind_choices()
        self.country.choices = [SelectChoice("", _l("Choose your country"))] + [
            SelectChoice(code, name) for code, name in countries(lang)
        ]

    def validate_kind(self, field):
        if field.data not in {k.value for k in SignatoryKind}:
            raise ValidationError(_l("Please choose who is signing."))

    def validate_country(self, field):
        if field.data not in {c.value for c in self.country.choices if c.value}:
            raise ValidationError(_l("Please choose your country."))

    def validate(self, extra_validators=None) -> bool:
        # Not an inline validator: Optional() on an empty name stops those.
        valid = super().validate(extra_validators)
        if not (self.name_ar.data or "").strip() and not (self.name_en.data or "").strip():
            self.name_ar.errors = list(self.name_ar.errors) + [_l("Please enter a name in at least one language.")]
            return False
        return valid

    def names(self) -> dict[str, str]:
        return {"ar": self.name_ar.data or "", "en": self.name_en.data or ""}

    def roles(self) -> dict[str, str]:
        return {"ar": self.role_ar.data or "", "en": self.role_en.data or ""}


class ImportForm(FlaskForm):
    text = TextAreaField(
        _l("Paste the list"),
        description=_l("One signatory per line, as published: “1- Name, role”. Numbers may be Latin or "
                       "Arabic-Indic; the role follows the first comma. Or paste a CSV exported from here."),
        filters=[without_nul],
        validators=[Optional(), Length(max=400_000, message=_TOO_LONG)],
    )
    upload = FileField(_l("Or upload a CSV file"))
    language = SelectField(_l("Language of the list"), default="")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = [SelectChoice("", _l("Decide from the letters of each line"))] + [
            SelectChoice(lang, language_name(lang)) for lang in LANGUAGES
        ]


class SignatoryForm(FlaskForm):
    """The organiser's edit of one signatory (or the role line of a request)."""

    kind = SelectField(_l("Kind"), validate_choice=False)
    name_ar = StringField(_l("Name in Arabic"), filters=[without_nul],
                          validators=[Optional(), Length(max=MAX_NAME, message=_TOO_LONG)])
    role_ar = StringField(_l("Role or affiliation in Arabic"), filters=[without_nul],
                          validators=[Optional(), Length(max=MAX_ROLE, message=_TOO_LONG)])
    name_en = StringField(_l("Name in English"), filters=[without_nul],
                          validators=[Optional(), Length(max=MAX_NAME, message=_TOO_LONG)])
    role_en = StringField(_l("Role or affiliation in English"), filters=[without_nul],
                          validators=[Optional(), Length(max=MAX_ROLE, message=_TOO_LONG)])
    country = StringField(_l("Country code (two letters)"), validators=[Optional(), Length(min=2, max=2)])
    website = StringField(_l("Website (optional)"), validators=[Optional(), Length(max=300, message=_TOO_LONG)])
    private_note = TextAreaField(_l("Private note (only organisers see it)"), filters=[without_nul],
                                 validators=[Optional(), Length(max=2000, message=_TOO_LONG)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(k.value, k.title) for k in SignatoryKind]

    def validate(self, extra_validators=None) -> bool:
        # Not an inline validator: Optional() on an empty name stops those.
        valid = super().validate(extra_validators)
        if not (self.name_ar.data or "").strip() and not (self.name_en.data or "").strip():
            self.name_ar.errors = list(self.name_ar.errors) + [_l("Please enter a name in at least one language.")]
            return False
        return valid


class ListOrderForm(FlaskForm):
    list_order = RadioField(_l("How the list is shown"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.list_order.choices = [SelectChoice(o.value, o.title) for o in ListOrder]


class ActionForm(FlaskForm):
    """Only a CSRF token: the workspace's decline, remove and move buttons."""


class ApproveForm(ActionForm):
    """Approve a request, with the organiser's wording of its role line (a language
    left out keeps what the requester wrote)."""

    role_ar = StringField(_l("Role or affiliation in Arabic"), filters=[without_nul],
                          validators=[Optional(), Length(max=MAX_ROLE, message=_TOO_LONG)])
    role_en = StringField(_l("Role or affiliation in English"), filters=[without_nul],
                          validators=[Optional(), Length(max=MAX_ROLE, message=_TOO_LONG)])


class ButtonForm(PublicForm):
    """The public confirm and withdraw buttons (POST, so that link scanners cannot
    press them)."""
