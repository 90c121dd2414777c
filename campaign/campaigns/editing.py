"""What organisers do to campaigns in the workspace: create, edit, publish, close,
reopen, archive. Each operation checks the organiser's permission, changes the
campaign through campaigns.services, and writes an audit entry in the same
transaction. Plain values in, objects out; callers commit (or roll back on error).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from campaign.campaigns import services
from campaign.campaigns.models import Campaign, CampaignKind, CampaignState, Digits
from campaign.campaigns.services import DemandInput, NotReady
from campaign.i18n import LANGUAGES
from campaign.organiser import audit
from campaign.organiser.access import Permission, allowed, require, require_campaign
from campaign.organiser.models import Organiser
from campaign.privacy.keys import utcnow


class SlugTaken(ValueError):
    """Another campaign already has this address."""


class CampaignLocked(ValueError):
    """Archived campaigns are kept as they were: no more edits."""


class CloseDatePassed(ValueError):
    """Reopening would close the campaign again at once: move the close date first."""


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


def create(
    session: Session,
    actor: Organiser,
    *,
    organisation_id: int,
    kind: CampaignKind,
    slug: str,
) -> Campaign:
    """Start a draft campaign for an organisation the actor may edit for."""
    require(actor, Permission.edit_campaigns, organisation_id)
    if services.get_by_slug(session, slug) is not None:
        raise SlugTaken(slug)
    campaign = services.create_campaign(session, slug=slug, kind=kind, organisation_id=organisation_id)
    audit.record(session, actor, "campaign.create", campaign=campaign, slug=slug, kind=kind.value)
    return campaign


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


def save(session: Session, actor: Organiser, campaign: Campaign, changes: CampaignChanges) -> list[str]:
    """Apply the edit page to a campaign; returns the names of what changed
    ("ar.title", "demands", "goal", …), which also go to the audit log.

    A draft may be saved half-finished. A published or closed campaign is public,
    so a save that would leave a language incomplete raises NotReady (roll back)."""
    require_campaign(actor, Permission.edit_campaigns, campaign)
    if campaign.state == CampaignState.archived:
        raise CampaignLocked(campaign.slug)
    changed: list[str] = []

    if changes.slug is not None and campaign.state == CampaignState.draft and changes.slug != campaign.slug:
        if not services.SLUG_RE.match(changes.slug):
            raise ValueError("slug must be lowercase letters, digits and hyphens")
        if services.get_by_slug(session, changes.slug) is not None:
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
        services.set_text(session, campaign, locale, title=new.title, summary=new.summary,
                          body_md=new.body_md, share_text=new.share_text)

    wanted = [
        {locale: (d.texts.get(locale, ("", ""))[0].strip(), d.texts.get(locale, ("", ""))[1].strip())
         for locale in LANGUAGES}
        for d in changes.demands
    ]
    if wanted != _demand_tuples(campaign):
        services.set_demands(session, campaign, [DemandInput(texts) for texts in wanted])
        changed.append("demands")

    settings = {
        "hashtag": services.normalise_hashtag(changes.hashtag),
        "goal": changes.goal,
        "closes_at": changes.closes_at,
        "digits": changes.digits,
    }
    # How long signers' details are kept is the owners' decision (the editor page
    # shows the field only to them); an editor's save leaves it as it is.
    if allowed(actor, Permission.manage_retention, campaign.organisation_id):
        settings["retention_days"] = changes.retention_days
    for name, value in settings.items():
        if getattr(campaign, name) != value:
            setattr(campaign, name, value)
            changed.append(name)

    if campaign.state != CampaignState.draft:
        missing = services.missing_for_publish(campaign)
        if missing:
            raise NotReady(missing)
    session.flush()
    if changed:
        audit.record(session, actor, "campaign.edit", campaign=campaign, fields=changed)
    return changed


def publish(session: Session, actor: Organiser, campaign: Campaign) -> Campaign:
    """Publish a draft. Raises NotReady (with the list of what is missing) until
    every language is complete, TransitionError from any other state."""
    require_campaign(actor, Permission.edit_campaigns, campaign)
    services.publish(session, campaign)
    audit.record(session, actor, "campaign.publish", campaign=campaign)
    return campaign


def close(session: Session, actor: Organiser, campaign: Campaign) -> Campaign:
    """Stop taking signatures now; the page stays up with its count."""
    require_campaign(actor, Permission.edit_campaigns, campaign)
    services.close(session, campaign)
    audit.record(session, actor, "campaign.close", campaign=campaign)
    return campaign


def reopen(session: Session, actor: Organiser, campaign: Campaign) -> Campaign:
    """Take signatures again after closing. Refused while the close date lies in the
    past: the nightly job would close it again at once."""
    require_campaign(actor, Permission.edit_campaigns, campaign)
    if campaign.state == CampaignState.closed and campaign.closes_at is not None and campaign.closes_at <= utcnow():
        raise CloseDatePassed(campaign.slug)
    services.change_state(session, campaign, CampaignState.published)
    audit.record(session, actor, "campaign.reopen", campaign=campaign)
    return campaign


def archive(session: Session, actor: Organiser, campaign: Campaign) -> Campaign:
    """Archive a draft or closed campaign for good: it can no longer be edited or
    reopened (owners only, as for the rest of the data's lifecycle)."""
    require_campaign(actor, Permission.manage_retention, campaign)
    services.archive(session, campaign)
    audit.record(session, actor, "campaign.archive", campaign=campaign)
    return campaign
