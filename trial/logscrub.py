"""Patient link tokens never reach a log in full.

A personal questionnaire link is ``/q/<token>/``: whoever reads the token can answer as the
patient. The web server's access log (gunicorn) and Django's request logging write request
paths, so both go through ``scrub``, which keeps a short prefix of the token (enough to match
a log line to a support call) and drops the rest:

    GET /q/Xk3v9QeR.../ HTTP/1.1  ->  GET /q/Xk3v…/ HTTP/1.1

``ScrubTokensFilter`` is the logging filter (LOGGING in trial/settings.py puts it on every
handler); ``GunicornLogger`` is the gunicorn logger class (gunicorn.conf.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any

# A path segment after /q/ that could be a token; its first 4 characters are kept. Tokens are
# 32 characters in hyphenated groups (43 URL-safe base64 characters for links of the earlier
# format); anything of 16 or more is treated as one (a truncated or
# mistyped token is still private). The token-less pages (/q/submit/, /q/vas/1/) have shorter
# segments and stay readable.
_TOKEN_IN_PATH = re.compile(r"(/q/)([A-Za-z0-9_-]{4})([A-Za-z0-9_-]{12,})")


def scrub(text: str) -> str:
    """``text`` with every /q/<token> cut to its first characters and an ellipsis."""
    if "/q/" not in text:
        return text
    return _TOKEN_IN_PATH.sub(r"\1\2…", text)


class ScrubTokensFilter(logging.Filter):
    """Rewrites a record's message (with its arguments merged in) through ``scrub``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the formatter's business, not ours
            return True
        scrubbed = scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def _scrub_atom(value: Any) -> Any:
    return scrub(value) if isinstance(value, str) else value


try:  # gunicorn is only in the production image's web process
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = None  # type: ignore[assignment,misc]

if _GunicornLogger is not None:

    class GunicornLogger(_GunicornLogger):
        """gunicorn's logger with every access-log field (request line, path, query,
        referer, headers) scrubbed, whatever ``access_log_format`` is used."""

        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            return {key: _scrub_atom(value) for key, value in atoms.items()}
