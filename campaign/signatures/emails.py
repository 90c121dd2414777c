"""E-mail addresses: validation and the canonical form used to find duplicates."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


def normalise_email(address: str) -> str:
    """Validate syntax (no DNS) and return the address as it should be mailed.
    Raises ValueError with the validator's reason."""
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return result.normalized


def canonical_email(address: str) -> str:
    """One form per mailbox: case folded, +tags dropped, Gmail dots removed,
    international domains in their ASCII (IDNA) form."""
    return email_identity(address)[0]


def email_domain(address: str) -> str:
    return email_identity(address)[1]


def email_identity(address: str) -> tuple[str, str]:
    """The canonical address (canonical_email) and the domain in its ASCII form
    (email_domain), from one validation."""
    result = validate_email(address.strip(), check_deliverability=False)
    local = result.local_part.casefold()
    domain = (result.ascii_domain or result.domain).lower()
    address_domain = domain
    local = local.split("+", 1)[0] or local
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}", address_domain
