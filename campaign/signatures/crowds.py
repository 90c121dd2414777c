"""Signing from a crowded connection: a family, a university, a carrier's shared
address (carrier-grade NAT), a Tor exit. A hard "too many requests" there refuses
real people, so signing is never refused for its rate; it is admitted in tiers,
counted per hashed address (the limiter's key, in its storage: Redis when shared):

1. within the allowance (RATELIMIT_SIGN): signed as usual;
2. past it: the form asks the browser for a small self-hosted proof of work
   (altcha). Solved, and not solved before: signed as usual. A browser without
   JavaScript cannot solve it; sent again without a solution, the signature is
   stored but held for review (SignatureState.held), so a script gains nothing
   countable by skipping the work;
3. past RATELIMIT_SIGN_HOLD: signed, but held for review even with the work done.

Held signatures are kept out of every count until a moderator releases them on
the "Unusual activity" page. The signer sees the same check-email page whatever
happened, and gets the same confirmation e-mail.
"""
from __future__ import annotations

import datetime as dt
import enum
import logging
import time

import altcha
import sqlalchemy as sa
from flask import current_app
from limits import parse_many
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign.extensions import limiter
from campaign.privacy.keys import keyed_hash, utcnow
from campaign.signatures.models import UsedChallenge

# The hidden field the challenge form carries, so that a post without a solution
# can be told apart: "the check was offered and could not run" (held) from "the
# check was never asked for" (ask for it).
OFFERED_FIELD = "crowd_check"
SOLUTION_FIELD = "altcha"
# A payload is a base64 JSON of a challenge and its solution: well under this.
MAX_PAYLOAD = 4096

log = logging.getLogger(__name__)

_TIERS = (("RATELIMIT_SIGN", "sign-allowance"), ("RATELIMIT_SIGN_HOLD", "sign-hold"))


class Admission(enum.Enum):
    sign = "sign"            # sign as usual
    hold = "hold"            # sign, held for review
    ask = "ask"              # show the form again with the check
    refused = "refused"      # a solution that is wrong, expired or already spent


def _within(config_name: str, scope: str, key: str) -> bool:
    strategy = limiter.limiter
    try:
        return all(strategy.test(item, scope, key) for item in parse_many(current_app.config[config_name]))
    except Exception:  # the counter store is down: a signature is worth more than a limit
        log.warning("rate-limit storage unreachable; signing admitted without its %s check", scope)
        return True


def admit(session: Session, ip_key: str, *, solution: str | None, offered: bool) -> Admission:
    """How to take a valid signing form posted from the connection ``ip_key`` (the
    day's hashed address). Spends ``solution`` if it is needed and valid."""
    if not limiter.enabled or not current_app.config.get("RATELIMIT_ENABLED", True):
        return Admission.sign
    past_hold = not _within("RATELIMIT_SIGN_HOLD", "sign-hold", ip_key)
    if _within("RATELIMIT_SIGN", "sign-allowance", ip_key):
        return Admission.hold if past_hold else Admission.sign
    if solution:
        if not spend_solution(session, solution):
            return Admission.refused
        return Admission.hold if past_hold else Admission.sign
    return Admission.hold if offered else Admission.ask


def count_signing(ip_key: str) -> None:
    """Count one signature from ``ip_key`` towards both thresholds."""
    if not limiter.enabled or not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    strategy = limiter.limiter
    try:
        for config_name, scope in _TIERS:
            for item in parse_many(current_app.config[config_name]):
                strategy.hit(item, scope, ip_key)
    except Exception:  # the signature is saved already; a lost count is the lesser harm
        log.warning("rate-limit storage unreachable; a signature was not counted towards its limits")


# --- The proof of work -------------------------------------------------------------

def _secret() -> str:
    # Derived from SECRET_KEY, so a challenge signed here is checked on every node.
    return keyed_hash(current_app.config["SECRET_KEY"].encode(), "altcha-challenge")


def new_challenge() -> dict:
    """A signed challenge for the widget (its JSON goes in the page): PBKDF2, so the
    browser solves it with Web Crypto in a worker, and the server checks it with
    one derivation."""
    config = current_app.config
    challenge = altcha.create_challenge(
        config["ALTCHA_ALGORITHM"],
        config["ALTCHA_COST"],
        key_prefix=config["ALTCHA_KEY_PREFIX"],
        expires_at=int(time.time()) + config["ALTCHA_EXPIRES_SECONDS"],
        hmac_secret=_secret(),
    )
    return challenge.to_dict()


def spend_solution(session: Session, payload: str) -> bool:
    """Whether ``payload`` solves a challenge of ours that has not expired and was
    never spent; if so it is marked spent (in the caller's transaction, so a
    signature that fails to save does not use it up). Two posts of one solution
    at once: the primary key lets one through."""
    if not payload or len(payload) > MAX_PAYLOAD:
        return False
    try:
        result = altcha.verify_solution(payload, _secret())
        if not result.verified:
            return False
        challenge = altcha.Payload.from_base64(payload).challenge
        expires_at = dt.datetime.fromtimestamp(int(challenge.parameters.expires_at), dt.UTC).replace(tzinfo=None)
    except (ValueError, TypeError, KeyError, OverflowError, AttributeError):
        return False
    try:
        with session.begin_nested():
            session.add(UsedChallenge(signature=str(challenge.signature)[:128], expires_at=expires_at))
            session.flush()
    except IntegrityError:
        return False
    return True


def forget_expired_challenges(session: Session) -> int:
    """Spent challenges that have expired cannot be replayed anyway: delete them."""
    result = session.execute(sa.delete(UsedChallenge).where(UsedChallenge.expires_at < utcnow()))
    session.flush()
    return result.rowcount or 0
