"""Helpers shared by the screening tests: a screening-log entry posted through its page, and
the hematologist's pages after it (walk_hematologist_path)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from tests.clock import FIXED_DAY
from tests.conftest import verified_client
from trial.models import InformationSheetVersion, Participant, Role
from trial.screening.selectors import current_criteria_version

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


SCREENING_FORM = {
    "myeloma_status": "known",
    "diagnosis_date": d(400),
    "iss_stage": "II",
    "riss_stage": "II",
    "prior_lines": "1",
    "disease_status": "PR",
    "bone_therapy": "zoledronic_acid",
    "bone_therapy_start": d(300),
    "paracetamol": "on",
    "opioid": "on",
    "opioid_ome_mg_per_day": "30",
    "pain_onset_date": d(20),
}


def eligibility_post(*, assessed_on: str = d(2)) -> dict:
    """Every criterion the hematologist answers, met; the surgeon's are left to the surgeon."""
    version = current_criteria_version()
    assert version is not None, "ensure_default_criteria() puts the protocol's criteria in force"
    data = {"assessed_on": assessed_on}
    for c in version.criteria.filter(assessed_by="hematologist"):
        data[f"c_{c.code}"] = "yes" if c.kind == "inclusion" else "no"
    return data


def consent_post(taken_by, *, consent_date: str = d(2)) -> dict:
    return {
        "consent_date": consent_date,
        "information_sheet": InformationSheetVersion.objects.get().pk,
        "taken_by": taken_by.pk,
        "oral_information_given": "on",
        "written_information_given": "on",
    }


# The hematologist's pages after the screening log, in the order of the participant page.
PATH_STEPS = ("screening_form", "eligibility", "consent", "referral_create")


def walk_hematologist_path(world, *, until: str | None = None):
    """A patient screened into the log and taken through the hematologist's pages up to the
    referral, as a hematologist of ``world.own`` clicks through them; ``until`` (one of
    PATH_STEPS) stops before that page, so that a test can fill it in itself."""
    user = world.users[Role.HEMATOLOGIST]
    hema = verified_client(user)
    response = screen(hema, world.own)
    assert response.status_code == 302, response.content.decode()[:3000]
    participant = Participant.objects.get(screening_entry__isnull=False)
    assert response["Location"] == participant.get_absolute_url()
    posts = {
        "screening_form": lambda: SCREENING_FORM,
        "eligibility": eligibility_post,
        "consent": lambda: consent_post(user),
        "referral_create": lambda: {"referred_on": d(1)},
    }
    for step in PATH_STEPS:
        if step == until:
            break
        r = hema.post(reverse(f"trial:{step}", args=[participant.trial_number]), posts[step]())
        assert r.status_code == 302, r.context["form"].errors
    return participant
