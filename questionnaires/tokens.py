"""Tokens of personal links and tablet sessions: 160 random bits, stored only as a hash.

A token is 32 characters of Crockford's base32 alphabet (digits and capital letters without
I, L, O and U), so that a patient can type it from a printed letter: nothing in it is easily
misread, and the address shows it in groups of four joined by hyphens (``link_text``). A
hyphen is never part of the token itself: reading a typed or scanned token drops hyphens and
spaces, upper-cases it and reads O as 0 and I or L as 1 (``token_canonical``), so a letter
whose line breaks at a hyphen, or a patient who types the groups without hyphens, still opens
the link.

160 bits from the operating system's CSPRNG are far beyond guessing (and unknown tokens are
throttled per address). Only the SHA-256 of the canonical token is stored; a salted slow hash
is unnecessary because the token has full entropy, and a plain hash keeps the lookup one query.

Links issued before this format (43 characters of URL-safe base64) still open: such a token is
its own canonical form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings

TOKEN_BYTES = 20
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_LENGTH = 32  # 20 bytes = 160 bits = 32 characters of 5 bits
GROUP = 4
TOKEN_PATTERN = re.compile(rf"^[{ALPHABET}]{{{TOKEN_LENGTH}}}$")
# The earlier format: secrets.token_urlsafe(32), 43 characters of URL-safe base64.
LEGACY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—]+")


def _encode(raw: bytes) -> str:
    number = int.from_bytes(raw, "big")
    chars = [ALPHABET[(number >> shift) & 31] for shift in range(5 * (TOKEN_LENGTH - 1), -1, -5)]
    return "".join(chars)


def token_new() -> str:
    return _encode(secrets.token_bytes(TOKEN_BYTES))


def seed_new() -> str:
    return secrets.token_hex(32)


def token_from_seed(seed: str) -> str:
    """The token of a link awaiting delivery, derived from its stored seed and SECRET_KEY.

    A link sent by e-mail or text message gets its token in the request that creates it (so
    a broker outage cannot leave it without one), but the delivery runs later, in a worker.
    The worker re-derives the token from the seed instead of reading a stored token; the seed
    is erased once the message is sent, after which the token exists only in the message.
    Same alphabet and length as token_new.
    """
    key = settings.SECRET_KEY.encode()
    digest = hmac.new(key, b"questionnaire-link:" + seed.encode("ascii"), hashlib.sha256)
    return _encode(digest.digest()[:TOKEN_BYTES])


def token_canonical(typed: str | None) -> str | None:
    """The token a typed, scanned or clicked string stands for, or None if it cannot be one."""
    if not typed or len(typed) > 200:
        return None
    if LEGACY_PATTERN.fullmatch(typed):
        return typed
    compact = _SEPARATORS.sub("", typed).upper().translate(_READ_AS)
    return compact if TOKEN_PATTERN.fullmatch(compact) else None


def token_hash(token: str) -> str:
    canonical = token_canonical(token) or token
    return hashlib.sha256(canonical.encode("ascii", "replace")).hexdigest()


def token_well_formed(token: str | None) -> bool:
    return token_canonical(token) is not None


def link_text(token: str) -> str:
    """The token as printed and sent: groups of four joined by hyphens, easy to read aloud."""
    if LEGACY_PATTERN.fullmatch(token):
        return token
    return "-".join(token[i : i + GROUP] for i in range(0, len(token), GROUP))
