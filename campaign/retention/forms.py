from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField
from wtforms.validators import DataRequired, Length

from campaign.forms import PublicForm
from campaign.signatures.forms import valid_email


class ErasureRequestForm(PublicForm):
    email = EmailField(
        _l("Your e-mail address"),
        description=_l("The address you signed with. We send a link to it; nothing is erased until you follow it."),
        filters=[lambda v: "".join(ch for ch in v if ch >= " ") if isinstance(v, str) else v],
        validators=[DataRequired(_l("Please enter your e-mail address.")),
                    Length(max=320, message=_l("Please use at most %(max)d characters.")), valid_email],
        render_kw={"autocomplete": "email", "dir": "ltr"},
    )


class ConfirmErasureForm(PublicForm):
    """Only a button: erasing is a POST so that link scanners cannot do it."""
