"""What the API answers, read with as little as the answer needs."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign.campaigns.models import Campaign
from campaign.campaigns.services import PUBLIC_STATES
from campaign.privacy.keys import utcnow


@dataclass(frozen=True)
class Count:
    """A campaign's counts as of one moment."""

    slug: str
    state: str
    verified: int
    pending: int
    goal: int | None
    as_of: dt.datetime

    def as_json(self) -> dict:
        return {
            "slug": self.slug,
            "state": self.state,
            "verified": self.verified,
            "pending": self.pending,
            "goal": self.goal,
            "as_of": self.as_of.replace(tzinfo=dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }


def count_of(session: Session, slug: str) -> Count | None:
    """The counts of the public campaign at ``slug`` (one query, no texts), or None."""
    if "\x00" in slug:
        return None
    row = session.execute(
        sa.select(Campaign.slug, Campaign.state, Campaign.verified_count, Campaign.pending_count, Campaign.goal)
        .where(Campaign.slug == slug, Campaign.state.in_(PUBLIC_STATES))
    ).first()
    if row is None:
        return None
    return Count(row.slug, row.state.value, row.verified_count, row.pending_count, row.goal, utcnow())
