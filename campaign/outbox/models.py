from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db
from campaign.privacy.keys import utcnow
from campaign.states import StateEnum, enum_type


class MessageKind(str, enum.Enum):
    mail = "mail"
    post = "post"
    # Work a request hands to the worker so that its own answer does the same thing
    # whatever was typed (see outbox.services.enqueue_task).
    task = "task"


class MessageState(StateEnum):
    queued = "queued"
    sent = "sent"
    dead = "dead"

    @classmethod
    def transitions(cls):
        return {cls.queued: {cls.sent, cls.dead}, cls.sent: set(), cls.dead: {cls.queued}}


class OutboxMessage(db.Model):
    """A side effect (an e-mail, a social post) written in the same transaction as
    the change that caused it, delivered later by `flask worker`."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index("ix_outbox_due", "state", "next_attempt_at"),
        # Tasks are taken before mail (outbox.services._claim_next): a small index of
        # the queued ones, so that looking for one costs nothing behind a long mailing.
        sa.Index("ix_outbox_due_tasks", "next_attempt_at",
                 postgresql_where=sa.text("state = 'queued' AND kind = 'task'"),
                 sqlite_where=sa.text("state = 'queued' AND kind = 'task'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MessageKind] = mapped_column(enum_type(MessageKind))
    state: Mapped[MessageState] = mapped_column(enum_type(MessageState), default=MessageState.queued)
    # Rendered message. Addresses and links are scrubbed from it once it is delivered
    # or given up on, so the outbox never becomes a second store of signers' e-mails.
    payload: Mapped[dict] = mapped_column(sa.JSON)
    template: Mapped[str] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    signature_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("signatures.id", ondelete="SET NULL"), index=True
    )
    # A statement's mail to someone who asked to be named on it (statements have no
    # signature): erasing their data cancels it.
    signatory_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("signatories.id", ondelete="SET NULL"), index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    # When it was queued, or when it is first due if held back (enqueue_mail's
    # not_before): a mail or post still failing OUTBOX_GIVE_UP_SECONDS later is given up.
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
