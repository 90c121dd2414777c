"""Named signatories of a statement, its text versions and its display options.

A statement is a campaign of kind ``statement``: a text followed by a numbered list
of organisations and individuals. Ordinary public signatures still count below the
list; the people and groups here are named, each with a role line.
"""
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


class SignatoryKind(str, enum.Enum):
    organisation = "organisation"
    individual = "individual"

    @property
    def title(self) -> str:
        return str({"organisation": _l("Organisation"), "individual": _l("Individual")}[self.value])


class SignatoryState(StateEnum):
    """unconfirmed: asked to be added, e-mail not yet confirmed; pending: confirmed,
    waiting for the organiser; approved: on the public list. A request that does not
    end on the list is deleted in time (statements.services: delete_expired_requests,
    delete_declined_requests, delete_unlisted_requests)."""

    unconfirmed = "unconfirmed"
    pending = "pending"
    approved = "approved"
    declined = "declined"
    withdrawn = "withdrawn"

    @classmethod
    def transitions(cls):
        return {
            cls.unconfirmed: {cls.pending, cls.withdrawn},
            cls.pending: {cls.approved, cls.declined, cls.withdrawn},
            cls.approved: {cls.withdrawn},
            cls.declined: set(),
            cls.withdrawn: set(),
        }

    @property
    def title(self) -> str:
        return str(
            {
                "unconfirmed": _l("E-mail not confirmed yet"),
                "pending": _l("Waiting for approval"),
                "approved": _l("On the list"),
                "declined": _l("Declined"),
                "withdrawn": _l("Withdrawn"),
            }[self.value]
        )


class ListOrder(str, enum.Enum):
    """How the public list is shown: in the organiser's order, or organisations
    first and then individuals, each group numbered from one."""

    mixed = "mixed"
    grouped = "grouped"

    @property
    def title(self) -> str:
        return str({
            "mixed": _l("One list, in the order I set"),
            "grouped": _l("Organisations first, then individuals"),
        }[self.value])


class StatementOptions(db.Model):
    __tablename__ = "statement_options"

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    list_order: Mapped[ListOrder] = mapped_column(enum_type(ListOrder), default=ListOrder.mixed)


class StatementVersion(db.Model):
    """The statement's text as it was published: a new version each time a public
    statement's text changes. ``texts`` is {locale: {title, summary, body_md}}."""

    __tablename__ = "statement_versions"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    texts: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def text(self, lang: str) -> dict:
        return self.texts.get(lang) or {}


class Signatory(db.Model):
    __tablename__ = "signatories"
    __table_args__ = (sa.Index("ix_signatories_campaign_position", "campaign_id", "state", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    # Order on the list; set when the signatory is approved (the end of the list).
    position: Mapped[int | None]
    kind: Mapped[SignatoryKind] = mapped_column(enum_type(SignatoryKind))
    state: Mapped[SignatoryState] = mapped_column(enum_type(SignatoryState), default=SignatoryState.approved)
    country: Mapped[str | None] = mapped_column(sa.String(2))
    url: Mapped[str | None] = mapped_column(sa.String(300))
    # For the organisers only: never on a public page, in JSON or in a PDF.
    private_note: Mapped[str | None] = mapped_column(sa.Text)
    version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("statement_versions.id", ondelete="SET NULL"))
    # The language a requester wrote in: their e-mails are in it.
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    # A requester's (or an organisation's contact) address: erased once the
    # organiser's decision has been written to them.
    email: Mapped[str | None] = mapped_column(sa.String(320))
    # The keyed hash of that address (as on Signature), kept after the address is
    # erased: "erase my data" finds the requests of an address by it.
    email_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    verify_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    verify_expires_at: Mapped[dt.datetime | None]
    withdraw_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[dt.datetime | None]
    # A declined request is deleted STATEMENT_DECLINED_DAYS after this.
    declined_at: Mapped[dt.datetime | None]
    withdrawn_at: Mapped[dt.datetime | None]

    campaign: Mapped[Campaign] = relationship()
    version: Mapped[StatementVersion | None] = relationship(lazy="joined")
    texts: Mapped[list[SignatoryText]] = relationship(
        back_populates="signatory", cascade="all, delete-orphan", lazy="selectin"
    )

    # Every column is in exactly one of these two sets (a test checks it), as on
    # Signature: withdrawal clears the personal ones, and the names and role lines
    # (signatory_texts) go with them.
    #: What says something about the person or group, or links to them.
    PERSONAL = frozenset({
        "country", "url", "private_note", "email", "email_key", "verify_token_hash", "verify_expires_at",
        "withdraw_token_hash",
    })
    #: What is about the place on the list: its statement, order, kind, state, dates.
    NOT_PERSONAL = frozenset({
        "id", "campaign_id", "position", "kind", "state", "version_id", "locale", "created_at", "approved_at",
        "declined_at", "withdrawn_at",
    })

    def text(self, lang: str) -> SignatoryText | None:
        return next((t for t in self.texts if t.locale == lang), None)

    def name(self, lang: str) -> str:
        """The name in ``lang``, or as written in another language."""
        return self._in(lang, "name")

    def role(self, lang: str) -> str:
        return self._in(lang, "role")

    def _in(self, lang: str, field: str) -> str:
        text = self.text(lang)
        if text is not None and getattr(text, field):
            return getattr(text, field)
        for other in sorted(self.texts, key=lambda t: t.locale):
            if getattr(other, field):
                return getattr(other, field)
        return ""


class SignatoryText(db.Model):
    __tablename__ = "signatory_texts"
    __table_args__ = (sa.UniqueConstraint("signatory_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    signatory_id: Mapped[int] = mapped_column(sa.ForeignKey("signatories.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(sa.String(8))
    name: Mapped[str] = mapped_column(sa.String(300), default="")
    role: Mapped[str] = mapped_column(sa.String(500), default="")

    signatory: Mapped[Signatory] = relationship(back_populates="texts")
