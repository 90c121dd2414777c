"""Signed snapshots: a count anyone can cite and anyone can check.

The site signs a snapshot with an Ed25519 key derived from API_SIGNING_KEY (a secret
like SECRET_KEY: generated into instance/ for the embedded default, set in the
environment, the same on every web node, in production). The public half is published
at /api/v1/keys as a JSON Web Key Set (RFC 7517, with RFC 8037's "OKP" keys), named by
its RFC 7638 thumbprint. What is signed is the snapshot object serialised canonically:
keys sorted, no whitespace, UTF-8, as RFC 8785 (JCS) does for the strings, integers
and nulls a snapshot holds.

A key that was replaced stays checkable: its public half goes in
API_RETIRED_PUBLIC_KEYS (comma-separated, base64url), listed as "retired".
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app

ALGORITHM = "Ed25519"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(document: dict) -> bytes:
    """The bytes that are signed: JSON with sorted keys and no whitespace (RFC 8785
    for the values snapshots hold: strings, integers, null and objects of them)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def key_id(public_key: bytes) -> str:
    """The RFC 7638 thumbprint of the key's JWK: base64url(SHA-256) of its required
    members in lexical order."""
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": b64url(public_key)},
                         sort_keys=True, separators=(",", ":"))
    return b64url(hashlib.sha256(members.encode("ascii")).digest())


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    public: bytes  # the raw 32 bytes
    kid: str

    def sign(self, document: dict) -> dict:
        """The signature block for ``document``."""
        return {"alg": ALGORITHM, "kid": self.kid, "sig": b64url(self.private.sign(canonical(document)))}


@functools.lru_cache(maxsize=4)
def _derive(secret: str) -> SigningKey:
    # Any high-entropy string will do as the secret (like SECRET_KEY); the Ed25519
    # seed is a keyed hash of it, so the key never appears in the environment raw.
    seed = hashlib.blake2b(secret.encode("utf-8"), digest_size=32, person=b"sawt-api-ed25519").digest()
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return SigningKey(private, public, key_id(public))


def signing_key() -> SigningKey:
    """The site's current signing key (API_SIGNING_KEY)."""
    return _derive(current_app.config["API_SIGNING_KEY"])


def retired_public_keys() -> list[bytes]:
    """Keys used before the current one, still published so old snapshots check."""
    listed = current_app.config.get("API_RETIRED_PUBLIC_KEYS") or ""
    keys = []
    for text in listed.split(","):
        text = text.strip()
        if text:
            key = b64url_decode(text)
            if len(key) != 32:
                raise ValueError("API_RETIRED_PUBLIC_KEYS: each key is 32 bytes, base64url")
            keys.append(key)
    return keys


def _jwk(public_key: bytes, status: str) -> dict:
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(public_key), "kid": key_id(public_key),
            "alg": "EdDSA", "use": "sig", "status": status}


def key_set() -> dict:
    """The JSON Web Key Set of /api/v1/keys: the current key first, then retired ones."""
    current = signing_key()
    return {"keys": [_jwk(current.public, "current")]
            + [_jwk(key, "retired") for key in retired_public_keys() if key != current.public]}


def verify(document: dict, signature: dict, public_key: bytes) -> bool:
    """Whether ``signature`` (a block made by SigningKey.sign) signs ``document``
    under ``public_key``: what a reader does, with only the published key."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(b64url_decode(signature["sig"]), canonical(document))
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True
