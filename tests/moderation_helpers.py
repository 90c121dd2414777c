"""Signatures made the way signers make them, for moderation and export tests."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from campaign.extensions import db
from campaign.privacy.keys import utcnow
from campaign.signatures import services
from campaign.signatures.models import Signature, SignatureState, Visibility
from campaign.signatures.services import SignInput


@pytest.fixture
def add_signature(app):
    """Sign ``campaign`` through signatures.services.sign, then (by default) confirm
    it as the confirmation link would. Keyword arguments: name, email, verified,
    ip_key, created_at, opt_in, visibility, country, comment, locale (each default
    address has a domain of its own). Returns the
    signature (flushed, not committed)."""
    counter = itertools.count(1)

    def factory(
        campaign,
        name: str = "Layla Haddad",
        email: str | None = None,
        *,
        verified: bool = True,
        ip_key: str | None = None,
        created_at: dt.datetime | None = None,
        opt_in: bool = False,
        visibility: Visibility = Visibility.full_name,
        country: str = "LB",
        comment: str | None = None,
        locale: str = "en",
    ) -> Signature:
        n = next(counter)
        signature, _ = services.sign(
            db.session, campaign,
            SignInput(name=name, email=email or f"signer{n}@mail{n}.example", country=country, comment=comment,
                      visibility=visibility, opt_in=opt_in),
            locale=locale, ip_key=ip_key,
        )
        if created_at is not None:
            signature.created_at = created_at
        if verified:
            services.move(db.session, signature, SignatureState.verified, verified_at=created_at or utcnow())
            # As after the confirmation mail has gone: the address goes unless opted in.
            if not opt_in:
                signature.email = None
        db.session.flush()
        return signature

    return factory
