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


class SignatureState(StateEnum):
    pending = "pending"
    verified = "verified"
    withdrawn = "withdrawn"
    invalidated = "invalidated"
    # Signed from a connection far past its allowance (a crowd, or a script), or
    # without the browser check: kept, never counted, until a moderator releases it
    # (to verified if its signer confirmed meanwhile, verified_at says so; else to
    # pending) or invalidates it. Like invalidated, it is a state outside the counts.
    held = "held"

    @classmethod
    def transitions(cls):
        return {
            cls.pending: {cls.verified, cls.withdrawn, cls.invalidated, cls.held},
            cls.verified: {cls.withdrawn, cls.invalidated},
            cls.invalidated: {cls.verified, cls.pending, cls.withdrawn},
            # A withdrawn signer may sign again with the same address.
            cls.withdrawn: {cls.pending},
            cls.held: {cls.verified, cls.pending, cls.invalidated, cls.withdrawn},
        }

    @property
    def title(self) -> str:
        return str(
            {
                "pending": _l("Awaiting confirmation"),
                "verified": _l("Confirmed"),
                "withdrawn": _l("Withdrawn"),
                "invalidated": _l("Invalidated"),
                "held": _l("Held for review"),
            }[self.value]
        )


class Visibility(str, enum.Enum):
    """What the public may see of a signer. Counted-only is the default."""

    counted = "counted"
    initials = "initials"
    full_name = "full_name"

    @property
    def title(self) -> str:
        return str(
            {
                "counted": _l("Count me only — show nothing about me"),
                "initials": _l("Show my initials and country"),
                "full_name": _l("Show my full name and country"),
            }[self.value]
        )

    @property
    def value_title(self) -> str:
        """The choice as a value, for tables and exports ("Full name"), where the
        form's imperative ("Show my full name…") would read as an instruction."""
        return str(
            {
                "counted": _l("Counted only"),
                "initials": _l("Initials and country"),
                "full_name": _l("Full name and country"),
            }[self.value]
        )


class Signature(db.Model):
    __tablename__ = "signatures"
    __table_args__ = (
        # One signature per person per campaign: the database decides, never a
        # check-then-insert in Python.
        sa.UniqueConstraint("campaign_id", "email_key"),
        sa.Index("ix_signatures_public", "campaign_id", "state", "verified_at"),
        # Moderation searches one campaign's names with LIKE on the normalised form.
        sa.Index("ix_signatures_search", "campaign_id", "search_name"),
        # Updates and retention walk one campaign's signatures in id order, a batch
        # at a time (keyset): without this, SQLite re-sorts every verified row per batch.
        sa.Index("ix_signatures_campaign_id_id", "campaign_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    state: Mapped[SignatureState] = mapped_column(enum_type(SignatureState), default=SignatureState.pending)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    # text_normalise.normalise(name), for Arabic-aware search and duplicate hints.
    # Set wherever the name is set (sign, withdraw, anonymise); never shown.
    search_name: Mapped[str] = mapped_column(sa.String(255), default="", server_default="")
    country: Mapped[str | None] = mapped_column(sa.String(2))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    visibility: Mapped[Visibility] = mapped_column(enum_type(Visibility), default=Visibility.counted)
    locale: Mapped[str] = mapped_column(sa.String(8))
    opt_in: Mapped[bool] = mapped_column(default=False)
    # The address itself is erased once nothing needs it; the keyed hash stays.
    email: Mapped[str | None] = mapped_column(sa.String(320))
    # None once the campaign's retention period is over (campaign.retention): an
    # anonymised signature keeps nothing that links it to a person.
    email_key: Mapped[str | None] = mapped_column(sa.String(64))
    email_domain: Mapped[str | None] = mapped_column(sa.String(255))
    # Keyed under a daily key that is deleted after 48 hours: groups, never identifies.
    ip_key: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    referral: Mapped[str | None] = mapped_column(sa.String(32))
    # Random; the confirm and withdraw links are derived from it with DATA_KEY
    # (services.link_token), so every mail about this signature carries the same
    # links. Cleared with the tokens on withdrawal and anonymisation.
    token_seed: Mapped[str | None] = mapped_column(sa.String(32))
    verify_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    verify_expires_at: Mapped[dt.datetime | None]
    withdraw_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    withdraw_expires_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[dt.datetime | None]
    withdrawn_at: Mapped[dt.datetime | None]
    # Why a moderator invalidated it (a moderation.InvalidationReason value).
    moderation_reason: Mapped[str | None] = mapped_column(sa.String(32))
    # On a statement: the version of its text that was signed (set by
    # campaign.statements when the signature is first stored).
    statement_version: Mapped[int | None]

    campaign: Mapped[Campaign] = relationship()

    # Every column is in exactly one of these two sets (a test checks it), so a new
    # column cannot slip past withdrawal and anonymisation unclassified.
    #: What says something about the person who signed, or links to them.
    PERSONAL = frozenset({
        "name", "search_name", "country", "comment", "opt_in", "email", "email_key", "email_domain", "ip_key",
        "token_seed", "verify_token_hash", "verify_expires_at", "withdraw_token_hash", "withdraw_expires_at",
    })
    #: What is about the signature: its campaign, state, dates, language, channel.
    NOT_PERSONAL = frozenset({
        "id", "campaign_id", "state", "visibility", "locale", "referral", "created_at", "verified_at",
        "withdrawn_at", "moderation_reason", "statement_version",
    })

    @classmethod
    def personal_data_cleared(cls, *, keep: frozenset[str] = frozenset()) -> dict[str, object]:
        """Column values that erase every personal column but those in ``keep``."""
        unknown = keep - cls.PERSONAL
        if unknown:
            raise ValueError(f"not personal columns: {sorted(unknown)}")
        emptied = {"name": "", "search_name": "", "opt_in": False}
        return {name: emptied.get(name) for name in cls.PERSONAL - keep}


class UsedChallenge(db.Model):
    """A proof-of-work challenge already spent on a signature: the server refuses it
    a second time. Kept until the challenge itself expires, then deleted by a job."""

    __tablename__ = "used_challenges"

    # The challenge's HMAC signature (hex): unique per challenge issued.
    signature: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
