"""Timing attacks: the answer to sign, resend, erase and organiser login takes as long
for an address that is known (has signed, has an account) as for one that is not.

Each test sends interleaved tries of known and unknown addresses through the test
client and compares them with a permutation test on the median: no difference at
p < 0.01, and medians within 1 ms. The tries are compared in pairs (a known and an
unknown try sent one after the other): the machine is shared, and its load, which
can double a response time within seconds, then weighs on both sides of each pair
alike instead of drowning a millisecond in the spread of the whole run."""
from __future__ import annotations

import gc
import random
import statistics
import time

import pytest
import sqlalchemy as sa

from campaign.extensions import db
from campaign.signatures import services as signatures
from campaign.signatures.models import Visibility
from tests.conftest import csrf_token

pytestmark = [pytest.mark.slow, pytest.mark.attack]

TRIES = 120
ROUNDS = 3
WARM_UP = 15


def permutation_p(differences: list[float], rounds: int = 3000) -> float:
    """Two-sided p-value of the median of paired differences (known − unknown) under
    random relabelling within each pair (a sign flip of its difference)."""
    observed = abs(statistics.median(differences))
    rng = random.Random(13)
    extreme = 0
    for _ in range(rounds):
        flipped = [d if rng.random() < 0.5 else -d for d in differences]
        if abs(statistics.median(flipped)) >= observed:
            extreme += 1
    return (extreme + 1) / (rounds + 1)


def timed(send) -> float:
    started = time.perf_counter()
    response = send()
    elapsed = time.perf_counter() - started
    assert response.status_code in (303, 422), response.status_code
    return elapsed


def assert_indistinguishable(label: str, known, unknown) -> None:
    """``known(i)`` and ``unknown(i)`` each send the i-th try and return the response.

    TRIES pairs, and up to ROUNDS - 1 more rounds while the estimate is outside the
    bounds (a loaded machine spreads the times): the assertion is always on every pair
    collected. ``known`` gets i modulo TRIES + WARM_UP, ``unknown`` a fresh i."""
    for i in range(WARM_UP):
        timed(lambda: known(TRIES + i))
        timed(lambda: unknown(TRIES * ROUNDS + i))
    a, b = [], []
    for round_ in range(ROUNDS):
        # The collector's pauses land on either side at random: noise, not signal.
        gc.collect()
        gc.disable()
        try:
            for i in range(round_ * TRIES, (round_ + 1) * TRIES):
                # Alternate which goes first, so neither side always follows the other.
                if i % 2:
                    a.append(timed(lambda: known(i % TRIES)))
                    b.append(timed(lambda: unknown(i)))
                else:
                    b.append(timed(lambda: unknown(i)))
                    a.append(timed(lambda: known(i % TRIES)))
        finally:
            gc.enable()
        differences = [x - y for x, y in zip(a, b)]
        p = permutation_p(differences)
        gap_ms = statistics.median(differences) * 1000
        print(f"\n{label}: {len(a)} pairs, known {statistics.median(a) * 1000:.2f} ms, "
              f"unknown {statistics.median(b) * 1000:.2f} ms, median paired gap {gap_ms:+.2f} ms, p = {p:.4f}")
        if abs(gap_ms) < 1.0 and p >= 0.01:
            break
    assert abs(gap_ms) < 1.0, f"{label}: medians differ by {gap_ms:.2f} ms"
    assert p >= 0.01, f"{label}: the difference is significant (p = {p:.4f})"


@pytest.fixture
def site(make_app, make_campaign):
    """An app with an open campaign, and no app context held open during the tries (so
    each request gets its own session, as in production). Yields (app, client, slug)."""
    app = make_app()
    with app.app_context():
        slug = make_campaign().slug
    yield app, app.test_client(), slug


def sign_up(app, slug: str, addresses) -> None:
    """Sign with each address, straight through the service (the known side)."""
    from campaign.campaigns.models import Campaign

    with app.test_request_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.slug == slug))
        for address in addresses:
            signatures.sign(db.session, campaign, signatures.SignInput(
                name="Known Signer", email=address, country="LB", comment=None,
                visibility=Visibility.counted, opt_in=False), locale="en", ip_key=None)
        db.session.commit()
        db.session.remove()


def known_addresses(n: int = TRIES + WARM_UP) -> list[str]:
    return [f"known{i}@mail.example" for i in range(n)]


def test_sign_takes_as_long_for_an_address_that_signed(site):
    app, client, slug = site
    sign_up(app, slug, known_addresses())
    token = csrf_token(client, f"/en/c/{slug}")

    def sign(address):
        return client.post(f"/en/c/{slug}/sign", data={
            "csrf_token": token, "name": "Someone", "email": address, "country": "LB", "visibility": "counted"})

    # Both send the same two statements (take_signature): the campaign, and one task
    # with what was typed. The row, the count and the mail are the worker's work: a
    # new row's seven index entries, written in the request, made a known address
    # ~0.05 ms faster (p ≈ 0.0003).
    assert_indistinguishable("sign", lambda i: sign(f"known{i}@mail.example"),
                             lambda i: sign(f"unknown{i}@mail.example"))


def test_resend_takes_as_long_for_an_address_that_signed(site):
    app, client, slug = site
    sign_up(app, slug, known_addresses())
    token = csrf_token(client, f"/en/c/{slug}/check-email")

    def resend(address):
        return client.post(f"/en/c/{slug}/resend", data={"csrf_token": token, "email": address})

    assert_indistinguishable("resend", lambda i: resend(f"known{i}@mail.example"),
                             lambda i: resend(f"unknown{i}@mail.example"))


def test_erase_request_takes_as_long_for_an_address_that_signed(site):
    app, client, slug = site
    sign_up(app, slug, known_addresses())
    token = csrf_token(client, "/en/erase")

    def erase(address):
        return client.post("/en/erase", data={"csrf_token": token, "email": address})

    assert_indistinguishable("erase", lambda i: erase(f"known{i}@mail.example"),
                             lambda i: erase(f"unknown{i}@mail.example"))


def test_login_takes_as_long_for_an_organiser_address(site, make_organiser):
    app, client, _ = site
    with app.app_context():
        for i in range(TRIES + WARM_UP):
            make_organiser("owner", email=f"known{i}@org.example")
        db.session.remove()
    token = csrf_token(client, "/en/manage/login")

    def login(address):
        return client.post("/en/manage/login", data={
            "csrf_token": token, "email": address, "password": "not the password at all"})

    # A failed login's audit entry names the real account by a plain id: a foreign key
    # there cost PostgreSQL a check (~0.05 ms) that an unknown address never paid.
    assert_indistinguishable("login", lambda i: login(f"known{i}@org.example"),
                             lambda i: login(f"unknown{i}@org.example"))
