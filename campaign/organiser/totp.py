"""Two-factor codes: TOTP (RFC 6238, via pyotp), its QR code, and recovery codes.

Only pure functions live here; the services decide when a code is accepted and
write what changed. The QR code is drawn here as inline SVG (segno), so the secret
never leaves the server for an image service.
"""
from __future__ import annotations

import secrets
import time

import pyotp
import segno

from campaign.i18n import normalise_digits
from campaign.privacy.keys import token_hash

ISSUER = "Sawt"
# One step either side of now: a phone clock 30 s off still works, nothing older.
VALID_WINDOW = 1
STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are read off paper and typed by hand.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_GROUPS = 3  # xxxx-xxxx-xxxx: about 59 bits each


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """The otpauth:// URI as an inline <svg> element (no XML declaration)."""
    return segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", title=title, svgclass="qr-code", omitsize=True
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an authenticator by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def clean_code(code: str | None) -> str:
    """What a person typed, as digits/letters only: spaces, dashes and Arabic-Indic
    digits are forgiven."""
    text = normalise_digits(code or "")
    return "".join(ch for ch in text.lower() if ch.isalnum())


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def matching_step(secret: str, code: str, *, last_step: int | None, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to if it is valid within the window and newer
    than ``last_step`` (a code, once accepted, never works again); else None."""
    code = clean_code(code)
    # isdigit() is true of ⁴ and ४ too, which compare_digest cannot compare (a 500).
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    step = current_step(now)
    for candidate in range(step - VALID_WINDOW, step + VALID_WINDOW + 1):
        if last_step is not None and candidate <= last_step:
            continue
        if secrets.compare_digest(totp.at(candidate * STEP_SECONDS), code):
            return candidate
    return None


def new_recovery_codes() -> list[str]:
    """Ten one-time codes, shown once; only their hashes are kept."""
    return [
        "-".join(
            "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(_RECOVERY_GROUPS)
        )
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def recovery_code_hash(code: str) -> str:
    """Hash of a recovery code in its typed-anyhow form (case, dashes, spaces)."""
    return token_hash("recovery:" + clean_code(code))


def looks_like_recovery_code(code: str) -> bool:
    return len(clean_code(code)) == 4 * _RECOVERY_GROUPS
