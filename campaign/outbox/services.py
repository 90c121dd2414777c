"""Write side effects to the outbox, and deliver what is due."""
from __future__ import annotations

import datetime as dt
import logging
import time

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from campaign.mail.backends import MailBackend, PermanentFailure, TemporaryFailure
from campaign.outbox.models import MessageKind, MessageState, OutboxMessage
from campaign.privacy.keys import keyed_hash, utcnow

log = logging.getLogger(__name__)

_FINISHED_LISTENERS = "sawt.outbox_finished"
_DUE_LISTENERS = "sawt.outbox_due"
_TASKS = "sawt.outbox_tasks"
_COMPOSERS = "sawt.outbox_composers"


def on_message_finished(app: Flask, listener) -> None:
    """Call ``listener(message, session)`` once a message is delivered or given up
    on, inside that transaction (signatures erase an address nothing needs then)."""
    app.extensions.setdefault(_FINISHED_LISTENERS, []).append(listener)


def on_message_due(app: Flask, listener) -> None:
    """Call ``listener(message, session)`` before a due mail is handed to a backend;
    a listener returns a reason (a short string) to cancel it instead (signatures:
    a repeat of a mail that was just sent), or None."""
    app.extensions.setdefault(_DUE_LISTENERS, []).append(listener)


def register_task(app: Flask, name: str, handler) -> None:
    """``handler(session, payload)`` carries out the queued task ``name`` inside the
    worker's transaction, and may queue mail (see enqueue_task)."""
    app.extensions.setdefault(_TASKS, {})[name] = handler


def register_composer(app: Flask, name: str, composer) -> None:
    """``composer(session, payload)`` renders, in the worker, a mail queued as
    ``mail_to_compose(name, …)``, and returns the message (as mail.compose gives it).
    It raises PermanentFailure when the mail can no longer be written (its
    campaign is gone)."""
    app.extensions.setdefault(_COMPOSERS, {})[name] = composer


def mail_to_compose(name: str, args: dict, *, to: str, locale: str) -> dict:
    """The payload of a mail that the worker renders when it takes it (see
    register_composer), for a request that should not pay for two templates: queued
    like any mail (enqueue_mail, enqueue_mails), in the caller's transaction, with
    its recipient, and scrubbed like any mail once done. ``args`` must be plain JSON."""
    return {"to": to, "locale": locale, "compose": name, "args": args}


def composed(app: Flask, session: Session, payload: dict) -> dict:
    """A mail's payload as it is sent: rendered now if it was queued to be composed."""
    if "compose" not in payload:
        return payload
    composer = app.extensions.get(_COMPOSERS, {}).get(payload["compose"])
    if composer is None:
        raise PermanentFailure(f"no composer for {payload['compose']}")
    return composer(session, payload)


def enqueue_mail(
    session: Session,
    message: dict,
    *,
    template: str,
    signature_id: int | None = None,
    signatory_id: int | None = None,
    idempotency_key: str | None = None,
    not_before: dt.datetime | None = None,
) -> OutboxMessage:
    """Queue a rendered e-mail in the caller's transaction; ``not_before`` holds it
    back until then (letters to targets are spread out in time). ``signature_id``
    or ``signatory_id`` names whom it is about, so that cancel_queued finds it."""
    now = utcnow()
    row = OutboxMessage(
        kind=MessageKind.mail,
        state=MessageState.queued,
        payload=message,
        template=template,
        signature_id=signature_id,
        signatory_id=signatory_id,
        idempotency_key=idempotency_key,
        next_attempt_at=not_before or now,
        # A mail held back is born when it is due: its age, by which it is given up
        # (OUTBOX_GIVE_UP_SECONDS), must not run while it waits for its turn.
        created_at=max(not_before or now, now),
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
        # The table, not the model: a plain INSERT, without the ORM's bulk machinery.
        session.execute(sa.insert(OutboxMessage.__table__), rows[0] if len(rows) == 1 else rows)
    return len(rows)


def enqueue_task(session: Session, name: str, payload: dict, *, signature_id: int | None = None) -> None:
    """Queue work for the worker in the caller's transaction (one INSERT, no ORM
    object). ``signature_id`` ties it to a signature, whose withdrawal cancels it.

    A request whose answer must not tell whether an address is known (sign, resend
    a link, erase my data) queues one task, whatever the address: the same single
    INSERT and the same page either way; the worker looks the address up and mails
    its owner."""
    now = utcnow()
    session.execute(sa.insert(OutboxMessage.__table__), dict(
        kind=MessageKind.task, state=MessageState.queued, payload=payload, template=name,
        signature_id=signature_id, attempts=0, next_attempt_at=now, created_at=now,
    ))


def backoff(attempts: int, first: float = 30, most: float = 30 * 60) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failure: ``first``, then doubling,
    at most ``most`` (30 s, 1 min, 2 min, … 30 minutes by default)."""
    return dt.timedelta(seconds=min(first * 2 ** min(max(attempts - 1, 0), 32), most))


def _next_attempt(app: Flask, attempts: int, retry_after: float | None = None) -> dt.datetime:
    """When to try again after the ``attempts``-th failure: after the backoff, and not
    before ``retry_after`` seconds when the receiving side asked for that (HTTP
    Retry-After); a wait longer than a message lives (OUTBOX_GIVE_UP_SECONDS) is cut
    to that."""
    config = app.config
    wait = backoff(attempts, config["OUTBOX_RETRY_SECONDS"], config["OUTBOX_MAX_RETRY_SECONDS"])
    if retry_after is not None:
        wait = max(wait, dt.timedelta(seconds=min(retry_after, config["OUTBOX_GIVE_UP_SECONDS"])))
    return utcnow() + wait


def _too_old(app: Flask, message: OutboxMessage) -> bool:
    """A delivery that still fails once this old is given up (OUTBOX_GIVE_UP_SECONDS:
    by default the life of a confirmation link, which it would carry in vain)."""
    return utcnow() - message.created_at >= dt.timedelta(seconds=app.config["OUTBOX_GIVE_UP_SECONDS"])


def _scrub(message: OutboxMessage) -> None:
    message.payload = {"locale": message.payload.get("locale"), "scrubbed": True}


# Literal, as in the index's own condition, so that both databases see it is usable.
_QUEUED_TASK = sa.text("outbox_messages.state = 'queued' AND outbox_messages.kind = 'task'")


def _due(*where):
    return (sa.select(OutboxMessage).where(*where, OutboxMessage.next_attempt_at <= utcnow())
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True))


def _claim_next(session: Session, *, mail: bool = True) -> OutboxMessage | None:
    """The next due message, tasks first: a signature queued by the sign form must
    not wait behind mail that a slow relay holds up. No mail if ``mail`` is False
    (paused: see MailPause). SKIP LOCKED lets several workers share the queue on
    PostgreSQL; SQLite ignores it, so run a single worker there."""
    rest = [OutboxMessage.state == MessageState.queued]
    if not mail:
        rest.append(OutboxMessage.kind != MessageKind.mail)
    return session.scalar(_due(_QUEUED_TASK)) or session.scalar(_due(*rest))


class MailPause:
    """A worker's pause of mail after a relay-wide failure (TemporaryFailure.relay_wide:
    the relay or API unreachable, out of service, refusing our login or key). Every
    mail would get that answer now, so while the pause holds the worker claims no
    mail: the mail queued behind spends no try (and no timeout) on it, and keeps its
    place; tasks and posts go on. The pause lasts OUTBOX_PAUSE_SECONDS, doubling with
    each further relay-wide failure up to OUTBOX_MAX_PAUSE_SECONDS, and at least as
    long as a Retry-After asked; the first mail taken after it is the probe. Any
    other answer from the relay (sent, or about that mail alone) ends the series.

    Kept in the worker's memory, not the database: each worker pauses on its own, and
    a restart forgets it (its first mail then probes)."""

    def __init__(self, app: Flask):
        config = app.config
        self.first, self.most = config["OUTBOX_PAUSE_SECONDS"], config["OUTBOX_MAX_PAUSE_SECONDS"]
        self.longest = config["OUTBOX_GIVE_UP_SECONDS"]  # a Retry-After is cut to this, as for a message
        self.failures = 0
        self.until = 0.0  # time.monotonic()

    @property
    def holding(self) -> bool:
        return time.monotonic() < self.until

    def relay_failed(self, retry_after: float | None = None) -> float:
        """Pause mail after a relay-wide failure; returns for how many seconds."""
        self.failures += 1
        wait = min(self.first * 2 ** min(self.failures - 1, 32), self.most)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.longest))
        self.until = time.monotonic() + wait
        return wait

    def relay_answered(self) -> bool:
        """The relay answered a mail on its merits: no pause. True if that ends one."""
        ended = self.failures > 0
        self.failures, self.until = 0, 0.0
        return ended


def message_id(app: Flask, message: OutboxMessage) -> str:
    """The one Message-ID of an outbox message, the same on every attempt and from
    every backend, so a copy sent again after a crash can be recognised (and dropped)
    by the receiving side. Keyed, so it reveals nothing about how many messages we send."""
    sender = app.config["MAIL_FROM"]
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "sawt.localhost"
    # DATA_KEY, not SECRET_KEY: it is never rotated, so the id survives a restart with new settings.
    digest = keyed_hash(app.config["DATA_KEY"].encode(), f"message-id:{message.id}:{message.idempotency_key or ''}")
    return f"<{digest[:32]}@{domain}>"


def deliver_due(app: Flask, session: Session, mail: MailBackend, limit: int = 100, social=None,
                pause: MailPause | None = None) -> int:
    """Deliver up to ``limit`` due messages (mail through ``mail``, posts through
    ``social``). Returns how many were attempted.

    Each attempt is committed before the message is handed to the backend, with its
    next attempt moved past a lease; the outcome is committed as soon as the backend
    returns. A crash in between (the only window left: no protocol lets us send and
    commit atomically) sends the message once more after the lease, with the same
    Message-ID. Delivery is at least once, deduplicable by Message-ID.

    While ``pause`` holds (the worker's, kept between rounds; without one, a pause
    lasts this round at most) no mail is claimed: tasks and posts still are."""
    if pause is None:
        pause = MailPause(app)
    attempted = claimed = 0
    try:
        while claimed < limit:
            message = _claim_next(session, mail=not pause.holding)
            if message is None:
                session.rollback()
                break
            claimed += 1
            if message.kind == MessageKind.task:  # not a delivery: not counted as one
                _run_task(app, session, message)
                continue
            attempted += 1
            reasons = [reason for listener in app.extensions.get(_DUE_LISTENERS, [])
                       if (reason := listener(message, session))]
            if reasons:
                message.last_error = reasons[0][:500]
                _finish(session, message, MessageState.dead)
                session.commit()
                continue
            if not _compose_due(app, session, message):
                session.commit()
                continue
            message.attempts += 1
            message.next_attempt_at = utcnow() + dt.timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
            # An attempt under way has no error yet (the last one's comes back if it fails):
            # how others can tell it is being sent (see signatures' repeat_of_a_recent_mail).
            message.last_error = None
            attempt, claimed_id = message.attempts, message.id
            kind = message.kind
            payload = dict(message.payload)
            if kind == MessageKind.mail:
                payload["message_id"] = message_id(app, message)
            session.commit()
            outcome, error = MessageState.sent, None
            try:
                if kind == MessageKind.post and social is not None:
                    social.post(payload)
                elif kind != MessageKind.mail:
                    raise PermanentFailure(f"no deliverer for {kind.value}")
                else:
                    mail.send(payload)
            except TemporaryFailure as exc:
                outcome, error = MessageState.queued, exc
            except PermanentFailure as exc:
                outcome, error = MessageState.dead, exc
            except Exception as exc:  # a provider's client raising what it should not
                # The worker must outlive it: a temporary failure, named by its type only
                # (its text may quote the message).
                log.warning("outbox %s: the backend raised %s", claimed_id, type(exc).__name__)
                outcome, error = MessageState.queued, TemporaryFailure(f"unexpected {type(exc).__name__}")
            _record_outcome(app, session, claimed_id, attempt, outcome, error)
            session.commit()
            if kind == MessageKind.mail:
                _heed_relay(pause, error)
    finally:
        # A connection the backend keeps between messages (SMTP) is let go when
        # nothing more is due now: relays drop idle ones anyway.
        close = getattr(mail, "close", None)
        if close is not None:
            close()
    return attempted


def _heed_relay(pause: MailPause, error: Exception | None) -> None:
    """Pause mail after a relay-wide failure; end the pause on any other answer."""
    if isinstance(error, TemporaryFailure) and error.relay_wide:
        wait = pause.relay_failed(error.retry_after)
        log.warning("outbox: mail paused for %.1f s: the relay would refuse every mail now (%s)", wait, error)
    elif pause.relay_answered():
        log.warning("outbox: the relay answers again: mail resumes")


def run_due_tasks(app: Flask, session: Session, limit: int = 100) -> int:
    """Run up to ``limit`` due tasks and deliver nothing (deliver_due runs them too,
    before any mail). Returns how many ran."""
    ran = 0
    while ran < limit:
        message = session.scalar(_due(_QUEUED_TASK))
        if message is None:
            session.rollback()
            break
        _run_task(app, session, message)
        ran += 1
    return ran


def _compose_due(app: Flask, session: Session, message: OutboxMessage) -> bool:
    """Render a mail queued to be composed, once: what is rendered is stored with its
    first attempt, so every attempt sends the same message. False if it cannot be
    rendered now (tried again later, or given up on)."""
    if message.kind != MessageKind.mail or "compose" not in message.payload:
        return True
    try:
        message.payload = composed(app, session, dict(message.payload))
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        raise  # the database is away: the worker waits for it, then tries again
    except Exception as exc:  # a campaign gone (permanent), or a bug: keep it for a retry
        message.attempts += 1
        message.last_error = type(exc).__name__
        log.warning("outbox %s: could not compose %s (%s)", message.id, message.template, type(exc).__name__)
        # A bug, not an outage: a few tries (no attempt was a delivery yet), not a mail's whole life.
        if isinstance(exc, PermanentFailure) or message.attempts >= app.config["OUTBOX_MAX_ATTEMPTS"]:
            _finish(session, message, MessageState.dead)
        else:
            message.next_attempt_at = _next_attempt(app, message.attempts)
        return False
    return True


def _run_task(app: Flask, session: Session, message: OutboxMessage) -> None:
    """A task runs in the transaction that claimed it: its effects and its end are
    committed together, exactly once."""
    message.attempts += 1
    try:
        with session.begin_nested():
            handler = app.extensions.get(_TASKS, {}).get(message.template)
            if handler is None:
                raise PermanentFailure(f"no handler for task {message.template}")
            handler(session, dict(message.payload))
    except Exception as exc:  # a bug or a passing database problem: keep it for a retry
        # The type only: a database error's text quotes the statement's values (addresses).
        message.last_error = type(exc).__name__
        if isinstance(exc, PermanentFailure) or message.attempts >= app.config["OUTBOX_MAX_ATTEMPTS"]:
            _finish(session, message, MessageState.dead)
        else:
            message.next_attempt_at = _next_attempt(app, message.attempts)
        log.warning("outbox %s: task %s failed (%s)", message.id, message.template, type(exc).__name__)
    else:
        message.last_error = None
        message.sent_at = utcnow()
        _finish(session, message, MessageState.sent)
    session.commit()


def _record_outcome(app: Flask, session: Session, message_id_: int, attempt: int,
                    outcome: MessageState, error: Exception | None) -> None:
    # Read again under lock: while we were sending, the signer may have withdrawn (the
    # message is then dead and scrubbed already) and nothing we learnt may undo that.
    message = session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.id == message_id_).with_for_update()
        .execution_options(populate_existing=True)
    )
    if message is None or message.state != MessageState.queued or message.attempts != attempt:
        return
    if outcome == MessageState.sent:
        message.sent_at = utcnow()
        message.last_error = None
        _finish(session, message, MessageState.sent)
        return
    message.last_error = str(error)[:500]
    # An outage is waited out by the message's age, not a count of tries: a count
    # runs out during a long outage however it is paced.
    if outcome == MessageState.queued and not _too_old(app, message):
        message.next_attempt_at = _next_attempt(app, message.attempts, getattr(error, "retry_after", None))
        log.warning("outbox %s: temporary failure (%s), attempt %s", message.id, error, message.attempts)
        return
    _finish(session, message, MessageState.dead)
    log.warning("outbox %s: gave up (%s)", message.id, error)


def _finish(session: Session, message: OutboxMessage, state: MessageState) -> None:
    message.state.check(state)
    message.state = state
    _scrub(message)
    session.flush()
    for listener in current_app.extensions.get(_FINISHED_LISTENERS, []):
        listener(message, session)


def cancel_queued(session: Session, signature_ids=(), *, reason: str, templates=None, signatory_ids=()) -> int:
    """Give up on queued messages to these signatures (unsubscribed, erased,
    anonymised), or to these statement signatories (erased): they become dead and
    are scrubbed now, so the address leaves the outbox too. ``templates`` limits it
    to those kinds of message. Returns how many."""
    ids, signatories = list(signature_ids), list(signatory_ids)
    if not ids and not signatories:
        return 0
    about = [column.in_(values) for column, values in
             ((OutboxMessage.signature_id, ids), (OutboxMessage.signatory_id, signatories)) if values]
    query = sa.select(OutboxMessage).where(sa.or_(*about), OutboxMessage.state == MessageState.queued)
    if templates is not None:
        query = query.where(OutboxMessage.template.in_(list(templates)))
    # Not SKIP LOCKED: a message being claimed right now must be cancelled too, so wait
    # the few milliseconds until the worker has recorded its attempt.
    messages = session.scalars(query.with_for_update()).all()
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
