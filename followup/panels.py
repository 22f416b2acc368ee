"""The follow-up panel of the participant page: the participant's visit schedule."""

from __future__ import annotations

from django.urls import reverse

from followup.models import ContactStatus
from followup.selectors import WAITING, participant_schedule
from trial import access
from trial.protocol.windows import is_randomised


def schedule_panel(request, participant) -> dict:
    """Hidden until the participant is randomised, the opened envelope confirmed: there is no
    follow-up before (trial.protocol.windows)."""
    if not is_randomised(participant):
        return {}
    rows = participant_schedule(participant)
    may_call = access.can(request.user, "followup:call_log", participant) and access.can_change(
        request.user, "followup:call_log", participant
    )
    for row in rows:
        # Only while the window is open: a call before it would collect the visit too early.
        row.call_url = (
            reverse("followup:call_log", args=[row.contact_id])
            if may_call and row.contact_id and row.state == ContactStatus.DUE
            else ""
        )
    return {"rows": rows, "waiting": WAITING}
