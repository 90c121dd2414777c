from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Length, ValidationError

from campaign.signatures.emails import normalise_email


def _valid_email(form, field):
    if not field.data:
        return
    try:
        field.data = normalise_email(field.data)
    except ValueError as exc:
        raise ValidationError(_l("This e-mail address does not look right. Please check it.")) from exc


class ErasureRequestForm(FlaskForm):
    email = EmailField(
        _l("Your e-mail address"),
        description=_l("The address you signed with. We send a link to it; nothing is erased until you follow it."),
        filters=[lambda v: "".join(ch for ch in v if ch >= " ") if isinstance(v, str) else v],
        validators=[DataRequired(_l("Please enter your e-mail address.")),
                    Length(max=320, message=_l("Please use at most %(max)d characters.")), _valid_email],
        render_kw={"autocomplete": "email", "dir": "ltr"},
    )


class ConfirmErasureForm(FlaskForm):
    """Only a CSRF token: erasing is a POST so that link scanners cannot do it."""
