"""The client's address, for the lock-out (django-axes) and the questionnaire link throttle.

Behind the reverse proxy every request comes from the proxy's address: counting failures per
REMOTE_ADDR would then count every patient and every member of staff as one client, and one
person guessing tokens or passwords would lock everyone out. ``QUESTIONNAIRE_CLIENT_IP_HEADER``
names the header the proxy sets (docker-compose.yml: X-Forwarded-For); its right-most entry
is the one the proxy itself appended, so a client cannot choose it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    header = settings.QUESTIONNAIRE_CLIENT_IP_HEADER
    if header and request.META.get(header):
        return request.META[header].split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
