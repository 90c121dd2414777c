"""What the embeds show, read with as little as they need: a campaign's titles and
counts in one query, and its signatures by country in one grouped query.

Nothing here names a signer: counts only, and by country only where a country has
at least PUBLIC_BREAKDOWN_MIN signatures (the campaign page's rule)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign.campaigns.models import Campaign, CampaignState, CampaignText
from campaign.campaigns.services import PUBLIC_STATES
from campaign.privacy.keys import utcnow
from campaign.signatures.services import Breakdown, country_breakdown


@dataclass(frozen=True)
class CampaignFacts:
    """A public campaign as its embeds show it, as of one moment."""

    id: int
    slug: str
    state: str
    titles: dict[str, str]
    verified: int
    goal: int | None
    digits: str
    is_open: bool
    as_of: dt.datetime

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.slug


def facts_of(session: Session, slug: str) -> CampaignFacts | None:
    """The public campaign at ``slug``: its titles, count, goal and digits (one
    query: no body texts, no demands), or None."""
    if "\x00" in slug:  # PostgreSQL refuses NUL in a query; no slug has one
        return None
    rows = session.execute(
        sa.select(Campaign.id, Campaign.slug, Campaign.state, Campaign.verified_count, Campaign.goal,
                  Campaign.digits, Campaign.closes_at, CampaignText.locale, CampaignText.title)
        .outerjoin(CampaignText, CampaignText.campaign_id == Campaign.id)
        .where(Campaign.slug == slug, Campaign.state.in_(PUBLIC_STATES))
    ).all()
    if not rows:
        return None
    first = rows[0]
    now = utcnow()
    return CampaignFacts(
        id=first.id,
        slug=first.slug,
        state=first.state.value,
        titles={row.locale: row.title for row in rows if row.locale and row.title},
        verified=first.verified_count,
        goal=first.goal,
        digits=first.digits.value,
        is_open=first.state == CampaignState.published and (first.closes_at is None or first.closes_at > now),
        as_of=now,
    )


def countries_of(session: Session, campaign_id: int, minimum: int) -> Breakdown:
    """Confirmed signatures by country (one grouped query), countries under
    ``minimum`` merged into 'other'; see signatures.services.country_breakdown."""
    return country_breakdown(session, _Id(campaign_id), minimum)


@dataclass(frozen=True)
class _Id:
    """country_breakdown reads only the campaign's id: the embeds need not load it."""

    id: int
