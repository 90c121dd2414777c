"""Write side effects to the outbox, and deliver what is due."""
from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from campaign.mail.backends import MailBackend, PermanentFailure, TemporaryFailure
from campaign.outbox.models import MessageKind, MessageState, OutboxMessage
from campaign.privacy.keys import utcnow

log = logging.getLogger(__name__)

_FINISHED_LISTENERS = "sawt.outbox_finished"


def on_message_finished(app: Flask, listener) -> None:
    """Call ``listener(message, session)`` once a message is delivered or given up
    on, inside that transaction (signatures erase an address nothing needs then)."""
    app.extensions.setdefault(_FINISHED_LISTENERS, []).append(listener)


def enqueue_mail(
    session: Session,
    message: dict,
    *,
    template: str,
    signature_id: int | None = None,
    idempotency_key: str | None = None,
    not_before: dt.datetime | None = None,
) -> OutboxMessage:
    """Queue a rendered e-mail in the caller's transaction; ``not_before`` holds it
    back until then (letters to targets are spread out in time)."""
    row = OutboxMessage(
        kind=MessageKind.mail,
        state=MessageState.queued,
        payload=message,
        template=template,
        signature_id=signature_id,
        idempotency_key=idempotency_key,
        next_attempt_at=not_before or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def enqueue_post(session: Session, post: dict, *, template: str, idempotency_key: str) -> OutboxMessage | None:
    """Queue a social post in the caller's transaction, once: a second post with the
    same key is refused by the unique constraint and None is returned."""
    from sqlalchemy.exc import IntegrityError

    row = OutboxMessage(kind=MessageKind.post, state=MessageState.queued, payload=post, template=template,
                        idempotency_key=idempotency_key, next_attempt_at=utcnow())
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def enqueue_mails(session: Session, items, *, template: str) -> int:
    """Queue many rendered e-mails at once, in the caller's transaction: ``items`` are
    (message, signature_id, idempotency_key). One multi-row INSERT, no ORM objects
    kept, so a large mailing is queued in flat memory. Returns how many."""
    now = utcnow()
    rows = [
        dict(kind=MessageKind.mail, state=MessageState.queued, payload=message, template=template,
             signature_id=signature_id, idempotency_key=key, attempts=0, next_attempt_at=now, created_at=now)
        for message, signature_id, key in items
    ]
    if rows:
        session.execute(sa.insert(OutboxMessage), rows)
    return len(rows)


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, … capped at 6 hours."""
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


def _scrub(message: OutboxMessage) -> None:
    message.payload = {"locale": message.payload.get("locale"), "scrubbed": True}


def _claim_next(session: Session) -> OutboxMessage | None:
    # SKIP LOCKED lets several workers share the queue on PostgreSQL; SQLite ignores
    # it, so run a single worker there.
    return session.scalar(
        sa.select(OutboxMessage)
        .where(OutboxMessage.state == MessageState.queued, OutboxMessage.next_attempt_at <= utcnow())
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def deliver_due(app: Flask, session: Session, mail: MailBackend, limit: int = 100, social=None) -> int:
    """Deliver up to ``limit`` due messages (mail through ``mail``, posts through
    ``social``), committing after each. Returns how many were attempted."""
    attempted = 0
    while attempted < limit:
        message = _claim_next(session)
        if message is None:
            session.rollback()
            break
        attempted += 1
        message.attempts += 1
        try:
            if message.kind == MessageKind.post and social is not None:
                social.post(message.payload)
            elif message.kind != MessageKind.mail:
                raise PermanentFailure(f"no deliverer for {message.kind.value}")
            else:
                mail.send(message.payload)
        except TemporaryFailure as exc:
            message.last_error = str(exc)[:500]
            if message.attempts >= app.config["OUTBOX_MAX_ATTEMPTS"]:
                _finish(session, message, MessageState.dead)
            else:
                message.next_attempt_at = utcnow() + backoff(message.attempts)
            log.warning("outbox %s: temporary failure (%s), attempt %s", message.id, exc, message.attempts)
        except PermanentFailure as exc:
            message.last_error = str(exc)[:500]
            _finish(session, message, MessageState.dead)
            log.warning("outbox %s: permanent failure (%s)", message.id, exc)
        else:
            message.sent_at = utcnow()
            message.last_error = None
            _finish(session, message, MessageState.sent)
        session.commit()
    return attempted


def _finish(session: Session, message: OutboxMessage, state: MessageState) -> None:
    message.state.check(state)
    message.state = state
    _scrub(message)
    session.flush()
    for listener in current_app.extensions.get(_FINISHED_LISTENERS, []):
        listener(message, session)


def cancel_queued(session: Session, signature_ids, *, reason: str, templates=None) -> int:
    """Give up on queued messages to these signatures (unsubscribed, erased,
    anonymised): they become dead and are scrubbed now, so the address leaves the
    outbox too. ``templates`` limits it to those kinds of message. Returns how many."""
    ids = list(signature_ids)
    if not ids:
        return 0
    query = sa.select(OutboxMessage).where(
        OutboxMessage.signature_id.in_(ids), OutboxMessage.state == MessageState.queued
    )
    if templates is not None:
        query = query.where(OutboxMessage.template.in_(list(templates)))
    messages = session.scalars(query.with_for_update(skip_locked=True)).all()
    for message in messages:
        message.last_error = reason[:500]
        _finish(session, message, MessageState.dead)
    return len(messages)


def pending_for_signature(session: Session, signature_id: int) -> int:
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.signature_id == signature_id, OutboxMessage.state == MessageState.queued)
    ) or 0


def queue_stats(session: Session) -> dict[str, int]:
    rows = session.execute(
        sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state)
    ).all()
    return {state.value: count for state, count in rows}
