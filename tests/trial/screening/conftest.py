"""Helpers shared by the screening tests: a screening-log entry posted through its page."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from tests.clock import FIXED_DAY

# The day these helpers' dates count from: a test using them runs on it too (the ``fixed_day``
# fixture), so that its dates and the code's clock agree even across midnight.
TODAY = FIXED_DAY
CPR = "170550-1234"  # born 17 May 1950; the last digit even: female


def d(days_ago: int) -> str:
    return (TODAY - dt.timedelta(days=days_ago)).isoformat()


def screen(client, site, **overrides):
    data = {
        "site": site.pk,
        "screened_on": d(3),
        "cpr": CPR,
        "age": "",
        "sex": "F",
        "myeloma_status": "known",
        "decision": "included",
        "reason": "",
        "full_name": "Karen Hansen",
        "initials": "",
        "phone": "",
    }
    data.update(overrides)
    return client.post(reverse("trial:screening_log_create"), data)
