"""Signing through the stack (gunicorn + workers, tests/fixtures/processes.py) as
browsers do, and reading back what it stored and mailed."""
from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa

from campaign.campaigns.models import Campaign, CountChange
from campaign.extensions import db
from campaign.outbox.models import MessageKind, MessageState, OutboxMessage
from campaign.signatures.models import Signature, SignatureState
from campaign.signatures.services import reconcile_counts
from tests.fixtures.campaigns import create_campaign
from tests.fixtures.processes import Answer, http_request

COUNTRIES = ("LB", "SY", "EG", "MA", "PS", "GB", "FR", "TN")


def new_campaign(stack, slug: str) -> int:
    """A published campaign on the stack's database; returns its id."""
    with stack.app.app_context():
        campaign_id = create_campaign(db.session, slug=slug).id
        db.session.remove()
    return campaign_id


def signer(n: int, tag: str) -> dict:
    """The form of signer ``n`` (every other one signs in Arabic, with an Arabic name)."""
    lang = "ar" if n % 2 else "en"
    name = f"ليلى حداد {n}" if lang == "ar" else f"Sam Jones {n}"
    return {"lang": lang, "name": name, "email": f"{tag}-{n}@mail.example", "country": COUNTRIES[n % len(COUNTRIES)],
            "visibility": ("initials", "full_name", "counted")[n % 3]}


def sign(stack, slug: str, who: dict, *, timeout: float = 30) -> Answer:
    """POST the sign form as a browser does (Fetch Metadata: same-origin)."""
    form = {k: v for k, v in who.items() if k != "lang"}
    return http_request("POST", f"{stack.url}/{who['lang']}/c/{slug}/sign", form, timeout=timeout)


def signed(answer: Answer, slug: str) -> bool:
    """The answer every successful sign gets: 303 to the check-email page."""
    return answer.status == 303 and answer.headers.get("location", "").endswith(f"/c/{slug}/check-email")


def wait_for(condition, timeout: float, what: str, every: float = 0.2):
    """``condition()``'s first true value within ``timeout`` seconds, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def outbox(stack) -> Counter:
    """Outbox rows by (state, last_error): ("queued", None), ("dead", "repeat")…"""
    with stack.app.app_context():
        rows = db.session.execute(
            sa.select(OutboxMessage.state, OutboxMessage.last_error, sa.func.count())
            .group_by(OutboxMessage.state, OutboxMessage.last_error)
        ).all()
        db.session.remove()
    return Counter({(state.value, error): n for state, error, n in rows})


def queued(stack) -> int:
    return sum(n for (state, _), n in outbox(stack).items() if state == MessageState.queued.value)


def queued_tasks(stack) -> int:
    with stack.app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == MessageKind.task, OutboxMessage.state == MessageState.queued))
        db.session.remove()
    return n


def signature_counts(stack, campaign_id: int) -> Counter:
    """COUNT(*) of the campaign's signatures by state, once the worker has taken
    every sign form's task (the request only queues what was typed)."""
    wait_for(lambda: queued_tasks(stack) == 0, 60, "the worker to take every signature queued")
    with stack.app.app_context():
        rows = db.session.execute(
            sa.select(Signature.state, sa.func.count()).where(Signature.campaign_id == campaign_id)
            .group_by(Signature.state)
        ).all()
        db.session.remove()
    return Counter({state.value: n for state, n in rows})


def assert_counts_exact(stack, campaign_id: int) -> dict:
    """Once the worker has folded every recorded change, the campaign's stored counts
    are COUNT(*) of its pending and verified signatures, and reconciling finds
    nothing to correct. Returns the counts."""
    def folded() -> bool:
        with stack.app.app_context():
            left = db.session.scalar(sa.select(sa.func.count()).select_from(CountChange)
                                     .where(CountChange.campaign_id == campaign_id))
            db.session.remove()
        return left == 0

    wait_for(folded, 30, "the worker to fold the count changes")
    actual = signature_counts(stack, campaign_id)
    with stack.app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        stored = {"pending": campaign.pending_folded, "verified": campaign.verified_folded}
        fixes = [fix for fix in reconcile_counts(db.session) if fix[0] == campaign.slug]
        db.session.remove()
    assert stored == {"pending": actual[SignatureState.pending.value],
                      "verified": actual[SignatureState.verified.value]}, (stored, actual)
    assert fixes == [], fixes
    return stored


def shown_count(stack, slug: str) -> int:
    """The count the public campaign page shows (through the page cache)."""
    html = http_request("GET", f"{stack.url}/en/c/{slug}").body
    return int(re.search(r'class="progress" data-count="(\d+)"', html).group(1))


@dataclass
class Mail:
    """A delivered mail, from either backend."""
    to: str
    message_id: str
    subject: str
    text: str
    via: str

    def path(self, kind: str) -> str:
        """The path of the mail's ``kind`` link ("confirm", "withdraw")."""
        for url in re.findall(r"https?://\S+", self.text):
            if f"/{kind}/" in url:
                return urlsplit(url).path
        raise AssertionError(f"no {kind} link in the mail to {self.to}")


def delivered(smtp=None, sendgrid=None) -> list[Mail]:
    """Every mail the SMTP server accepted and the SendGrid stub answered 202 to."""
    mails = []
    for received in list(smtp.mailbox.received if smtp else []):
        message = received.message
        text = message.get_body(preferencelist=("plain",)).get_content()
        for to in received.rcpt_tos:
            mails.append(Mail(to, message["Message-ID"], message["Subject"], text, "smtp"))
    for payload in list(sendgrid.accepted if sendgrid else []):
        text = next(part["value"] for part in payload["content"] if part["type"] == "text/plain")
        mails.append(Mail(sendgrid.recipient(payload), payload["headers"]["Message-ID"], payload["subject"], text,
                          "sendgrid"))
    return mails
