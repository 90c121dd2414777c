from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, EmailField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from campaign.forms import PublicForm, without_nul
from campaign.i18n import LANGUAGES, countries
from campaign.signatures.forms import valid_email
from campaign.targets.models import TargetKind

LANGUAGE_NAMES = {"ar": _l("Arabic"), "en": _l("English")}


class TargetForm(FlaskForm):
    code = StringField(_l("Code"), description=_l("A short name for imports, e.g. un-sg. Letters, digits, - and _."),
                       validators=[DataRequired(_l("Please enter a code.")), Length(max=64)])
    kind = SelectField(_l("Kind"), validate_choice=False)
    country = SelectField(_l("Country (optional)"), validate_choice=False)
    language = SelectField(_l("Language of letters to this target"), validate_choice=False)
    email = StringField(_l("E-mail address (optional)"), filters=[without_nul], validators=[Length(max=320)])
    x_handle = StringField(_l("X handle (optional)"), validators=[Length(max=50)])
    bluesky_handle = StringField(_l("Bluesky handle (optional)"), validators=[Length(max=253)])
    contact_url = StringField(_l("Web contact form (optional)"), validators=[Length(max=500)])
    phone = StringField(_l("Phone (optional)"), validators=[Length(max=50)])
    postal_address = TextAreaField(_l("Postal address (optional)"), filters=[without_nul],
                                   validators=[Length(max=1000)])
    never_send_names = BooleanField(
        _l("Never send signers' names to this target"),
        description=_l("For a body that may itself endanger signers: its letters go unsigned, without the signer's "
                       "name, country or address."),
    )

    def __init__(self, lang: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(k.value, k.title) for k in TargetKind]
        self.country.choices = [SelectChoice("", _l("None"))] + [SelectChoice(c, n) for c, n in countries(lang)]
        self.language.choices = [SelectChoice("", _l("Every language"))] + [
            SelectChoice(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES
        ]

    def names(self) -> dict[str, str]:
        return {code: self[f"name_{code}"].data or "" for code in LANGUAGES}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Please choose a file."))])


class CampaignTargetsForm(FlaskForm):
    """Only the CSRF token: the chosen targets and rates are read per row."""


class DeliverForm(FlaskForm):
    """The targets are read per row (``deliver_to``)."""

    spacing_minutes = IntegerField(_l("Minutes between deliveries"), default=10,
                                   validators=[Optional(), NumberRange(min=0, max=1440)])
    with_names = BooleanField(_l("Attach the names of signers who chose to be shown by full name"), default=True)


class LetterTextForm(FlaskForm):
    def texts(self) -> dict[str, tuple[str, str]]:
        return {code: (self[f"{code}_subject"].data or "", self[f"{code}_body"].data or "") for code in LANGUAGES}


class ResponseForm(FlaskForm):
    target = SelectField(_l("Target"), coerce=int, validate_choice=False)
    received_on = DateField(_l("Date of the answer"), validators=[DataRequired(_l("Please enter the date."))])
    url = StringField(_l("Link to the answer (optional)"), validators=[Length(max=500)])
    demands = MultiCheckboxField(_l("Demands it addresses"), coerce=int, validate_choice=False)


class OutcomesForm(FlaskForm):
    """Only the CSRF token: each demand's outcome and date are read per row."""


# One field per language, made from LANGUAGES: a third language needs no code here.
for _code in LANGUAGES:
    _language = LANGUAGE_NAMES.get(_code, _code)
    setattr(TargetForm, f"name_{_code}", StringField(
        _l("Name (%(language)s)", language=_language), filters=[without_nul],
        validators=[DataRequired(_l("Please enter the name in every language.")), Length(max=300)]))
    setattr(LetterTextForm, f"{_code}_subject", StringField(
        _l("Subject (%(language)s)", language=_language), filters=[without_nul], validators=[Length(max=200)]))
    setattr(ResponseForm, f"text_{_code}", TextAreaField(
        _l("Their answer (%(language)s)", language=_language), filters=[without_nul],
        validators=[Length(max=5000)]))
    setattr(LetterTextForm, f"{_code}_body", TextAreaField(
        _l("Letter (%(language)s)", language=_language),
        description=_l("{name}, {country} and {target} are filled in for each letter."),
        filters=[without_nul], validators=[Length(max=5000)]))


class LetterForm(PublicForm):
    """A confirmed signer's letter, sent by the platform to the targets they tick."""

    targets = MultiCheckboxField(_l("Send it to"), coerce=int, validate_choice=False)
    with_name = BooleanField(_l("Sign the letter with my name and country"))
    with_reply_to = BooleanField(_l("Let them reply to me: add my e-mail address as Reply-To"))
    email = EmailField(_l("The e-mail address you signed with"),
                       description=_l("Only needed for Reply-To. It goes into the letter, nowhere else."),
                       validators=[Optional(), valid_email])
    p = HiddenField()

    def validate_targets(self, field):
        if not field.data:
            raise ValidationError(_l("Please choose at least one target."))
        codes = {choice[0] for choice in self.targets.choices or []}
        if set(field.data) - codes:
            raise ValidationError(_l("Please choose at least one target."))

    def validate_email(self, field):
        if self.with_reply_to.data and not field.data:
            raise ValidationError(_l("Please enter the address you signed with, or untick Reply-To."))
