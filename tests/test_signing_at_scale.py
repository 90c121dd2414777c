"""Signing at scale against the real processes: gunicorn (2 sync workers, the
Procfile's settings) and `flask worker` on PostgreSQL with Redis, mail through a
real SMTP server. A crowd whose every click is sent three times at once, then web
workers killed (SIGKILL) every 2 s while a thousand people sign: every signature a
browser was told about is stored once, counted once and mailed once.

Run them alone with ``pytest -m proof``; they need TEST_DATABASE_URL (PostgreSQL)
and TEST_REDIS_URL."""
from __future__ import annotations

import http.client
import os
import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.stack_helpers import (
    assert_counts_exact,
    delivered,
    new_campaign,
    outbox,
    queued,
    shown_count,
    sign,
    signature_counts,
    signed,
    signer,
    wait_for,
)
from tests.fixtures.processes import http_request

pytestmark = [pytest.mark.slow, pytest.mark.attack, pytest.mark.proof]

CLIENTS = 50
SIGNERS_PER_CLIENT = 20
SIGNERS = CLIENTS * SIGNERS_PER_CLIENT
REPEATS = 3           # each sign POST sent this many times at once (a double or triple click)
KILL_EVERY = 2.0      # seconds between two SIGKILLs of a web worker
KILL_RUN_SECONDS = 20.0  # the 1,000 signs are spread over at least this long: about 9 kills
KILL_INTO_BURST = 0.02  # each kill lands this long after a burst of signs began
CONFIRMED = 100       # signers who then press their confirmation link (twice at once)


def smtp_worker(start_worker, smtp_relay, name: str = "worker"):
    return start_worker(name, MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_relay.port,
                        OUTBOX_POLL_SECONDS=0.2)


def all_mail_delivered(stack, smtp_relay, expected: int):
    """Wait until the outbox is empty and ``expected`` mails arrived; return them."""
    wait_for(lambda: queued(stack) == 0 and len(smtp_relay.mailbox.received) >= expected, 120,
             f"{expected} mails and an empty outbox")
    time.sleep(1)  # anything more (a duplicate) would arrive now
    return delivered(smtp_relay)


def test_a_thousand_signers_each_clicking_three_times_at_once(stack, start_worker, smtp_relay):
    slug = "crowd-clicks"
    campaign_id = new_campaign(stack, slug)
    # Two workers share the queue (SKIP LOCKED), as `flask worker` scaled out does:
    # each signature is still taken once and mailed once.
    workers = [smtp_worker(start_worker, smtp_relay, name) for name in ("worker-1", "worker-2")]
    outbox_before = outbox(stack)
    answers: Counter = Counter()

    def client(c: int) -> None:
        with ThreadPoolExecutor(REPEATS) as pool:
            for s in range(SIGNERS_PER_CLIENT):
                who = signer(c * SIGNERS_PER_CLIENT + s, "crowd")
                together = threading.Barrier(REPEATS)

                def click(_):
                    together.wait()
                    return sign(stack, slug, who)

                for answer in pool.map(click, range(REPEATS)):
                    answers["signed" if signed(answer, slug) else answer.status] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    signing_seconds = time.monotonic() - started
    assert answers == {"signed": SIGNERS * REPEATS}, answers

    assert signature_counts(stack, campaign_id) == {"pending": SIGNERS}
    mails = all_mail_delivered(stack, smtp_relay, SIGNERS)
    per_signer = Counter(mail.to for mail in mails)
    assert set(per_signer) == {signer(n, "crowd")["email"] for n in range(SIGNERS)}
    assert set(per_signer.values()) == {1}, "exactly one confirmation mail per signer"
    assert len({mail.message_id for mail in mails}) == SIGNERS
    assert assert_counts_exact(stack, campaign_id) == {"pending": SIGNERS, "verified": 0}

    # Some of them confirm, each pressing the button twice at once: counted once.
    def confirm(mail) -> list[int]:
        path = mail.path("confirm")
        with ThreadPoolExecutor(2) as pool:
            return [a.status for a in pool.map(lambda _: http_request("POST", stack.url + path, {}), range(2))]

    with ThreadPoolExecutor(10) as pool:
        presses = Counter(status for statuses in pool.map(confirm, mails[:CONFIRMED]) for status in statuses)
    assert presses == {303: 2 * CONFIRMED}, presses
    assert assert_counts_exact(stack, campaign_id) == {"pending": SIGNERS - CONFIRMED, "verified": CONFIRMED}
    wait_for(lambda: shown_count(stack, slug) == CONFIRMED, 10, "the page to show the confirmed count")
    assert all(worker.alive for worker in workers)
    print(f"\n{SIGNERS} signers × {REPEATS} clicks: {SIGNERS * REPEATS} POSTs in {signing_seconds:.1f} s "
          f"({SIGNERS * REPEATS / signing_seconds:.0f}/s); {len(mails)} mails; outbox {dict(outbox(stack) - outbox_before)}")


def test_web_workers_killed_every_two_seconds_lose_no_acknowledged_signature(stack, start_worker, smtp_relay):
    slug = "crowd-kills"
    campaign_id = new_campaign(stack, slug)
    smtp_worker(start_worker, smtp_relay)
    outbox_before = outbox(stack)
    kills: list[int] = []
    done = threading.Event()

    def killer() -> None:
        # One of the two workers every KILL_EVERY seconds, a moment into a burst of
        # the paced signing (see client), so that it has requests in hand. Only once
        # both serve: a new worker needs a moment to start, and on a busy machine
        # kills faster than that would leave no worker at all.
        tick = 1
        while not done.wait(max(0.0, started + tick * KILL_EVERY + KILL_INTO_BURST - time.monotonic())):
            tick += 1
            workers = stack.web.workers(serving=True)
            if len(workers) < 2:
                continue
            pid = random.choice(workers)
            try:
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)
            except ProcessLookupError:  # it had just exited
                pass

    acknowledged: set[str] = set()
    retries = Counter()
    failures = Counter()
    lock = threading.Lock()

    def client(c: int) -> None:
        for s in range(SIGNERS_PER_CLIENT):
            # Paced in bursts (every client at once, once a second), so that the kills
            # land during the signing, and on workers with requests in hand, however
            # fast a sign is.
            time.sleep(max(0.0, started + s * KILL_RUN_SECONDS / SIGNERS_PER_CLIENT - time.monotonic()))
            who = signer(c * SIGNERS_PER_CLIENT + s, "kills")
            for attempt in range(30):
                try:
                    answer = sign(stack, slug, who, timeout=60)
                except (OSError, http.client.HTTPException) as exc:
                    # The connection dropped (its worker was killed): a browser tries again.
                    with lock:
                        retries[type(exc).__name__] += 1
                    time.sleep(0.1 * (attempt + 1))
                    continue
                with lock:
                    if signed(answer, slug):
                        acknowledged.add(who["email"])
                    else:
                        failures[answer.status] += 1
                break

    kill_thread = threading.Thread(target=killer, daemon=True)
    started = time.monotonic()
    kill_thread.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))
    finally:
        done.set()
        kill_thread.join()
    signing_seconds = time.monotonic() - started

    assert failures == {}, failures
    assert stack.web.alive, "the gunicorn master survives its workers"
    assert len(kills) >= 5, kills
    assert sum(retries.values()) > 0, "no kill caught a request in flight"
    rows = signature_counts(stack, campaign_id)
    assert rows == {"pending": len(acknowledged)}, rows
    assert len(acknowledged) == SIGNERS, f"{SIGNERS - len(acknowledged)} signers gave up after 30 tries"

    mails = all_mail_delivered(stack, smtp_relay, len(acknowledged))
    per_signer = Counter(mail.to for mail in mails)
    assert set(per_signer) == acknowledged
    assert set(per_signer.values()) == {1}, "mailed exactly once"
    assert assert_counts_exact(stack, campaign_id) == {"pending": SIGNERS, "verified": 0}
    wait_for(lambda: len(stack.web.workers()) == 2, 30, "gunicorn to run 2 workers again")
    print(f"\n{SIGNERS} signs in {signing_seconds:.1f} s with {len(kills)} SIGKILLs of web workers; "
          f"retries after dropped connections: {dict(retries)}; {len(mails)} mails; "
          f"outbox {dict(outbox(stack) - outbox_before)}")
