"""Signing from a crowded connection (campaign/signatures/crowds.py): past the
allowance a proof of work, past the hold threshold (or without JavaScript) held for
review; never refused for its rate. And limits that hold across processes."""
from __future__ import annotations

import base64
import datetime as dt
import html
import json
import os
import re
import subprocess
import sys

import altcha
import pytest
import sqlalchemy as sa

from campaign.campaigns.models import Campaign
from campaign.config import ROOT
from campaign.extensions import db, limiter
from campaign.outbox.cli import run_worker
from campaign.gunicorn_conf import refuse_unshared_limits
from campaign.privacy.keys import ip_key
from campaign.signatures.models import Signature, SignatureState, UsedChallenge
from tests.conftest import link_in
from tests.fixtures.signatures import take_signatures

CROWD_ADDRESS = "203.0.113.50"  # one carrier-grade NAT address for everyone
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
# Cheap proof of work in tests: one PBKDF2 iteration, a one-hex-digit prefix.
CHEAP_WORK = {"ALTCHA_COST": 1, "ALTCHA_KEY_PREFIX": "0"}


def typed(n: int, lang: str = "en") -> dict:
    return {"name": f"Signer {n}", "email": f"crowd{n}@example.org", "country": "EG",
            "visibility": "counted", "comment": "", "website": ""}


def challenge_in(response) -> dict | None:
    """The challenge the page asks the browser to solve, if any."""
    match = re.search(r"<altcha-widget challenge='([^']*)'", response.get_data(as_text=True))
    return json.loads(html.unescape(match.group(1))) if match else None


def solve(challenge: dict) -> str:
    """What the widget would put in the form: the challenge and its solution."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed, timeout=10)
    assert solution is not None
    return altcha.Payload(parsed, solution).to_base64()


@pytest.fixture
def crowd_app(app, make_app, monkeypatch):
    """Limits on, as in production (allowance 5 a minute, hold past 60), counters in
    memory; made after ``app`` because every create_app() re-initialises the limiter."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGN="5 per minute;30 per hour",
                       RATELIMIT_SIGN_HOLD="60 per minute;600 per hour", **CHEAP_WORK)
    with limited.app_context():
        limiter.reset()
    return limited


def crowd_client(app):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = CROWD_ADDRESS
    return client


def stored(session) -> list[Signature]:
    """Every signature, once the worker has taken those the forms queued."""
    session.rollback()
    take_signatures()
    return list(session.scalars(sa.select(Signature).order_by(Signature.id)))


def counts(session, slug) -> tuple[int, int]:
    session.rollback()
    take_signatures()
    campaign = session.scalar(sa.select(Campaign).where(Campaign.slug == slug))
    return campaign.verified_count, campaign.pending_count


def test_two_hundred_people_on_one_address_all_sign(crowd_app, make_campaign, session):
    """200 signers behind one address within a minute: every one ends on the
    check-email page and every signature is stored. The first five sign as usual;
    then the browser solves the check (those without JavaScript are held); past 60
    in the minute, signatures are held for review even with the check solved."""
    slug = make_campaign().slug
    client = crowd_client(crowd_app)
    without_js = set(range(10, 200, 10))
    asked = []
    for n in range(200):
        response = client.post(f"/en/c/{slug}/sign", data=typed(n), headers=SAME_ORIGIN)
        if response.status_code == 200:
            challenge = challenge_in(response)
            assert challenge is not None, "past the allowance the form asks for the check"
            asked.append(n)
            extra = {"crowd_check": "offered"}
            if n not in without_js:
                extra["altcha"] = solve(challenge)
            response = client.post(f"/en/c/{slug}/sign", data=dict(typed(n), **extra), headers=SAME_ORIGIN)
        assert response.status_code == 303, (n, response.status_code)
        assert response.headers["Location"].endswith(f"/en/c/{slug}/check-email")

    assert asked == list(range(5, 200))
    rows = stored(session)
    assert len(rows) == 200, "nobody is dropped"
    states = {int(s.name.split()[1]): s.state for s in rows}
    for n, state in states.items():
        expected = SignatureState.held if (n in without_js or n >= 60) else SignatureState.pending
        assert state == expected, (n, state)
    held = sum(1 for s in states.values() if s == SignatureState.held)
    assert held == 140 + len([n for n in without_js if n < 60])
    # Held signatures stay out of every count until released.
    assert counts(session, slug) == (0, 200 - held)
    assert session.scalar(sa.select(sa.func.count()).select_from(UsedChallenge)) == 195 - len(without_js)


def test_a_reused_solution_is_refused(crowd_app, make_campaign, session):
    slug = make_campaign().slug
    client = crowd_client(crowd_app)
    for n in range(5):
        assert client.post(f"/en/c/{slug}/sign", data=typed(n), headers=SAME_ORIGIN).status_code == 303
    asked = client.post(f"/ar/c/{slug}/sign", data=typed(5), headers=SAME_ORIGIN)
    payload = solve(challenge_in(asked))
    first = client.post(f"/ar/c/{slug}/sign", data=dict(typed(5), altcha=payload, crowd_check="offered"),
                        headers=SAME_ORIGIN)
    assert first.status_code == 303

    again = client.post(f"/ar/c/{slug}/sign", data=dict(typed(6), altcha=payload, crowd_check="offered"),
                        headers=SAME_ORIGIN)
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert 'dir="rtl"' in page and "error-summary" in page
    fresh = challenge_in(again)
    assert fresh is not None and fresh["signature"] != json.loads(
        base64.b64decode(payload))["challenge"]["signature"], "a fresh challenge is offered"
    # A tampered challenge (a cheaper prefix than we signed) is refused the same way.
    tampered = json.loads(base64.b64decode(solve(fresh)))
    tampered["challenge"]["parameters"]["keyPrefix"] = ""
    forged = base64.b64encode(json.dumps(tampered).encode()).decode()
    assert client.post(f"/en/c/{slug}/sign", data=dict(typed(7), altcha=forged, crowd_check="offered"),
                       headers=SAME_ORIGIN).status_code == 422
    assert client.post(f"/en/c/{slug}/sign", data=dict(typed(7), altcha="garbage", crowd_check="offered"),
                       headers=SAME_ORIGIN).status_code == 422
    assert [s.name for s in stored(session)] == [f"Signer {n}" for n in range(6)]


def test_a_held_signature_counts_once_released(crowd_app, make_campaign, make_organiser, session, deliver):
    """Held without JavaScript: the signer still confirms by e-mail; it counts only
    when a moderator releases the connection's held signatures."""
    from campaign.moderation import services as moderation

    owner = make_organiser()
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    slug, campaign_id = campaign.slug, campaign.id
    client = crowd_client(crowd_app)
    for n in range(5):
        client.post(f"/en/c/{slug}/sign", data=typed(n), headers=SAME_ORIGIN)
    response = client.post(f"/en/c/{slug}/sign", data=dict(typed(5), crowd_check="offered"),
                           headers=SAME_ORIGIN)
    assert response.status_code == 303
    messages = deliver()
    confirm = link_in(messages[-1], "/confirm/").split("sawt.test", 1)[1]
    assert client.post(confirm, headers=SAME_ORIGIN).status_code == 303
    held = stored(session)[-1]
    assert held.state == SignatureState.held and held.verified_at is not None
    assert counts(session, slug) == (0, 5)

    with crowd_app.test_request_context():
        owner = session.merge(owner)
        campaign = session.get(Campaign, campaign_id)
        assert moderation.held_sources(session, campaign)[0].held == 1
        with pytest.raises(moderation.CountChanged):
            moderation.release_held(session, owner, campaign, held.ip_key, expected=2)
        assert moderation.release_held(session, owner, campaign, held.ip_key, expected=1) == 1
        session.commit()
    assert stored(session)[-1].state == SignatureState.verified
    assert counts(session, slug) == (1, 5)


def test_the_burst_panel_shows_held_signatures(crowd_app, make_campaign, make_organiser, session):
    from tests.conftest import login

    owner = make_organiser()
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    slug, campaign_id = campaign.slug, campaign.id
    client = crowd_client(crowd_app)
    for n in range(7):
        client.post(f"/en/c/{slug}/sign", data=dict(typed(n), crowd_check="offered"), headers=SAME_ORIGIN)
    take_signatures(crowd_app)
    moderator = crowd_app.test_client()
    with crowd_app.app_context():
        login(moderator, owner)
    for lang in ("en", "ar"):
        page = moderator.get(f"/{lang}/manage/campaigns/{campaign_id}/fraud").get_data(as_text=True)
        assert 'id="held"' in page and ('Release 2 signatures' in page or lang == "ar")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    key = stored(session)[-1].ip_key
    response = moderator.post(f"/en/manage/campaigns/{campaign_id}/held/release",
                              data={"csrf_token": token, "value": key, "expected": 2})
    assert response.status_code == 303
    assert [s.state for s in stored(session)].count(SignatureState.held) == 0
    assert counts(session, slug) == (0, 7)


# --- Limits across processes ---------------------------------------------------------------------

def test_more_than_one_worker_without_redis_refuses_to_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "GUNICORN", "DATABASE_URL"))}
    env.update(WEB_CONCURRENCY="2", PORT="0", DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
               SECRET_KEY="s", DATA_KEY="d", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "python:campaign.gunicorn_conf", "app:app"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr and "2 web workers" in result.stderr
    # One worker, or a shared Redis, is fine; without REDIS_URL the default is one.
    refuse_unshared_limits(1, {})
    refuse_unshared_limits(4, {"REDIS_URL": "redis://127.0.0.1:6379/0"})


def test_limits_are_counted_across_app_instances_sharing_redis(app, make_app, make_campaign, monkeypatch,
                                                               redis_store, session):
    """Two app instances (as two gunicorn workers or two nodes) on one Redis: the
    allowance is spent once between them, the resend limit too, and Redis holds only
    hashed addresses. A separate client of that Redis reads the same count."""
    from limits import parse
    from limits.storage import storage_from_string
    from limits.strategies import FixedWindowRateLimiter

    monkeypatch.setenv("REDIS_URL", redis_store.url)
    slug = make_campaign().slug
    first = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGN="4 per minute", RATELIMIT_RESEND="3 per minute",
                     **CHEAP_WORK)
    second = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGN="4 per minute", RATELIMIT_RESEND="3 per minute",
                      **CHEAP_WORK)
    assert first.config["RATELIMIT_STORAGE_URI"] == second.config["RATELIMIT_STORAGE_URI"] == redis_store.url
    clients = [crowd_client(first), crowd_client(second)]
    statuses = [clients[n % 2].post(f"/en/c/{slug}/sign", data=typed(n), headers=SAME_ORIGIN).status_code
                for n in range(5)]
    assert statuses == [303, 303, 303, 303, 200], "the fifth, on either instance, is asked for the check"

    with first.app_context():
        key = ip_key(CROWD_ADDRESS)
    elsewhere = FixedWindowRateLimiter(storage_from_string(redis_store.url))
    assert elsewhere.get_window_stats(parse("4 per minute"), "sign-allowance", key).remaining == 0

    resends = [clients[n % 2].post(f"/en/c/{slug}/resend", data={"email": "crowd1@example.org"},
                                   headers=SAME_ORIGIN).status_code for n in range(4)]
    assert resends == [303, 303, 303, 429]

    dump = "\n".join(f"{k!r} {redis_store.dump(k)!r}" for k in redis_store.scan_iter())
    assert key in dump and CROWD_ADDRESS not in dump


def test_an_unreviewed_held_signature_does_not_keep_its_address(crowd_app, make_campaign, session):
    from campaign.privacy.keys import utcnow
    from campaign.signatures.services import erase_expired_pending

    slug = make_campaign().slug
    client = crowd_client(crowd_app)
    for n in range(6):
        client.post(f"/en/c/{slug}/sign", data=dict(typed(n), crowd_check="offered"), headers=SAME_ORIGIN)
    held = stored(session)[-1]
    assert held.state == SignatureState.held and held.email
    held.verify_expires_at = utcnow() - dt.timedelta(minutes=1)
    session.commit()
    with crowd_app.app_context():
        run_worker(crowd_app, once=True)  # its confirmation mail goes first
        erase_expired_pending(db.session)
        db.session.commit()
    assert stored(session)[-1].email is None


def test_signing_goes_on_when_the_counter_store_is_down(app, make_app, make_campaign, session):
    slug = make_campaign().slug
    broken = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    client = crowd_client(broken)
    for n in range(7):
        assert client.post(f"/en/c/{slug}/sign", data=typed(n), headers=SAME_ORIGIN).status_code == 303
    assert len(stored(session)) == 7
