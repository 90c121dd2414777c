"""What the API answers, read with as little as each answer needs.

Only public campaigns (published, closed, or archived after being published) are
ever read, and nothing about any signer but the counts: no name, e-mail, hash or
country of anyone.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, defer, lazyload, selectinload

from campaign.campaigns.models import Campaign, CampaignState, Demand
from campaign.campaigns.services import public_criterion
from campaign.i18n import LANGUAGES
from campaign.organiser.models import Organisation
from campaign.privacy.keys import utcnow
from campaign.urls import MAX_ROW_ID, external_url

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
LIST_STATES = tuple(state.value for state in CampaignState if state != CampaignState.draft)


def timestamp(moment: dt.datetime | None) -> str | None:
    """A naive UTC datetime as the API writes it: RFC 3339, to the second, with Z."""
    if moment is None:
        return None
    return moment.replace(microsecond=0).isoformat() + "Z"


def parse_timestamp(text: str) -> dt.datetime:
    """The naive UTC datetime that ``timestamp`` wrote."""
    return dt.datetime.fromisoformat(text.removesuffix("Z"))


def now() -> dt.datetime:
    """The moment counts are read, to the second (what as_of and Last-Modified say)."""
    return utcnow().replace(microsecond=0)


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
            "as_of": timestamp(self.as_of),
        }


def _valid_slug(slug: str) -> bool:
    return "\x00" not in slug  # PostgreSQL refuses NUL in a query; no slug has one


def count_of(session: Session, slug: str) -> Count | None:
    """The counts of the public campaign at ``slug`` (one query, no texts), or None."""
    if not _valid_slug(slug):
        return None
    row = session.execute(
        sa.select(Campaign.slug, Campaign.state, Campaign.verified_count, Campaign.pending_count, Campaign.goal)
        .where(Campaign.slug == slug, public_criterion())
    ).first()
    if row is None:
        return None
    return Count(row.slug, row.state.value, row.verified_count, row.pending_count, row.goal, now())


# --- links ---

def _page_links(slug: str) -> dict[str, str]:
    return {lang: external_url("campaigns.show", lang_code=lang, slug=slug) for lang in LANGUAGES}


def _links(slug: str) -> dict:
    return {
        "self": external_url("api.campaign", slug=slug),
        "count": external_url("api.count", slug=slug),
        "snapshot": external_url("api.snapshot", slug=slug),
        "page": _page_links(slug),
    }


def _texts(campaign: Campaign, *fields: str) -> dict[str, dict[str, str]]:
    # Publishing requires every language, but a language added to the site later
    # may be missing from an older campaign: an empty string, never a gap.
    texts = {}
    for lang in LANGUAGES:
        text = campaign.text(lang)
        texts[lang] = {name: (getattr(text, name) or "") if text else "" for name in fields}
    return texts


def _summary_json(campaign: Campaign) -> dict:
    return {
        "slug": campaign.slug,
        "kind": campaign.kind.value,
        "state": campaign.state.value,
        "goal": campaign.goal,
        "hashtag": campaign.hashtag,
        "published_at": timestamp(campaign.published_at),
        "closes_at": timestamp(campaign.closes_at),
        "closed_at": timestamp(campaign.closed_at),
        "updated_at": timestamp(campaign.updated_at),
        "texts": _texts(campaign, "title", "summary"),
        "links": _links(campaign.slug),
    }


# --- the list ---

class InvalidCursor(ValueError):
    """A cursor this API did not hand out."""


@dataclass(frozen=True)
class CampaignPage:
    campaigns: list[dict]
    next_cursor: str | None
    # When any public campaign last changed: a page's content depends on no other
    # (a campaign leaving a state filter bumps its own updated_at).
    last_modified: dt.datetime | None


def _encode_cursor(campaign: Campaign) -> str:
    position = f"{campaign.published_at.isoformat()}|{campaign.id}"
    return base64.urlsafe_b64encode(position.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        moment, _, row_id = text.partition("|")
        position = dt.datetime.fromisoformat(moment).replace(tzinfo=None), int(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(cursor) from exc
    if not 0 < position[1] <= MAX_ROW_ID:
        raise InvalidCursor(cursor)
    return position


def campaign_page(session: Session, *, state: str | None = None, limit: int = DEFAULT_LIMIT,
                  cursor: str | None = None) -> CampaignPage:
    """Public campaigns, most recently published first, ``limit`` at a time; the
    next page starts after ``cursor`` (the previous page's ``next_cursor``).
    Raises InvalidCursor, or ValueError for a state or limit out of range."""
    if state is not None and state not in LIST_STATES:
        raise ValueError(f"state must be one of {LIST_STATES}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1 to {MAX_LIMIT}")
    query = (
        sa.select(Campaign)
        .where(public_criterion())
        .options(lazyload(Campaign.demands), defer(Campaign.verified_count), defer(Campaign.pending_count))
        .order_by(Campaign.published_at.desc(), Campaign.id.desc())
        .limit(limit + 1)
    )
    if state is not None:
        query = query.where(Campaign.state == CampaignState(state))
    if cursor is not None:
        published_at, row_id = decode_cursor(cursor)
        query = query.where(sa.or_(Campaign.published_at < published_at,
                                   sa.and_(Campaign.published_at == published_at, Campaign.id < row_id)))
    found = list(session.scalars(query))
    more = len(found) > limit
    found = found[:limit]
    last_modified = session.scalar(sa.select(sa.func.max(Campaign.updated_at)).where(public_criterion()))
    return CampaignPage(
        campaigns=[_summary_json(campaign) for campaign in found],
        next_cursor=_encode_cursor(found[-1]) if more else None,
        last_modified=last_modified,
    )


# --- one campaign ---

@dataclass(frozen=True)
class CampaignDocument:
    document: dict
    # The newer of the last edit and the moment the counts were read.
    last_modified: dt.datetime


def _organisation_json(organisation: Organisation | None) -> dict | None:
    if organisation is None:
        return None
    return {
        "name": {lang: organisation.name_in(lang) for lang in LANGUAGES},
        "page": {lang: external_url("organiser.organisation", lang_code=lang, slug=organisation.public_key)
                 for lang in LANGUAGES},
    }


def _demand_texts(demand: Demand) -> dict[str, dict[str, str]]:
    texts = {}
    for lang in LANGUAGES:
        text = demand.text(lang)
        texts[lang] = {"title": text.title if text else "", "body": text.body if text else ""}
    return texts


def campaign_document(session: Session, slug: str) -> CampaignDocument | None:
    """Everything public about the campaign at ``slug``: its texts in every language
    (the body as the sanitised HTML the page shows), demands, counts, settings and
    organisation; None if there is no such public campaign."""
    if not _valid_slug(slug):
        return None
    campaign = session.scalar(
        sa.select(Campaign).where(Campaign.slug == slug, public_criterion())
        .options(selectinload(Campaign.organisation))
    )
    if campaign is None:
        return None
    as_of = now()
    document = _summary_json(campaign)
    document["texts"] = _texts(campaign, "title", "summary", "body_html")
    document.update(
        verified=campaign.verified_count,
        pending=campaign.pending_count,
        as_of=timestamp(as_of),
        demands=[{"position": demand.position, "texts": _demand_texts(demand)} for demand in campaign.demands],
        organisation=_organisation_json(campaign.organisation),
    )
    return CampaignDocument(document, max(as_of, campaign.updated_at.replace(microsecond=0)))


def snapshot_of(session: Session, slug: str) -> dict | None:
    """What a signed snapshot states: the campaign, its counts and the moment they
    were read, on this site. None if there is no such public campaign."""
    if not _valid_slug(slug):
        return None
    campaign = session.scalar(
        sa.select(Campaign).where(Campaign.slug == slug, public_criterion()).options(lazyload(Campaign.demands))
    )
    if campaign is None:
        return None
    return {
        "type": "sawt.count-snapshot",
        "version": 1,
        "site": current_app.config["PUBLIC_URL"],
        "slug": campaign.slug,
        "titles": {lang: texts["title"] for lang, texts in _texts(campaign, "title").items()},
        "page": _page_links(campaign.slug),
        "state": campaign.state.value,
        "verified": campaign.verified_count,
        "pending": campaign.pending_count,
        "goal": campaign.goal,
        "as_of": timestamp(now()),
    }
