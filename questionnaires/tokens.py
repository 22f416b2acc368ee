"""Tokens of personal links and tablet sessions: 256 random bits, stored only as a hash.

``secrets.token_urlsafe(32)`` draws 32 bytes (256 bits) from the operating system's CSPRNG.
Only the SHA-256 of the token is stored; a salted slow hash is unnecessary because the token
has full entropy (nobody can brute-force 2^256), and a plain hash keeps the lookup one query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from django.conf import settings

TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def token_new() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def seed_new() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def token_from_seed(seed: str) -> str:
    """The token of a link awaiting delivery, derived from its stored seed and SECRET_KEY.

    A link sent by e-mail or text message gets its token in the request that creates it (so
    a broker outage cannot leave it without one), but the delivery runs later, in a worker.
    The worker re-derives the token from the seed instead of reading a stored token; the seed
    is erased once the message is sent, after which the token exists only in the message.
    Same alphabet and length as token_new (32 bytes, URL-safe base64, no padding).
    """
    key = settings.SECRET_KEY.encode()
    digest = hmac.new(key, b"questionnaire-link:" + seed.encode("ascii"), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def token_well_formed(token: str) -> bool:
    return bool(TOKEN_PATTERN.fullmatch(token or ""))
