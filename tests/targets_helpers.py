"""Shared setup for the targets tests: a directory, a campaign addressed to it with
a letter, and confirmed signers (made through the real sign and verify services)."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from campaign.organiser.models import Organisation
from campaign.outbox.models import OutboxMessage
from campaign.signatures import services as signatures
from campaign.signatures.models import Visibility
from campaign.signatures.services import SignInput
from campaign.targets import services
from campaign.targets.services import TargetInput
from tests.fixtures.mail import queued_mail

LETTER = {
    "ar": ("أوقفوا الترحيل", "إلى {target}،\nأرجو أن تتحركوا الآن.\n{name} — {country}"),
    "en": ("Stop the deportations", "To {target},\nPlease act now.\n{name} — {country}"),
}


def target_input(code: str, **overrides) -> TargetInput:
    values = dict(code=code, kind="un", names={"ar": f"هيئة {code}", "en": f"Body {code}"},
                  email=f"{code}@un.example.org", x_handle=f"fake_{code}"[:15].replace("-", "_"))
    values.update(overrides)
    return TargetInput(**values)


@pytest.fixture
def addressed(session, make_campaign):
    """A published campaign of 'Cairo Rights Group' addressed to two targets (the
    second one never receives names), with a letter in both languages. Returns
    (campaign, [open_target, guarded_target])."""
    organisation = Organisation(name="Cairo Rights Group")
    session.add(organisation)
    session.flush()
    campaign = make_campaign(organisation_id=organisation.id, hashtag="FreeThemDemo")
    first = services.save_target(session, None, organisation.id, target_input("un-desk"))
    guarded = services.save_target(session, None, organisation.id, target_input(
        "embassy-x", kind="embassy", names={"ar": "سفارة مثال", "en": "Example Embassy"},
        email="consular@embassy.example.org", x_handle="", bluesky_handle="embassy.example.org",
        never_send_names=True))
    services.set_campaign_targets(session, None, campaign, {first.id: 60, guarded.id: 2})
    services.set_letter(session, None, campaign, LETTER)
    session.commit()
    return campaign, [first, guarded]


def confirmed_signer(session, campaign, email: str, *, name: str = "Layla Haddad", country: str = "LB",
                     locale: str = "en"):
    """Sign and confirm through the signature services, as the web does."""
    signature, _ = signatures.sign(
        session, campaign,
        SignInput(name=name, email=email, country=country, comment=None, visibility=Visibility.counted,
                  opt_in=False),
        locale=locale, ip_key=None,
    )
    message = session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.signature_id == signature.id).order_by(OutboxMessage.id.desc())
    ).first()
    token = re.search(r"/confirm/([A-Za-z0-9_-]+)", queued_mail(message)["text"]).group(1)
    signatures.verify(session, token)
    session.commit()
    return signature


def letters_outbox(session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.template == "target_letter").order_by(OutboxMessage.id)
    ))


