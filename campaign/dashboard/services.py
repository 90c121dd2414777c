"""The dashboard's numbers, and the page-view counter.

Organisers see full counts (no small-number folding as on the public page), but
never anything about a person: every query here groups and counts.

Days are UTC calendar days, bucketed in SQL with a function that exists on both
SQLite (date() → 'YYYY-MM-DD' text) and PostgreSQL (CAST … AS DATE → date).
"""
from __future__ import annotations

import atexit
import datetime as dt
import logging
import re
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from campaign.amplify.share import CHANNEL_BY_REFERRAL
from campaign.campaigns.models import Campaign
from campaign.campaigns.page import PageView
from campaign.dashboard.models import CampaignDailyView, ReferralDailyView
from campaign.extensions import db
from campaign.privacy.keys import utcnow
from campaign.signatures.models import Signature, SignatureState

log = logging.getLogger(__name__)

# A signature that was made (still waiting, confirmed, or since withdrawn). Invalidated
# ones were judged fraudulent by a moderator and count nowhere.
SIGNED_STATES = (SignatureState.pending, SignatureState.verified, SignatureState.withdrawn)
# Beyond this many days the daily chart is drawn by week.
MAX_DAILY_BUCKETS = 92
DIRECT = "direct"


# --- page views ---

# Link-preview fetchers and crawlers: their visits are not people reading the page.
_NOT_A_READER = re.compile(
    r"bot\b|bot/|crawler|spider|slurp|facebookexternalhit|embedly|preview|headless|curl/|wget/|python-requests",
    re.IGNORECASE,
)


def _upsert_views(connection: sa.Connection, counts: dict[tuple[int, dt.date], int]) -> None:
    table = CampaignDailyView.__table__
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.campaign_id, table.c.day],
        set_={"views": table.c.views + stmt.excluded.views},
    )
    rows = [{"campaign_id": cid, "day": day, "views": n} for (cid, day), n in sorted(counts.items())]
    connection.execute(stmt, rows)


def _upsert_referral_views(connection: sa.Connection, counts: dict[tuple[int, dt.date, str], int]) -> None:
    table = ReferralDailyView.__table__
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.campaign_id, table.c.day, table.c.referral],
        set_={"views": table.c.views + stmt.excluded.views},
    )
    rows = [{"campaign_id": cid, "day": day, "referral": ref, "views": n}
            for (cid, day, ref), n in sorted(counts.items())]
    connection.execute(stmt, rows)


class ViewCounter:
    """Counts page views in memory and writes them with one upsert per campaign and
    day every ``interval`` seconds, so a campaign going viral does not turn every
    page view into a write on one hot row. Interval 0 writes at once (tests).

    A crash loses at most ``interval`` seconds of views: they are statistics."""

    def __init__(self, app: Flask, interval: float):
        self.app = app
        self.interval = interval
        self.counts: Counter[tuple[int, dt.date]] = Counter()
        # The same views again, by the share link's ?ref= code, for those that had one.
        self.referrals: Counter[tuple[int, dt.date, str]] = Counter()
        self.lock = threading.Lock()
        self.last_flush = time.monotonic()
        _LIVE_COUNTERS.add(self)

    def add(self, campaign_id: int, day: dt.date, referral: str | None = None) -> None:
        with self.lock:
            self.counts[(campaign_id, day)] += 1
            if referral:
                self.referrals[(campaign_id, day, referral)] += 1
            due = time.monotonic() - self.last_flush >= self.interval
        if due:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            counts, self.counts = self.counts, Counter()
            referrals, self.referrals = self.referrals, Counter()
            self.last_flush = time.monotonic()
        if not counts:
            return
        try:
            with self.app.app_context(), db.engine.begin() as connection:
                _upsert_views(connection, counts)
                if referrals:
                    _upsert_referral_views(connection, referrals)
        except Exception:  # a statistic must never break the public page
            log.exception("could not store %d page-view counts", sum(counts.values()))


_LIVE_COUNTERS: weakref.WeakSet[ViewCounter] = weakref.WeakSet()


@atexit.register
def _flush_all_at_exit() -> None:
    # A worker stopping (deploy, restart) writes what it has counted.
    for counter in list(_LIVE_COUNTERS):
        counter.flush()


def _counter(app: Flask) -> ViewCounter:
    counter = app.extensions.get("sawt_view_counter")
    if counter is None:
        counter = app.extensions["sawt_view_counter"] = ViewCounter(app, app.config["VIEW_COUNT_FLUSH_SECONDS"])
    return counter


def count_view(app: Flask, view: PageView) -> None:
    """Count one view of the public campaign page (an on_public_view listener: it
    runs for every reader, often with no request context). HEAD requests and known
    link-preview fetchers and crawlers are not counted."""
    if view.method != "GET" or _NOT_A_READER.search(view.user_agent):
        return
    _counter(app).add(view.campaign_id, utcnow().date(), view.referral or None)


def flush_views() -> None:
    """Write buffered view counts now (the dashboard does, before reading)."""
    counter = current_app.extensions.get("sawt_view_counter")
    if counter is not None:
        counter.flush()


def record_views(session: Session, campaign: Campaign, day: dt.date, views: int) -> None:
    """Add ``views`` for a day directly (imports, tests); flushes, never commits."""
    _upsert_views(session.connection(), {(campaign.id, day): views})
    session.flush()


# --- aggregates ---

def _day_of(session: Session, column):
    if session.get_bind().dialect.name == "sqlite":
        return sa.func.date(column)
    return sa.cast(column, sa.Date)


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class DayRow:
    """One day (or week): page views, and the signatures made that day by what
    became of them so far."""

    day: dt.date
    views: int = 0
    signed: int = 0
    verified: int = 0
    pending: int = 0
    confirmed_total: int = 0  # confirmed signatures up to the end of this day (by confirmation time)


def daily(session: Session, campaign: Campaign, *, today: dt.date | None = None) -> list[DayRow]:
    """Every day from the first activity (or publication) to today (or closing),
    without gaps, so the chart's time axis is true."""
    today = today or utcnow().date()
    signed_day = _day_of(session, Signature.created_at)
    rows = session.execute(
        sa.select(signed_day, Signature.state, sa.func.count())
        .where(Signature.campaign_id == campaign.id, Signature.state.in_(SIGNED_STATES))
        .group_by(signed_day, Signature.state)
    ).all()
    verified_day = _day_of(session, Signature.verified_at)
    confirmations = session.execute(
        sa.select(verified_day, sa.func.count())
        .where(Signature.campaign_id == campaign.id, Signature.state == SignatureState.verified,
               Signature.verified_at.is_not(None))
        .group_by(verified_day)
    ).all()
    views = session.execute(
        sa.select(CampaignDailyView.day, CampaignDailyView.views).where(CampaignDailyView.campaign_id == campaign.id)
    ).all()

    by_day: dict[dt.date, dict[str, int]] = {}

    def bucket(day) -> dict[str, int]:
        return by_day.setdefault(_as_date(day), {"views": 0, "signed": 0, "verified": 0, "pending": 0, "confirmed": 0})

    for day, state, n in rows:
        b = bucket(day)
        b["signed"] += n
        if state == SignatureState.verified:
            b["verified"] += n
        elif state == SignatureState.pending:
            b["pending"] += n
    for day, n in confirmations:
        bucket(day)["confirmed"] += n
    for day, n in views:
        bucket(day)["views"] += n

    bounds = set(by_day)
    if campaign.published_at:
        bounds.add(campaign.published_at.date())
    if not bounds:
        return []
    end = today
    if campaign.closed_at and campaign.state.value != "published":
        end = min(today, campaign.closed_at.date())
    first, last = min(bounds), max(max(bounds), end)

    result = []
    running = 0
    day = first
    while day <= last:
        b = by_day.get(day, {})
        running += b.get("confirmed", 0)
        result.append(DayRow(day, b.get("views", 0), b.get("signed", 0), b.get("verified", 0), b.get("pending", 0), running))
        day += dt.timedelta(days=1)
    return result


def by_week(days: list[DayRow]) -> list[DayRow]:
    """Fold daily rows into weeks starting on Monday (for campaigns that run long)."""
    weeks: dict[dt.date, DayRow] = {}
    for row in days:
        start = row.day - dt.timedelta(days=row.day.weekday())
        prev = weeks.get(start)
        if prev is None:
            weeks[start] = DayRow(start, row.views, row.signed, row.verified, row.pending, row.confirmed_total)
        else:
            weeks[start] = DayRow(start, prev.views + row.views, prev.signed + row.signed,
                                  prev.verified + row.verified, prev.pending + row.pending, row.confirmed_total)
    return [weeks[k] for k in sorted(weeks)]


@dataclass(frozen=True)
class Ranked:
    """The top rows, largest first, and the rest summed as 'other'."""

    rows: list[tuple[str, int]]
    other: int
    unknown: int = 0

    @property
    def total(self) -> int:
        return sum(n for _, n in self.rows) + self.other + self.unknown


def by_country(session: Session, campaign: Campaign, *, top: int = 10) -> Ranked:
    """Confirmed signatures by country (ISO code), the ``top`` largest, then other."""
    rows = session.execute(
        sa.select(Signature.country, sa.func.count())
        .where(Signature.campaign_id == campaign.id, Signature.state == SignatureState.verified)
        .group_by(Signature.country)
    ).all()
    known = sorted(((c, n) for c, n in rows if c), key=lambda r: (-r[1], r[0]))
    unknown = sum(n for c, n in rows if not c)
    return Ranked(known[:top], sum(n for _, n in known[top:]), unknown)


@dataclass(frozen=True)
class ChannelRow:
    channel: str  # "whatsapp", …, "direct", or an organiser's own ?ref= code
    signed: int
    verified: int
    # Page views through this channel's links (none are counted for "direct").
    views: int = 0


def by_channel(session: Session, campaign: Campaign) -> list[ChannelRow]:
    """Signatures (and how many are confirmed) by the share channel that brought
    the signer, from the ?ref= code of the link they followed."""
    rows = session.execute(
        sa.select(Signature.referral, Signature.state, sa.func.count())
        .where(Signature.campaign_id == campaign.id, Signature.state.in_(SIGNED_STATES))
        .group_by(Signature.referral, Signature.state)
    ).all()
    signed: Counter[str] = Counter()
    verified: Counter[str] = Counter()
    for referral, state, n in rows:
        channel = CHANNEL_BY_REFERRAL.get(referral, referral) if referral else DIRECT
        signed[channel] += n
        if state == SignatureState.verified:
            verified[channel] += n
    views: Counter[str] = Counter()
    for referral, n in session.execute(
        sa.select(ReferralDailyView.referral, sa.func.sum(ReferralDailyView.views))
        .where(ReferralDailyView.campaign_id == campaign.id)
        .group_by(ReferralDailyView.referral)
    ).all():
        views[CHANNEL_BY_REFERRAL.get(referral, referral)] += n
    return sorted(
        (ChannelRow(c, signed[c], verified[c], views[c]) for c in set(signed) | set(views)),
        key=lambda r: (-r.signed, r.channel == DIRECT, r.channel),
    )


@dataclass(frozen=True)
class Funnel:
    views: int
    signed: int
    verified: int

    @staticmethod
    def rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def signed_per_view(self) -> float | None:
        return self.rate(self.signed, self.views)

    @property
    def verified_per_signed(self) -> float | None:
        return self.rate(self.verified, self.signed)


def funnel(session: Session, campaign: Campaign) -> Funnel:
    """Page views → signatures → confirmed signatures, since the campaign began."""
    views = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CampaignDailyView.views), 0))
        .where(CampaignDailyView.campaign_id == campaign.id)
    )
    counts = dict(
        session.execute(
            sa.select(Signature.state, sa.func.count())
            .where(Signature.campaign_id == campaign.id, Signature.state.in_(SIGNED_STATES))
            .group_by(Signature.state)
        ).all()
    )
    return Funnel(int(views or 0), sum(counts.values()), counts.get(SignatureState.verified, 0))
