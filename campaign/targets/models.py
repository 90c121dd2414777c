"""Targets: the people and bodies a campaign is addressed to, the campaign's letter,
and the letters signers send them through the platform."""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.privacy.keys import utcnow
from campaign.states import StateEnum, enum_type


class TargetKind(str, enum.Enum):
    embassy = "embassy"
    un = "un"
    ministry = "ministry"
    parliament = "parliament"
    media = "media"
    ngo = "ngo"

    @property
    def title(self) -> str:
        return str(
            {
                "embassy": _l("Embassy"),
                "un": _l("UN body or office"),
                "ministry": _l("Ministry"),
                "parliament": _l("Parliament"),
                "media": _l("Media"),
                "ngo": _l("NGO"),
            }[self.value]
        )


class Target(db.Model):
    """One entry of an organisation's directory: whom its campaigns may address."""

    __tablename__ = "targets"
    # The code is how a CSV import recognises a target it already holds.
    __table_args__ = (sa.UniqueConstraint("organisation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[TargetKind] = mapped_column(enum_type(TargetKind))
    # {locale: name}, one per language in LANGUAGES.
    names: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    country: Mapped[str | None] = mapped_column(sa.String(2))
    # The language letters and deliveries are written in; None: every language.
    language: Mapped[str | None] = mapped_column(sa.String(8))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    x_handle: Mapped[str | None] = mapped_column(sa.String(50))
    bluesky_handle: Mapped[str | None] = mapped_column(sa.String(253))
    contact_url: Mapped[str | None] = mapped_column(sa.String(500))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    postal_address: Mapped[str | None] = mapped_column(sa.Text)
    # The body petitioned may itself be the danger: it never receives a signer's name.
    never_send_names: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def name_in(self, lang: str) -> str:
        return self.names.get(lang) or next((n for n in self.names.values() if n), self.code)


class CampaignTarget(db.Model):
    """A target a campaign is addressed to, and how fast letters may reach it."""

    __tablename__ = "campaign_targets"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("targets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    # Platform letters are spread out: at most this many an hour reach the target.
    letters_per_hour: Mapped[int] = mapped_column(default=30, server_default="30")
    # The next free slot in the target's schedule (moved by every queued letter).
    next_slot_at: Mapped[dt.datetime | None]

    campaign: Mapped[Campaign] = relationship()
    target: Mapped[Target] = relationship(lazy="joined")


class LetterText(db.Model):
    """The campaign's letter in one language; ``{name}``, ``{country}`` and
    ``{target}`` are filled in for each letter."""

    __tablename__ = "letter_texts"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(sa.String(8))
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")


class LetterState(StateEnum):
    queued = "queued"
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"

    @classmethod
    def transitions(cls):
        return {cls.queued: {cls.sent, cls.failed, cls.cancelled}, cls.sent: set(), cls.failed: set(),
                cls.cancelled: set()}


class Letter(db.Model):
    """A letter a confirmed signer had the platform send to one target."""

    __tablename__ = "letters"
    # One letter per signer per target: the database decides.
    __table_args__ = (
        sa.UniqueConstraint("signature_id", "target_id"),
        sa.Index("ix_letters_campaign_target", "campaign_id", "target_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("targets.id", ondelete="CASCADE"))
    # Erasing a signature leaves the letter counted but no longer linked to anyone.
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signatures.id", ondelete="SET NULL"))
    state: Mapped[LetterState] = mapped_column(enum_type(LetterState), default=LetterState.queued)
    locale: Mapped[str] = mapped_column(sa.String(8))
    # What the signer agreed the target may see, for this letter.
    with_name: Mapped[bool] = mapped_column(default=False)
    with_reply_to: Mapped[bool] = mapped_column(default=False)
    outbox_message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outbox_messages.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    scheduled_for: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]

    target: Mapped[Target] = relationship()


class DeliveryState(StateEnum):
    queued = "queued"
    sent = "sent"
    failed = "failed"
    # The receiving server refused the address for good.
    bounced = "bounced"

    @classmethod
    def transitions(cls):
        return {cls.queued: {cls.sent, cls.failed, cls.bounced}, cls.sent: {cls.bounced}, cls.failed: set(),
                cls.bounced: set()}

    @property
    def title(self) -> str:
        return str({"queued": _l("Queued"), "sent": _l("Sent"), "failed": _l("Failed"),
                    "bounced": _l("Bounced")}[self.value])


class Delivery(db.Model):
    """The campaign delivered by its organisers to one target: the text, the
    confirmed count and the names of those who chose to be named."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.Index("ix_deliveries_campaign_state", "campaign_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("targets.id", ondelete="CASCADE"))
    state: Mapped[DeliveryState] = mapped_column(enum_type(DeliveryState), default=DeliveryState.queued)
    # The languages it was written in, e.g. "ar" or "ar,en".
    languages: Mapped[str] = mapped_column(sa.String(32))
    verified_count: Mapped[int] = mapped_column(default=0)
    named_count: Mapped[int] = mapped_column(default=0)
    outbox_message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outbox_messages.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    scheduled_for: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))

    target: Mapped[Target] = relationship()


class TargetResponse(db.Model):
    """A target's answer to a campaign, as its organisers recorded it."""

    __tablename__ = "target_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("targets.id", ondelete="CASCADE"))
    received_on: Mapped[dt.date] = mapped_column(sa.Date)
    # {locale: text}: what they said, in each language.
    texts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    url: Mapped[str | None] = mapped_column(sa.String(500))
    # Positions ("Demand 2") of the campaign's demands the answer addresses: the
    # editor replaces demand rows on every save, their numbers are what people see.
    demand_positions: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    target: Mapped[Target] = relationship()


class Outcome(str, enum.Enum):
    met = "met"
    partly_met = "partly_met"
    not_met = "not_met"

    @property
    def title(self) -> str:
        return str({"met": _l("Met"), "partly_met": _l("Partly met"), "not_met": _l("Not met")}[self.value])


class DemandOutcome(db.Model):
    """What became of one demand (by its number in the campaign), and since when."""

    __tablename__ = "demand_outcomes"

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    outcome: Mapped[Outcome] = mapped_column(enum_type(Outcome))
    decided_on: Mapped[dt.date] = mapped_column(sa.Date)
