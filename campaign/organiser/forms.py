"""Account forms: login, setup, two-factor, password, team. Passwords are never
echoed back into a re-shown form (PasswordField does not render its value)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from campaign.i18n import LANGUAGES, language_name
from campaign.organiser.models import Role
from campaign.organiser.services import AccountError, TEAM_ROLES, clean_email, password_problems


def _new_password(form, field):
    problems = password_problems(field.data)
    if problems:
        raise ValidationError(problems[0])


def _valid_email(form, field):
    if not field.data:
        return
    try:
        field.data = clean_email(field.data)
    except AccountError as exc:
        raise ValidationError(exc.message) from exc


def _no_control_characters(value):
    """Typed text without NUL and other control characters (PostgreSQL refuses NUL;
    none of them belong in a name, an address or a code)."""
    if not isinstance(value, str):
        return value
    return "".join(ch for ch in value if ch >= " " and ch != "\x7f").strip()


_TEXT = [_no_control_characters]

_CODE = dict(
    autocomplete="one-time-code", inputmode="numeric", autocapitalize="off", spellcheck="false", dir="ltr"
)


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        filters=_TEXT,
        validators=[DataRequired(_l("Please enter your e-mail address.")), Length(max=320)],
        render_kw={"autocomplete": "username", "dir": "ltr"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Please enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField(filters=_TEXT)


class CodeForm(FlaskForm):
    """The second step: a code from the authenticator app, or a recovery code."""

    code = StringField(
        _l("Code"),
        filters=_TEXT,
        description=_l("The 6-digit code from your authenticator app, or one of your recovery codes."),
        validators=[DataRequired(_l("Please enter the code.")), Length(max=64)],
        render_kw=_CODE | {"inputmode": "text"},
    )


class TotpForm(FlaskForm):
    """A TOTP code only: to turn on two-factor or to confirm a sensitive action."""

    code = StringField(
        _l("6-digit code"),
        filters=_TEXT,
        description=_l("Open your authenticator app and enter the code it shows for Sawt."),
        validators=[DataRequired(_l("Please enter the code.")), Length(max=64)],
        render_kw=_CODE,
    )
    next = HiddenField(filters=_TEXT)


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    """A new password typed twice. Made per form, where it is placed, so the fields
    keep their on-page order (WTForms orders fields by when they were created)."""
    return (
        PasswordField(
            _l("New password"),
            description=_l("At least 12 characters. A few unrelated words are easy to remember and hard to guess."),
            validators=[DataRequired(_l("Please choose a password.")), _new_password],
            render_kw={"autocomplete": "new-password"},
        ),
        PasswordField(
            _l("New password again"),
            validators=[DataRequired(_l("Please enter the password again.")),
                        EqualTo("password", _l("The two passwords are not the same."))],
            render_kw={"autocomplete": "new-password"},
        ),
    )


class SetupForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        filters=_TEXT,
        description=_l("Shown to your team and in the audit log."),
        validators=[DataRequired(_l("Please enter your name.")),
                    Length(max=120, message=_l("Please use at most %(max)d characters."))],
        render_kw={"autocomplete": "name"},
    )
    password, confirm = _new_password_fields()


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Please enter your current password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirm = _new_password_fields()


def _role_choices():
    return [SelectChoice(r.value, r.title) for r in TEAM_ROLES]


class InviteForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        filters=_TEXT,
        validators=[DataRequired(_l("Please enter an e-mail address.")), Length(max=320), _valid_email],
        render_kw={"dir": "ltr", "autocomplete": "off"},
    )
    role = SelectField(_l("Role"), default=Role.editor.value,
                       validators=[DataRequired(_l("Please choose a role."))])
    language = SelectField(
        _l("Language of the invitation"),
        validators=[DataRequired(_l("Please choose a language."))],
    )

    def __init__(self, lang: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices()
        self.language.choices = [SelectChoice(code, language_name(code)) for code in LANGUAGES]
        if not self.language.data:
            self.language.data = lang


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired(_l("Please choose a role."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices()


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def _optional_url(form, field):
    if field.data and not field.data.startswith(("https://", "http://")):
        raise ValidationError(_l("Please give the whole address, starting with https://."))


class OrganisationProfileForm(FlaskForm):
    """The public organisation page: an address, a contact, and per language the
    name, a description and the privacy commitment (fields ``name_ar``, ``name_en``…)."""

    slug = StringField(
        _l("Web address"),
        description=_l("The end of the page's link: lowercase Latin letters, digits and hyphens, such as rights-watch."),
        validators=[
            Length(max=80, message=_l("Please use at most %(max)d characters.")),
            Regexp(r"^$|^[a-z0-9]+(?:-[a-z0-9]+)*$",
                   message=_l("Use only lowercase Latin letters, digits and single hyphens between them.")),
        ],
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
    )
    contact_email = EmailField(_l("Public contact e-mail address"), validators=[_valid_email], filters=_TEXT)
    website = StringField(_l("Website"), validators=[Length(max=300), _optional_url], filters=_TEXT)

    def texts(self) -> dict:
        from campaign.organiser.services import ProfileText

        return {
            lang: ProfileText(self[f"name_{lang}"].data or "", self[f"description_{lang}"].data or "",
                              self[f"privacy_{lang}"].data or "")
            for lang in LANGUAGES
        }


for _lang in LANGUAGES:
    setattr(OrganisationProfileForm, f"name_{_lang}",
            StringField(_l("Name"), validators=[Length(max=200)], filters=_TEXT))
    setattr(OrganisationProfileForm, f"description_{_lang}",
            TextAreaField(_l("Who you are"), validators=[Length(max=2000)],
                          description=_l("Two or three sentences: what the organisation does and since when.")))
    setattr(OrganisationProfileForm, f"privacy_{_lang}",
            TextAreaField(_l("What you do with signers' details"), validators=[Length(max=2000)],
                          description=_l("Your commitment in plain words: who sees the names, what is published, when the details are deleted.")))
