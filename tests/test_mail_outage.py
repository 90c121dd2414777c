"""A mail outage against the real processes: for a minute the SMTP relay is down or
refuses (4xx and relay-wide 5xx) and the SendGrid API answers 500, 429 with
Retry-After, or hangs past the timeout, while people sign (some twice at once) and
some withdraw. Every signature is taken, every mail goes out exactly once after the
outage, none to anyone who withdrew, and neither worker dies.

Both backends in one run: two `flask worker`s, one delivering by SMTP and one by
SendGrid, share the outbox (on PostgreSQL workers claim messages with SKIP LOCKED),
so each sees its own provider fail and a message may be tried by either; "exactly
once" counts both providers together.

The outage lasts OUTAGE_SECONDS: 60 under CI; SAWT_MAIL_OUTAGE_SECONDS shortens it
on a developer's machine. The workers wait 1 s after a first failure, doubling up to
4 s (OUTBOX_RETRY_SECONDS, OUTBOX_MAX_RETRY_SECONDS) instead of 30 s up to 30 minutes:
time compressed, so a minute's outage costs a message as many tries as a much longer
one would in production; tries are not counted (a mail is given up by its age,
OUTBOX_GIVE_UP_SECONDS, days away). Likewise a failure every mail would meet pauses
a worker's mail for 0.25 s, doubling up to 2 s (OUTBOX_PAUSE_SECONDS,
OUTBOX_MAX_PAUSE_SECONDS) instead of 5 s up to a minute, so each of the outage's
phases still meets a try."""
from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from campaign.extensions import db
from campaign.outbox.models import MessageState, OutboxMessage
from campaign.outbox.services import composed
from tests.fixtures.ci import CI
from tests.fixtures.processes import WORKER_READY, http_request
from tests.stack_helpers import (
    assert_counts_exact,
    delivered,
    new_campaign,
    outbox,
    queued,
    sign,
    signed,
    signer,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.attack, pytest.mark.proof]

OUTAGE_SECONDS = 60.0 if CI else float(os.environ.get("SAWT_MAIL_OUTAGE_SECONDS") or 60)
SIGNERS = 120             # spread over the outage
DOUBLE_CLICK_EVERY = 4    # every 4th signer sends the form twice at once
WITHDRAW_EVERY = 5        # every 5th withdraws, a moment after signing, during the outage
CONFIRMED = 10            # after the outage, some confirm with the link they were mailed
MAIL_TIMEOUT = 2          # MAIL_TIMEOUT_SECONDS of the workers; SendGrid hangs longer

# What each provider does during the outage, in turn, for an equal share of it.
SMTP_FAILURES = [
    ("down", None),
    ("greeting", "421 4.3.2 Service shutting down, closing transmission channel"),
    ("rcpt", "451 4.3.0 Temporary lookup failure"),
    ("data", "452 4.3.1 Insufficient system storage"),
    ("greeting", "554 5.3.2 No SMTP service here"),
    ("mail", "530 5.7.0 Authentication required"),
]
SENDGRID_FAILURES = [500, 429, "hang"]

WORKER_SETTINGS = dict(OUTBOX_RETRY_SECONDS=1, OUTBOX_MAX_RETRY_SECONDS=4, OUTBOX_PAUSE_SECONDS=0.25,
                       OUTBOX_MAX_PAUSE_SECONDS=2, MAIL_TIMEOUT_SECONDS=MAIL_TIMEOUT, OUTBOX_POLL_SECONDS=0.2)


def run_outage(smtp_relay, sendgrid_stub, over: threading.Event) -> None:
    """Play SMTP_FAILURES and SENDGRID_FAILURES side by side for OUTAGE_SECONDS, then
    put both providers right."""
    started = time.monotonic()
    mailbox = smtp_relay.mailbox
    try:
        while (elapsed := time.monotonic() - started) < OUTAGE_SECONDS:
            stage, reply = SMTP_FAILURES[int(elapsed / OUTAGE_SECONDS * len(SMTP_FAILURES))]
            if stage == "down":
                smtp_relay.stop()
            else:
                smtp_relay.start()
                mailbox.refuse(stage, reply)
            sendgrid_stub.status = SENDGRID_FAILURES[int(elapsed / OUTAGE_SECONDS * len(SENDGRID_FAILURES))]
            time.sleep(0.05)
    finally:
        smtp_relay.start()
        mailbox.refuse()
        sendgrid_stub.status = 202
        over.set()


def withdraw_link_in_outbox(stack, address: str) -> str:
    """The withdraw link of the mail queued for ``address``: the link every mail about
    the signature carries (the signer has it from an earlier mail). Rendered here if
    no worker has tried it yet (a paused worker leaves it as queued)."""
    with stack.app.app_context():
        payloads = db.session.scalars(sa.select(OutboxMessage.payload)
                                      .where(OutboxMessage.state == MessageState.queued)).all()
        texts = [composed(stack.app, db.session, payload)["text"] for payload in payloads
                 if payload.get("to") == address]
        db.session.remove()
    for text in texts:
        return urlsplit(re.search(r"https?://\S+/withdraw/\S+", text).group(0)).path
    raise AssertionError(f"no mail queued for {address}; the outbox: {dict(outbox(stack))}")


def failures_logged(worker) -> Counter:
    """The temporary failures a worker logged, by reason: {"SMTP 421": 12,
    "SMTP connection: ConnectionRefusedError": 30, "recipient deferred ([451])": 9…}."""
    return Counter(re.findall(r"temporary failure \((.*)\), attempt \d+$", worker.output()[1], re.MULTILINE))


def test_a_minute_without_smtp_or_sendgrid_loses_no_mail_and_sends_none_twice(
    stack, start_worker, smtp_relay, sendgrid_stub
):
    slug = "mail-outage"
    campaign_id = new_campaign(stack, slug)
    sendgrid_stub.hang_seconds = MAIL_TIMEOUT + 1
    workers = [
        start_worker("smtp-worker", wait=False, MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1",
                     SMTP_PORT=smtp_relay.port, **WORKER_SETTINGS),
        start_worker("sendgrid-worker", wait=False, MAIL_BACKEND="sendgrid", SENDGRID_API_KEY="SG.stack-test",
                     SENDGRID_API_HOST=sendgrid_stub.url, **WORKER_SETTINGS),
    ]
    for worker in workers:
        worker.wait_for_output(WORKER_READY)
    over = threading.Event()
    outage = threading.Thread(target=run_outage, args=(smtp_relay, sendgrid_stub, over), daemon=True)

    answers: Counter = Counter()
    slowest = 0.0
    withdrawn: set[str] = set()
    withdrawals: Counter = Counter()
    lock = threading.Lock()

    def person(n: int) -> None:
        nonlocal slowest
        who = signer(n, "outage")
        clicks = 2 if n % DOUBLE_CLICK_EVERY == 0 else 1
        before = time.monotonic()
        with ThreadPoolExecutor(clicks) as pool:
            results = list(pool.map(lambda _: sign(stack, slug, who), range(clicks)))
        with lock:
            slowest = max(slowest, time.monotonic() - before)
            for answer in results:
                answers["signed" if signed(answer, slug) else answer.status] += 1
        if n % WITHDRAW_EVERY == 0:
            time.sleep(1)
            path = withdraw_link_in_outbox(stack, who["email"])
            answer = http_request("POST", stack.url + path, {})
            with lock:
                withdrawals[answer.status] += 1
                withdrawn.add(who["email"])

    outage.start()
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        futures = []
        for n in range(SIGNERS):
            # Spread over the first 90 % of the outage: withdrawals still fall inside it.
            time.sleep(max(0.0, started + n * OUTAGE_SECONDS * 0.9 / SIGNERS - time.monotonic()))
            futures.append(pool.submit(person, n))
        for future in futures:
            future.result()
    assert not over.is_set(), "the signing went on past the outage: lengthen OUTAGE_SECONDS or sign fewer"
    during = outbox(stack)
    outage.join()

    double = len(range(0, SIGNERS, DOUBLE_CLICK_EVERY))
    assert answers == {"signed": SIGNERS + double}, answers
    assert withdrawals == {200: len(withdrawn)}, withdrawals
    assert slowest < 5, f"a sign took {slowest:.1f} s during the outage"
    assert not [m for m in delivered(smtp_relay, sendgrid_stub)], "nothing could be delivered during the outage"

    recovered = time.monotonic()
    wait_for(lambda: queued(stack) == 0, 60, "every queued mail to be delivered after the outage")
    recovery_seconds = time.monotonic() - recovered
    time.sleep(1)  # anything more (a duplicate) would arrive now

    mails = delivered(smtp_relay, sendgrid_stub)
    signers = {signer(n, "outage")["email"] for n in range(SIGNERS)}
    per_signer = Counter(mail.to for mail in mails)
    assert not withdrawn & set(per_signer), "mail reached someone who withdrew"
    assert set(per_signer) == signers - withdrawn, "every other signer got their mail"
    assert set(per_signer.values()) == {1}, {to: n for to, n in per_signer.items() if n > 1}
    assert set(outbox(stack)) <= {("sent", None), ("dead", "repeat"), ("dead", "withdrawn")}, outbox(stack)

    for worker in workers:
        assert worker.alive, f"{worker.name} died: {worker.output()[1][-3000:]}"
        assert "Traceback" not in worker.output()[1], worker.output()[1][-3000:]
        assert "mail paused" in worker.output()[1], f"{worker.name} never paused its mail"

    # Both workers are back, not only the one that happened to drain the queue: with the
    # SMTP relay refusing everyone again (its worker pauses), a late signer's mail goes
    # out by SendGrid, once.
    late = signer(SIGNERS, "outage")
    smtp_relay.mailbox.refuse("greeting", "421 4.3.2 Service shutting down, closing transmission channel")
    assert signed(sign(stack, slug, late), slug)
    wait_for(lambda: queued(stack) == 0, 30, "the late signer's mail to be delivered")
    smtp_relay.mailbox.refuse()
    assert [m.via for m in delivered(smtp_relay, sendgrid_stub) if m.to == late["email"]] == ["sendgrid"]
    smtp_failures, sendgrid_failures = (failures_logged(worker) for worker in workers)
    assert {"SMTP connection: ConnectionRefusedError", "SMTP 421", "recipient deferred ([451])", "SMTP 452",
            "SMTP 554", "SMTP 530"} <= set(smtp_failures), smtp_failures
    assert {"SendGrid 500", "SendGrid 429"} <= set(sendgrid_failures), sendgrid_failures
    assert any(reason.startswith("SendGrid connection:") for reason in sendgrid_failures), sendgrid_failures

    # The mails work: some confirm with their link.
    for mail in mails[:CONFIRMED]:
        assert http_request("POST", stack.url + mail.path("confirm"), {}).status == 303
    assert assert_counts_exact(stack, campaign_id) == {
        "pending": SIGNERS + 1 - len(withdrawn) - CONFIRMED, "verified": CONFIRMED}
    print(f"\n{OUTAGE_SECONDS:.0f} s outage: {SIGNERS} signers ({double} double clicks, {len(withdrawn)} withdrew), "
          f"slowest sign {slowest:.2f} s; outbox during it {dict(during)}; all delivered {recovery_seconds:.1f} s "
          f"after; {len(mails)} mails ({Counter(m.via for m in mails)}); SMTP failures {dict(smtp_failures)}; "
          f"SendGrid failures {dict(sendgrid_failures)}, stub answers {dict(sendgrid_stub.answers)}")
