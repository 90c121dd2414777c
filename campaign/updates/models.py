"""Updates: news an organisation sends to the signers who asked for it, written in
every language and delivered to each signer in their own."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.organiser.models import Organiser
from campaign.privacy.keys import utcnow
from campaign.states import StateEnum, enum_type


class UpdateState(StateEnum):
    draft = "draft"
    # Queued to signers batch by batch (by the worker); no longer editable.
    sending = "sending"
    sent = "sent"

    @classmethod
    def transitions(cls):
        # No way back: an update goes out once.
        return {cls.draft: {cls.sending}, cls.sending: {cls.sent}, cls.sent: set()}

    @property
    def title(self) -> str:
        return str({"draft": _l("Draft"), "sending": _l("Sending"), "sent": _l("Sent")}[self.value])


class Update(db.Model):
    __tablename__ = "updates"
    __table_args__ = (sa.Index("ix_updates_state", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    state: Mapped[UpdateState] = mapped_column(enum_type(UpdateState), default=UpdateState.draft)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    test_sent_at: Mapped[dt.datetime | None]
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisers.id", ondelete="SET NULL"))
    sending_started_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    # Signatures are queued in id order, a batch at a time: the last id queued, and
    # the highest id that existed when sending started (later signers are not included).
    queued_through_id: Mapped[int] = mapped_column(default=0, server_default="0")
    last_signature_id: Mapped[int] = mapped_column(default=0, server_default="0")
    # Messages queued so far, per language: {"ar": 120, "en": 45}.
    recipient_counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    campaign: Mapped[Campaign] = relationship()
    created_by: Mapped[Organiser | None] = relationship(foreign_keys=[created_by_id])
    sent_by: Mapped[Organiser | None] = relationship(foreign_keys=[sent_by_id])
    texts: Mapped[list[UpdateText]] = relationship(
        back_populates="update", cascade="all, delete-orphan", lazy="selectin"
    )

    def text(self, lang: str) -> UpdateText | None:
        return next((t for t in self.texts if t.locale == lang), None)

    @property
    def recipients_total(self) -> int:
        return sum((self.recipient_counts or {}).values())


class UpdateText(db.Model):
    __tablename__ = "update_texts"
    __table_args__ = (sa.UniqueConstraint("update_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(sa.ForeignKey("updates.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(sa.String(8))
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    body_md: Mapped[str] = mapped_column(sa.Text, default="")
    # Rendered and sanitised once, on save.
    body_html: Mapped[str] = mapped_column(sa.Text, default="")

    update: Mapped[Update] = relationship(back_populates="texts")


class UnsubscribeToken(db.Model):
    """One per update e-mail: the link in it stops that signer's updates. Only the
    hash is kept; a link in an older e-mail keeps working."""

    __tablename__ = "unsubscribe_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(sa.ForeignKey("signatures.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
