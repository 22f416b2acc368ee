"""Tokens of personal links and tablet sessions: 256 random bits, stored only as a hash.

``secrets.token_urlsafe(32)`` draws 32 bytes (256 bits) from the operating system's CSPRNG.
Only the SHA-256 of the token is stored; a salted slow hash is unnecessary because the token
has full entropy (nobody can brute-force 2^256), and a plain hash keeps the lookup one query.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def token_new() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def token_well_formed(token: str) -> bool:
    return bool(TOKEN_PATTERN.fullmatch(token or ""))
