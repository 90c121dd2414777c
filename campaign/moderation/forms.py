from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from campaign.forms import without_nul
from campaign.moderation.services import BulkKind, InvalidationReason, QueryKind, RestoreReason, parse_query
from campaign.signatures.models import SignatureState

_CHOOSE_REASON = _l("Please choose a reason.")


def _reason_choices(enum_cls) -> list[tuple[str, str]]:
    return [("", _l("Choose a reason…"))] + [(r.value, r.title) for r in enum_cls]


class SearchForm(FlaskForm):
    """The search box of the signatures page. Posted, so that what is typed (a
    name, an address) stays out of URLs and therefore out of logs and history."""

    q = StringField(
        _l("Name or e-mail"),
        description=_l("Any spelling of a name (أحمد finds احمد and إحمد), an exact e-mail address, "
                       "or @domain for every address at that domain."),
        filters=[without_nul],
        validators=[Optional(), Length(max=320, message=_l("Please use at most %(max)d characters."))],
    )
    # Optional() stops the chain for whitespace and also drops the choice check's
    # error, so whitespace must become the "" choice before it is kept in the session.
    state = SelectField(_l("State"), validators=[Optional()],
                        filters=[lambda v: v.strip() if isinstance(v, str) else v])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state.choices = [("", _l("All states"))] + [(s.value, s.title) for s in SignatureState]

    def validate_q(self, field):
        if parse_query(field.data).kind == QueryKind.invalid:
            raise ValidationError(_l("That is not a whole e-mail address. To search a domain, type it as "
                                     "@example.org."))


class InvalidateForm(FlaskForm):
    reason = SelectField(_l("Reason"), validators=[DataRequired(_CHOOSE_REASON)])
    next = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = _reason_choices(InvalidationReason)


class RestoreForm(FlaskForm):
    reason = SelectField(_l("Reason"), validators=[DataRequired(_CHOOSE_REASON)])
    next = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = _reason_choices(RestoreReason)


class BulkForm(FlaskForm):
    """Bulk invalidation: what to hit, the number the moderator saw, and why."""

    by = HiddenField(validators=[DataRequired(), Length(max=16)])
    value = HiddenField(validators=[DataRequired(), Length(max=255)])
    expected = IntegerField(validators=[InputRequired(), NumberRange(min=0)])
    reason = SelectField(_l("Reason"), validators=[DataRequired(_CHOOSE_REASON)])
    next = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = _reason_choices(InvalidationReason)

    def validate_by(self, field):
        if field.data not in {k.value for k in BulkKind}:
            raise ValidationError("unknown")


class ReleaseForm(FlaskForm):
    """Release the held signatures of one hashed connection, as many as were shown."""

    value = HiddenField(validators=[DataRequired(), Length(max=64)])
    expected = IntegerField(validators=[InputRequired(), NumberRange(min=0)])
