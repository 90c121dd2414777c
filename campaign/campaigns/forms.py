"""The campaign editor's forms. Every language's fields come from LANGUAGES, so a
third language is a catalogue and campaign texts, not a form change."""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from campaign.campaigns.services import CampaignChanges, TextInput
from campaign.campaigns.models import Campaign, CampaignKind, Digits
from campaign.campaigns.services import SLUG_RE, DemandInput
from campaign.forms import without_nul
from campaign.i18n import LANGUAGES, language_name, normalise_digits

HASHTAG_RE = re.compile(r"^\w+$")
MAX_GOAL = 1_000_000_000
MAX_RETENTION_DAYS = 3650
# Blank demand rows offered below the existing ones: add demands without JavaScript.
BLANK_DEMAND_ROWS = 2
MAX_DEMAND_ROWS = 60


def _at_most(n: int):
    return Length(max=n, message=_l("Please use at most %(max)d characters."))


class WholeNumberField(StringField):
    """A positive whole number typed with Latin or Arabic-Indic digits, with or
    without thousands separators ("10,000", "١٠٬٠٠٠")."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.number = None
        raw = normalise_digits(self.data or "").strip()
        raw = re.sub(r"[,\u066c\u00a0\u202f' ]", "", raw)
        if not raw:
            return
        if not raw.isascii() or not raw.isdigit():
            self.number = ValueError
            return
        self.number = int(raw)

    def process_data(self, value):
        super().process_data(value)
        self.number = value
        self.data = "" if value is None else str(value)

    def pre_validate(self, form):
        if self.number is ValueError:
            raise ValidationError(_l("Please enter a whole number, such as 10000."))


class TypedDateField(DateField):
    """A date (YYYY-MM-DD) from the browser's date picker, or typed, in either digits."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [normalise_digits(v).strip() for v in valuelist]
        self.raw_data = valuelist
        if not valuelist or not valuelist[0]:
            self.data = None
            return
        try:
            self.data = dt.datetime.strptime(valuelist[0], "%Y-%m-%d").date()
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Please give the date as year-month-day, such as 2030-12-31."))) from None


class NewCampaignForm(FlaskForm):
    kind = RadioField(
        _l("What kind of campaign?"),
        default=CampaignKind.petition.value,
        validators=[DataRequired(_l("Please choose the kind of campaign."))],
        validate_choice=False,
    )
    slug = StringField(
        _l("Web address"),
        description=_l("The end of the campaign's link: lowercase Latin letters, digits and hyphens, such as free-the-journalists."),
        validators=[
            DataRequired(_l("Please choose a web address.")),
            Length(max=80, message=_l("Please use at most %(max)d characters.")),
            Regexp(SLUG_RE, message=_l("Use only lowercase Latin letters, digits and single hyphens between them.")),
        ],
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
    )
    organisation = SelectField(
        _l("Organisation"),
        # Anything that is not an id becomes -1, refused below with our own message.
        coerce=lambda v: int(v) if str(v).isdigit() else -1,
        validate_choice=False,
        validators=[DataRequired(_l("Please choose an organisation."))],
    )

    def __init__(self, organisations, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(k.value, k.title) for k in CampaignKind]
        self.organisation.choices = [SelectChoice(o.id, o.name) for o in organisations]

    def validate_kind(self, field):
        if field.data not in {k.value for k in CampaignKind}:
            raise ValidationError(_l("Please choose the kind of campaign."))

    def validate_organisation(self, field):
        if field.data not in {c.value for c in field.choices}:
            raise ValidationError(_l("Please choose an organisation."))


class TextForm(Form):
    """One language's texts."""

    title = StringField(_l("Title"), filters=[without_nul], validators=[_at_most(200)])
    summary = TextAreaField(
        _l("Summary"),
        description=_l("One or two sentences, shown under the title and when the link is shared."),
        filters=[without_nul],
        validators=[_at_most(500)],
    )
    body_md = TextAreaField(
        _l("Text"),
        description=_l("Markdown: **bold**, *italic*, lists, > quotes and links. No images or HTML."),
        filters=[without_nul],
        validators=[_at_most(50_000)],
    )
    share_text = TextAreaField(
        _l("Share text"),
        description=_l("Proposed to people who share the campaign. At most 280 characters."),
        filters=[without_nul],
        validators=[_at_most(280)],
    )


class DemandTextForm(Form):
    title = StringField(_l("Demand"), filters=[without_nul], validators=[_at_most(200)])
    body = TextAreaField(_l("Explanation"), filters=[without_nul], validators=[_at_most(2_000)])


class DemandRowForm(Form):
    """One numbered demand in every language. Rows are ordered by ``position``;
    ticked ``remove`` or entirely blank rows are dropped."""

    position = WholeNumberField(_l("Number"))
    remove = BooleanField(_l("Remove this demand"))

    @property
    def is_blank(self) -> bool:
        return all(not (self[lang].title.data or "").strip() and not (self[lang].body.data or "").strip()
                   for lang in LANGUAGES)


# Fields are listed in the order they are created: the address, then each language's
# texts, then the demands and settings (the error summary follows the page).
_slug_field = StringField(
    _l("Web address"),
    description=_l("Can be changed until the campaign is published."),
    validators=[
        Optional(),
        Length(max=80, message=_l("Please use at most %(max)d characters.")),
        Regexp(SLUG_RE, message=_l("Use only lowercase Latin letters, digits and single hyphens between them.")),
    ],
    filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
)
_text_fields = {lang: FormField(TextForm, label=language_name(lang)) for lang in LANGUAGES}


class CampaignForm(FlaskForm):
    slug = _slug_field
    demands = FieldList(FormField(DemandRowForm), min_entries=0, max_entries=MAX_DEMAND_ROWS)
    hashtag = StringField(
        _l("Hashtag"),
        description=_l("Without the #, in any language, such as FreeThemAll or الحرية_للجميع."),
        validators=[_at_most(100)],
        filters=[lambda v: v.strip().lstrip("#").strip() if isinstance(v, str) else v],
    )
    goal = WholeNumberField(_l("Signature goal"), description=_l("Optional. Shown as a progress bar."))
    closes_at = TypedDateField(
        _l("Close date"),
        description=_l("Optional. Signatures are accepted until the end of this day (UTC)."),
        validators=[Optional()],
    )
    retention_days = WholeNumberField(
        _l("Keep signers' details for (days after closing)"),
        description=_l("Optional. Afterwards names are cut to what each signer chose to show and "
                       "e-mail addresses are deleted; counts stay. Empty: the site's default."),
    )
    digits = RadioField(
        _l("Digits for numbers on the campaign page"),
        choices=[
            SelectChoice(Digits.latn.value, _l("Latin digits (0123456789)")),
            SelectChoice(Digits.arab.value, _l("Arabic-Indic digits (٠١٢٣٤٥٦٧٨٩)")),
        ],
        default=Digits.latn.value,
        validate_choice=False,
    )

    def __init__(self, *args, stored_closes_at: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._stored_close_date = stored_closes_at.date() if stored_closes_at else None

    def validate_hashtag(self, field):
        if field.data and not HASHTAG_RE.match(field.data):
            raise ValidationError(_l("A hashtag is one word: letters, digits and underscores, no spaces."))

    def validate_goal(self, field):
        if field.number not in (None, ValueError) and not 1 <= field.number <= MAX_GOAL:
            raise ValidationError(_l("Please enter a goal between 1 and 1,000,000,000."))

    def validate_retention_days(self, field):
        if field.number not in (None, ValueError) and not 1 <= field.number <= MAX_RETENTION_DAYS:
            raise ValidationError(_l("Please enter a number of days between 1 and 3,650."))

    def validate_closes_at(self, field):
        # An unchanged past date is fine (a closed campaign keeps its history).
        if field.data and field.data != self._stored_close_date and field.data < dt.datetime.now(dt.UTC).date():
            raise ValidationError(_l("The close date cannot be in the past."))

    def validate_digits(self, field):
        if field.data not in {d.value for d in Digits}:
            raise ValidationError(_l("Please choose how numbers are written."))

    # --- between the form and the services ---

    def ordered_demand_rows(self) -> list[DemandRowForm]:
        """Kept rows, ordered by their number (rows without one keep their place at the end)."""
        rows = [(i, entry.form) for i, entry in enumerate(self.demands)]
        kept = [(i, row) for i, row in rows if not row.remove.data and not row.is_blank]

        def key(item):
            i, row = item
            number = row.position.number
            return (number if isinstance(number, int) else len(rows) + i + 1, i)

        return [row for _, row in sorted(kept, key=key)]

    def changes(self) -> CampaignChanges:
        texts = {
            lang: TextInput(
                title=self[lang].title.data or "",
                summary=self[lang].summary.data or "",
                body_md=self[lang].body_md.data or "",
                share_text=self[lang].share_text.data or "",
            )
            for lang in LANGUAGES
        }
        demands = [
            DemandInput({lang: (row[lang].title.data or "", row[lang].body.data or "") for lang in LANGUAGES})
            for row in self.ordered_demand_rows()
        ]
        closes_at = dt.datetime.combine(self.closes_at.data, dt.time(23, 59, 59)) if self.closes_at.data else None
        return CampaignChanges(
            texts=texts,
            demands=demands,
            hashtag=self.hashtag.data or None,
            goal=self.goal.number if isinstance(self.goal.number, int) else None,
            closes_at=closes_at,
            digits=Digits(self.digits.data),
            retention_days=self.retention_days.number if isinstance(self.retention_days.number, int) else None,
            slug=self.slug.data or None,
        )

    def add_blank_demands(self, count: int = BLANK_DEMAND_ROWS) -> None:
        start = len(self.demands)
        for n in range(min(count, MAX_DEMAND_ROWS - start)):
            entry = self.demands.append_entry()
            entry.form.position.data = str(start + n + 1)


# One sub-form per language, named by its code: form["ar"].title, row["en"].body.
for _lang in LANGUAGES:
    setattr(CampaignForm, _lang, _text_fields[_lang])
    setattr(DemandRowForm, _lang, FormField(DemandTextForm, label=language_name(_lang)))
del _lang


def form_data_for(campaign: Campaign) -> dict:
    """The edit form's initial data, from what is stored."""
    data: dict = {
        "slug": campaign.slug,
        "hashtag": campaign.hashtag or "",
        "goal": campaign.goal,
        "closes_at": campaign.closes_at.date() if campaign.closes_at else None,
        "digits": campaign.digits.value,
        "retention_days": campaign.retention_days,
        "demands": [],
    }
    for lang in LANGUAGES:
        text = campaign.text(lang)
        data[lang] = {
            "title": text.title if text else "",
            "summary": text.summary if text else "",
            "body_md": text.body_md if text else "",
            "share_text": text.share_text if text else "",
        }
    for demand in campaign.demands:
        row: dict = {"position": demand.position, "remove": False}
        for lang in LANGUAGES:
            dtext = demand.text(lang)
            row[lang] = {"title": dtext.title if dtext else "", "body": dtext.body if dtext else ""}
        data["demands"].append(row)
    return data


def field_errors(form) -> list[tuple[str, str, list[str]]]:
    """Every leaf field with errors as (id, label, messages), in page order; labels
    of fields inside a language or a demand say which ("English: Title")."""
    found: list[tuple[str, str, list[str]]] = []

    def walk(f, prefix: str) -> None:
        for field in f:
            if field.type == "CSRFTokenField":
                continue
            if field.type == "FormField":
                walk(field.form, _join(prefix, str(field.label.text)))
            elif field.type == "FieldList":
                for n, entry in enumerate(field.entries, start=1):
                    walk(entry.form, _join(prefix, str(_l("Demand %(num)s", num=n))))
            elif field.errors:
                found.append((field.id, _join(prefix, str(field.label.text)), list(field.errors)))

    walk(form, "")
    return found


def _join(prefix: str, label: str) -> str:
    return f"{prefix} · {label}" if prefix else label
