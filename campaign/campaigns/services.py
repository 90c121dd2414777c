"""Campaign operations: create, edit, publish, close, reopen, archive, and the
public queries. Plain values in, objects out; callers commit (or roll back).

Operations take the ``actor``: the organiser acting in the workspace, whose
permission is checked and whose action is audited in the same transaction, or
``None`` for the platform itself (a command, the demo loader, a scheduled job).
Views never pass None: they are behind login.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, lazyload

from campaign.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignState,
    CampaignText,
    Demand,
    DemandText,
    Digits,
)
from campaign.i18n import LANGUAGES
from campaign.organiser import audit
from campaign.organiser.access import Permission, allowed, require, require_campaign
from campaign.organiser.models import Organiser
from campaign.privacy.keys import utcnow
from campaign.sanitize import render_markdown

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class DemandInput:
    """One demand's text in each language: {"ar": (title, body), "en": (title, body)}."""

    texts: dict[str, tuple[str, str]]


@dataclass(frozen=True)
class Missing:
    """Something a campaign still lacks before it can be published."""

    locale: str | None
    field: str
    position: int | None = None

    def describe(self) -> str:
        from campaign.i18n import language_name

        labels = {
            "title": _l("title"),
            "summary": _l("summary"),
            "body": _l("text"),
            "demand_title": _l("title of demand %(num)s"),
            "demand_body": _l("text of demand %(num)s"),
        }
        label = str(labels[self.field]) % {"num": self.position} if self.position else str(labels[self.field])
        if self.locale:
            return f"{language_name(self.locale)}: {label}"
        return label


class SlugTaken(ValueError):
    """Another campaign already has this address."""


class CampaignLocked(ValueError):
    """Archived campaigns are kept as they were: no more edits."""


class CloseDatePassed(ValueError):
    """Reopening would close the campaign again at once: move the close date first."""


def create(
    session: Session,
    actor: Organiser | None,
    *,
    slug: str,
    kind: CampaignKind,
    organisation_id: int | None = None,
    hashtag: str | None = None,
    goal: int | None = None,
    closes_at: dt.datetime | None = None,
    digits: Digits = Digits.latn,
) -> Campaign:
    """Start a draft campaign. The slug must be lowercase ASCII words joined by
    hyphens and free; an organiser must be allowed to edit for the organisation."""
    if actor is not None:
        require(actor, Permission.edit_campaigns, organisation_id)
    if not SLUG_RE.match(slug):
        raise ValueError("slug must be lowercase letters, digits and hyphens")
    if get_by_slug(session, slug) is not None:
        raise SlugTaken(slug)
    campaign = Campaign(
        slug=slug,
        kind=kind,
        state=CampaignState.draft,
        hashtag=normalise_hashtag(hashtag),
        goal=goal,
        closes_at=closes_at,
        digits=digits,
        organisation_id=organisation_id,
    )
    session.add(campaign)
    session.flush()
    _changed(session, actor, "campaign.create", campaign, slug=slug, kind=kind.value)
    return campaign


def normalise_hashtag(hashtag: str | None) -> str | None:
    hashtag = (hashtag or "").strip().lstrip("#").strip()
    return hashtag or None


def set_text(
    session: Session,
    campaign: Campaign,
    locale: str,
    *,
    title: str,
    summary: str,
    body_md: str,
    share_text: str = "",
) -> CampaignText:
    """Set one language's text; the body is rendered and sanitised here, once."""
    if locale not in LANGUAGES:
        raise ValueError(f"unknown language {locale!r}")
    text = campaign.text(locale)
    if text is None:
        text = CampaignText(locale=locale)
        campaign.texts.append(text)
    text.title = title.strip()
    text.summary = summary.strip()
    text.body_md = body_md
    text.body_html = render_markdown(body_md)
    text.share_text = share_text.strip()
    session.flush()
    return text


def set_demands(session: Session, campaign: Campaign, demands: list[DemandInput]) -> list[Demand]:
    """Replace the campaign's demands, numbered in the given order from 1."""
    campaign.demands.clear()
    session.flush()
    for position, item in enumerate(demands, start=1):
        demand = Demand(position=position)
        for locale, (title, body) in item.texts.items():
            if locale not in LANGUAGES:
                raise ValueError(f"unknown language {locale!r}")
            demand.texts.append(DemandText(locale=locale, title=title.strip(), body=body.strip()))
        campaign.demands.append(demand)
    session.flush()
    return list(campaign.demands)


def missing_for_publish(campaign: Campaign) -> list[Missing]:
    """Everything that must be filled in, in every language, before publishing."""
    missing: list[Missing] = []
    for locale in LANGUAGES:
        text = campaign.text(locale)
        for field in ("title", "summary", "body"):
            value = getattr(text, "body_md" if field == "body" else field, "") if text else ""
            if not (value or "").strip():
                missing.append(Missing(locale, field))
        for demand in campaign.demands:
            dtext = demand.text(locale)
            if not dtext or not dtext.title.strip():
                missing.append(Missing(locale, "demand_title", demand.position))
            if not dtext or not dtext.body.strip():
                missing.append(Missing(locale, "demand_body", demand.position))
    return missing


class NotReady(ValueError):
    """Publishing refused: ``missing`` lists what each language still lacks."""

    def __init__(self, missing: list[Missing]):
        super().__init__("campaign is incomplete")
        self.missing = missing


def change_state(session: Session, campaign: Campaign, new: CampaignState) -> Campaign:
    """Move a campaign through draft → published → closed → archived."""
    campaign.state.check(new)
    if new == CampaignState.published:
        missing = missing_for_publish(campaign)
        if missing:
            raise NotReady(missing)
        campaign.published_at = campaign.published_at or utcnow()
        campaign.closed_at = None
    elif new == CampaignState.closed:
        campaign.closed_at = utcnow()
    campaign.state = new
    session.flush()
    return campaign


def close_expired(session: Session) -> int:
    """Close every published campaign whose close date has passed."""
    expired = session.scalars(
        sa.select(Campaign).where(Campaign.state == CampaignState.published, Campaign.closes_at <= utcnow())
    ).all()
    for campaign in expired:
        close(session, None, campaign)
    return len(expired)


def get_by_slug(session: Session, slug: str, *, lean: bool = False) -> Campaign | None:
    """The campaign at ``slug``. ``lean`` leaves its texts and demands unloaded until
    something reads them (signing needs neither)."""
    if "\x00" in slug:  # no slug has one, and PostgreSQL refuses NUL in a query
        return None
    query = sa.select(Campaign).where(Campaign.slug == slug)
    if lean:
        query = query.options(lazyload(Campaign.texts), lazyload(Campaign.demands))
    return session.scalar(query)


def public_campaigns(session: Session) -> list[Campaign]:
    """Campaigns the public may see on the home page: open first, then closed."""
    return list(
        session.scalars(
            sa.select(Campaign)
            .where(Campaign.state.in_([CampaignState.published, CampaignState.closed]))
            .order_by(Campaign.state.desc(), Campaign.published_at.desc())
        )
    )


# The states in which a campaign is seen by the public (its page, the API, the embeds),
# once it has been published: a draft archived without ever being published never was.
PUBLIC_STATES = (CampaignState.published, CampaignState.closed, CampaignState.archived)


def is_public(campaign: Campaign) -> bool:
    return campaign.state in PUBLIC_STATES and campaign.published_at is not None


def public_criterion() -> sa.ColumnElement[bool]:
    """``is_public`` as a WHERE clause."""
    return sa.and_(Campaign.state.in_(PUBLIC_STATES), Campaign.published_at.is_not(None))


# --- editing in the workspace ---

@dataclass(frozen=True)
class TextInput:
    """One language's texts, as typed (Markdown body)."""

    title: str = ""
    summary: str = ""
    body_md: str = ""
    share_text: str = ""


@dataclass(frozen=True)
class CampaignChanges:
    """Everything the edit page sets. ``slug`` is only honoured while a draft: once a
    campaign is public its address is in people's messages and must not move."""

    texts: dict[str, TextInput]
    demands: list[DemandInput] = field(default_factory=list)
    hashtag: str | None = None
    goal: int | None = None
    closes_at: dt.datetime | None = None
    digits: Digits = Digits.latn
    retention_days: int | None = None
    slug: str | None = None


def _text_tuple(campaign: Campaign, locale: str) -> TextInput:
    text = campaign.text(locale)
    if text is None:
        return TextInput()
    return TextInput(text.title, text.summary, text.body_md, text.share_text)


def _demand_tuples(campaign: Campaign) -> list[dict[str, tuple[str, str]]]:
    result = []
    for demand in campaign.demands:
        texts = {}
        for locale in LANGUAGES:
            dtext = demand.text(locale)
            texts[locale] = (dtext.title, dtext.body) if dtext else ("", "")
        result.append(texts)
    return result


def _clean(text: TextInput) -> TextInput:
    # set_text strips these; compare like with like so an unchanged form is no change.
    return TextInput(text.title.strip(), text.summary.strip(), text.body_md, text.share_text.strip())


def save(session: Session, actor: Organiser | None, campaign: Campaign, changes: CampaignChanges) -> list[str]:
    """Apply the edit page to a campaign; returns the names of what changed
    ("ar.title", "demands", "goal", …), which also go to the audit log.

    A draft may be saved half-finished. A published or closed campaign is public,
    so a save that would leave a language incomplete raises NotReady (roll back)."""
    _authorise(actor, Permission.edit_campaigns, campaign)
    if campaign.state == CampaignState.archived:
        raise CampaignLocked(campaign.slug)
    changed: list[str] = []

    if changes.slug is not None and campaign.state == CampaignState.draft and changes.slug != campaign.slug:
        if not SLUG_RE.match(changes.slug):
            raise ValueError("slug must be lowercase letters, digits and hyphens")
        if get_by_slug(session, changes.slug) is not None:
            raise SlugTaken(changes.slug)
        campaign.slug = changes.slug
        changed.append("slug")

    for locale in LANGUAGES:
        new = _clean(changes.texts.get(locale, TextInput()))
        old = _text_tuple(campaign, locale)
        if new == old:
            continue
        for name in ("title", "summary", "body_md", "share_text"):
            if getattr(new, name) != getattr(old, name):
                changed.append(f"{locale}.{name.removesuffix('_md')}")
        set_text(session, campaign, locale, title=new.title, summary=new.summary,
                          body_md=new.body_md, share_text=new.share_text)

    wanted = [
        {locale: (d.texts.get(locale, ("", ""))[0].strip(), d.texts.get(locale, ("", ""))[1].strip())
         for locale in LANGUAGES}
        for d in changes.demands
    ]
    if wanted != _demand_tuples(campaign):
        set_demands(session, campaign, [DemandInput(texts) for texts in wanted])
        changed.append("demands")

    settings = {
        "hashtag": normalise_hashtag(changes.hashtag),
        "goal": changes.goal,
        "closes_at": changes.closes_at,
        "digits": changes.digits,
    }
    # How long signers' details are kept is the owners' decision (the editor page
    # shows the field only to them); an editor's save leaves it as it is.
    if actor is None or allowed(actor, Permission.manage_retention, campaign.organisation_id):
        settings["retention_days"] = changes.retention_days
    for name, value in settings.items():
        if getattr(campaign, name) != value:
            setattr(campaign, name, value)
            changed.append(name)

    if campaign.state != CampaignState.draft:
        missing = missing_for_publish(campaign)
        if missing:
            raise NotReady(missing)
    session.flush()
    if changed:
        _changed(session, actor, "campaign.edit", campaign, fields=changed)
    return changed


def _authorise(actor: Organiser | None, permission: Permission, campaign: Campaign) -> None:
    if actor is not None:
        require_campaign(actor, permission, campaign)


def _changed(session: Session, actor: Organiser | None, action: str, campaign: Campaign, **detail) -> None:
    """Every operation that changes what the public sees of a campaign (create,
    edit, publish, close, reopen, archive) ends here: its ``updated_at`` (the API's
    Last-Modified) moves, and the organiser's action is audited."""
    campaign.updated_at = utcnow()
    session.flush()
    # The audit log answers "which organiser did this"; the platform's own steps
    # (the demo, the hourly close of expired campaigns) are not organiser actions.
    if actor is not None:
        audit.record(session, actor, action, campaign=campaign, **detail)


def publish(session: Session, actor: Organiser | None, campaign: Campaign) -> Campaign:
    """Publish a draft. Raises NotReady (with the list of what is missing) until
    every language is complete, TransitionError from any other state."""
    _authorise(actor, Permission.edit_campaigns, campaign)
    change_state(session, campaign, CampaignState.published)
    _changed(session, actor, "campaign.publish", campaign)
    return campaign


def close(session: Session, actor: Organiser | None, campaign: Campaign) -> Campaign:
    """Stop taking signatures now; the page stays up with its count."""
    _authorise(actor, Permission.edit_campaigns, campaign)
    change_state(session, campaign, CampaignState.closed)
    _changed(session, actor, "campaign.close", campaign)
    return campaign


def reopen(session: Session, actor: Organiser | None, campaign: Campaign) -> Campaign:
    """Take signatures again after closing. Refused while the close date lies in the
    past: the hourly job would close it again at once."""
    _authorise(actor, Permission.edit_campaigns, campaign)
    if campaign.state == CampaignState.closed and campaign.closes_at is not None and campaign.closes_at <= utcnow():
        raise CloseDatePassed(campaign.slug)
    change_state(session, campaign, CampaignState.published)
    _changed(session, actor, "campaign.reopen", campaign)
    return campaign


def archive(session: Session, actor: Organiser | None, campaign: Campaign) -> Campaign:
    """Archive a draft or closed campaign for good: it can no longer be edited or
    reopened (owners only, as for the rest of the data's lifecycle)."""
    _authorise(actor, Permission.manage_retention, campaign)
    change_state(session, campaign, CampaignState.archived)
    _changed(session, actor, "campaign.archive", campaign)
    return campaign
