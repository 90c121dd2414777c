"""Organisations, the organisers who work for them, and the audit log."""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.privacy.keys import utcnow


class Organisation(db.Model):
    """A group that runs campaigns (a human-rights organisation, a coalition)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The public page /<lang>/org/<slug> (or /org/<id> while there is no slug):
    # who runs a campaign, how to reach them, what they promise to do with names.
    slug: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    contact_email: Mapped[str] = mapped_column(sa.String(320), default="", server_default="")
    website: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")

    texts: Mapped[list[OrganisationText]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", lazy="selectin"
    )

    def text(self, lang: str) -> OrganisationText | None:
        return next((t for t in self.texts if t.locale == lang), None)

    def name_in(self, lang: str) -> str:
        """The name as the organisation writes it in ``lang`` (its account name otherwise)."""
        text = self.text(lang)
        return text.name if text and text.name else self.name

    @property
    def public_key(self) -> str:
        """What its public address ends with: the slug, or the id until it has one."""
        return self.slug or str(self.id)


class OrganisationText(db.Model):
    """An organisation's public profile in one language."""

    __tablename__ = "organisation_texts"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(sa.String(8))
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # In the organisation's own words: what it does with signers' names and addresses.
    privacy: Mapped[str] = mapped_column(sa.Text, default="")

    organisation: Mapped[Organisation] = relationship(back_populates="texts")


class Role(str, enum.Enum):
    """admin runs the whole site; owner and editor hold per organisation."""

    admin = "admin"
    owner = "owner"
    editor = "editor"

    @property
    def title(self) -> str:
        return str({"admin": _l("Site administrator"), "owner": _l("Owner"), "editor": _l("Editor")}[self.value])


class Organiser(db.Model):
    """A person who logs in to /<lang>/manage/. Created by invitation or by
    `flask users create`; until the setup link is used there is no password."""

    __tablename__ = "organisers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    locale: Mapped[str] = mapped_column(sa.String(8), default="ar")
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    # TOTP secret (base32); None until two-factor is set up.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    # The last accepted TOTP time step: a code is never accepted twice.
    totp_last_step: Mapped[int | None]
    setup_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    setup_expires_at: Mapped[dt.datetime | None]
    # Bumped on password change or logout-everywhere: older sessions stop working.
    session_generation: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organiser", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def has_two_factor(self) -> bool:
        return self.totp_secret is not None


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("organiser_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(sa.ForeignKey("organisers.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(sa.Enum(Role, native_enum=False, create_constraint=False, length=24,
                                               values_callable=lambda m: [x.value for x in m]))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    organiser: Mapped[Organiser] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(lazy="selectin")


class RecoveryCode(db.Model):
    """One-time codes for when the authenticator is lost; stored as hashes."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(sa.ForeignKey("organisers.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[dt.datetime | None]


class AuditEntry(db.Model):
    """Who did what, when: every organiser action that changes or exports data."""

    __tablename__ = "audit_entries"
    __table_args__ = (sa.Index("ix_audit_entries_org_at", "organisation_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Who acted, or whose account an attempt was on. A plain id, not a foreign key:
    # on PostgreSQL checking the key made a failed login on a real account measurably
    # slower than one on an unknown address (whose entry names no one), which told
    # anyone which addresses have accounts. services.remove_member clears it when an
    # account goes, as ON DELETE SET NULL did.
    organiser_id: Mapped[int | None] = mapped_column()
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="SET NULL"))
    # A dotted verb: "campaign.publish", "signature.invalidate", "export.csv", …
    action: Mapped[str] = mapped_column(sa.String(64))
    # Plain facts for the log reader (counts, ids, field names); never signer data.
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    organiser: Mapped[Organiser | None] = relationship(
        primaryjoin="foreign(AuditEntry.organiser_id) == Organiser.id", lazy="selectin", viewonly=True
    )
