"""Campaign operations: plain values in, objects out. Callers commit."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

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


def create_campaign(
    session: Session,
    *,
    slug: str,
    kind: CampaignKind,
    hashtag: str | None = None,
    goal: int | None = None,
    closes_at: dt.datetime | None = None,
    digits: Digits = Digits.latn,
    organisation_id: int | None = None,
) -> Campaign:
    """Create a draft campaign. The slug must be lowercase ASCII words joined by hyphens."""
    if not SLUG_RE.match(slug):
        raise ValueError("slug must be lowercase letters, digits and hyphens")
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


def publish(session: Session, campaign: Campaign) -> Campaign:
    return change_state(session, campaign, CampaignState.published)


def close(session: Session, campaign: Campaign) -> Campaign:
    return change_state(session, campaign, CampaignState.closed)


def archive(session: Session, campaign: Campaign) -> Campaign:
    return change_state(session, campaign, CampaignState.archived)


def close_expired(session: Session) -> int:
    """Close every published campaign whose close date has passed."""
    expired = session.scalars(
        sa.select(Campaign).where(Campaign.state == CampaignState.published, Campaign.closes_at <= utcnow())
    ).all()
    for campaign in expired:
        change_state(session, campaign, CampaignState.closed)
    return len(expired)


def get_by_slug(session: Session, slug: str) -> Campaign | None:
    if "\x00" in slug:  # no slug has one, and PostgreSQL refuses NUL in a query
        return None
    return session.scalar(sa.select(Campaign).where(Campaign.slug == slug))


def public_campaigns(session: Session) -> list[Campaign]:
    """Campaigns the public may see on the home page: open first, then closed."""
    return list(
        session.scalars(
            sa.select(Campaign)
            .where(Campaign.state.in_([CampaignState.published, CampaignState.closed]))
            .order_by(Campaign.state.desc(), Campaign.published_at.desc())
        )
    )


def is_public(campaign: Campaign) -> bool:
    return campaign.state in (CampaignState.published, CampaignState.closed, CampaignState.archived)
