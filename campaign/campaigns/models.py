from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from campaign.extensions import db
from campaign.privacy.keys import utcnow
from campaign.states import StateEnum, enum_type

if TYPE_CHECKING:
    from campaign.organiser.models import Organisation


class CampaignKind(str, enum.Enum):
    petition = "petition"
    appeal = "appeal"
    statement = "statement"

    @property
    def title(self) -> str:
        return str({"petition": _l("Petition"), "appeal": _l("Appeal"), "statement": _l("Statement")}[self.value])


class CampaignState(StateEnum):
    draft = "draft"
    published = "published"
    closed = "closed"
    archived = "archived"

    @classmethod
    def transitions(cls):
        return {
            cls.draft: {cls.published, cls.archived},
            cls.published: {cls.closed},
            cls.closed: {cls.published, cls.archived},
            cls.archived: set(),
        }

    @property
    def title(self) -> str:
        return str(
            {
                "draft": _l("Draft"),
                "published": _l("Open for signatures"),
                "closed": _l("Closed"),
                "archived": _l("Archived"),
            }[self.value]
        )


class Digits(str, enum.Enum):
    latn = "latn"  # 0123456789
    arab = "arab"  # ٠١٢٣٤٥٦٧٨٩


class Campaign(db.Model):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[CampaignKind] = mapped_column(enum_type(CampaignKind))
    state: Mapped[CampaignState] = mapped_column(enum_type(CampaignState), default=CampaignState.draft)
    hashtag: Mapped[str | None] = mapped_column(sa.String(100))
    goal: Mapped[int | None]
    closes_at: Mapped[dt.datetime | None]
    digits: Mapped[Digits] = mapped_column(enum_type(Digits), default=Digits.latn)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    # The counts folded in so far. Each signature's state change adds a CountChange
    # row instead of updating this row (on which every signer of a campaign would
    # queue); the worker folds them in every second. verified_count and
    # pending_count (below) add what is not folded yet, so they are always exact.
    verified_folded: Mapped[int] = mapped_column("verified_count", default=0, server_default="0")
    pending_folded: Mapped[int] = mapped_column("pending_count", default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    # When what the public sees of the campaign last changed (texts, demands,
    # settings, state): the API's Last-Modified. Set by campaigns.services only;
    # signatures and counts do not move it.
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Signatures are anonymised this many days after the campaign closes (or is
    # archived); None means the site's RETENTION_DAYS. See campaign.retention.
    retention_days: Mapped[int | None]

    texts: Mapped[list[CampaignText]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", lazy="selectin"
    )
    demands: Mapped[list[Demand]] = relationship(
        back_populates="campaign",
        cascade="all, delete-orphan",
        order_by="Demand.position",
        lazy="selectin",
    )
    organisation: Mapped[Organisation | None] = relationship()

    def text(self, lang: str) -> CampaignText | None:
        return next((t for t in self.texts if t.locale == lang), None)

    def title_in(self, lang: str) -> str:
        """The title in ``lang``; a draft without one yet is named by its slug."""
        text = self.text(lang)
        return text.title if text and text.title else self.slug

    @property
    def is_open(self) -> bool:
        if self.state != CampaignState.published:
            return False
        return self.closes_at is None or self.closes_at > utcnow()


class CampaignText(db.Model):
    __tablename__ = "campaign_texts"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(sa.String(8))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    body_md: Mapped[str] = mapped_column(sa.Text, default="")
    # Rendered and sanitised once, on save, never at display time.
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    # The short text proposed when a signer shares the campaign.
    share_text: Mapped[str] = mapped_column(sa.String(280), default="")

    campaign: Mapped[Campaign] = relationship(back_populates="texts")


class Demand(db.Model):
    __tablename__ = "demands"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]

    campaign: Mapped[Campaign] = relationship(back_populates="demands")
    texts: Mapped[list[DemandText]] = relationship(
        back_populates="demand", cascade="all, delete-orphan", lazy="selectin"
    )

    def text(self, lang: str) -> DemandText | None:
        return next((t for t in self.texts if t.locale == lang), None)


class DemandText(db.Model):
    __tablename__ = "demand_texts"
    __table_args__ = (sa.UniqueConstraint("demand_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demands.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(sa.String(8))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")

    demand: Mapped[Demand] = relationship(back_populates="texts")


class CountChange(db.Model):
    """+1/−1 to a campaign's counts, from one signature's change of state."""

    __tablename__ = "campaign_count_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    verified: Mapped[int] = mapped_column(default=0)
    pending: Mapped[int] = mapped_column(default=0)


def _with_unfolded(folded, change_column):
    unfolded = (
        sa.select(sa.func.coalesce(sa.func.sum(change_column), 0))
        .where(CountChange.campaign_id == Campaign.id)
        .correlate_except(CountChange)
        .scalar_subquery()
    )
    return column_property(folded + unfolded)


# Loaded with the campaign in one query: what is folded plus what is not yet.
Campaign.verified_count = _with_unfolded(Campaign.verified_folded, CountChange.verified)
Campaign.pending_count = _with_unfolded(Campaign.pending_folded, CountChange.pending)
