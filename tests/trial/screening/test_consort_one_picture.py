"""The CONSORT page and the dashboard draw the screening flow from one count and one template:
same boxes, same numbers, criteria by their text (not their codes)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from tests.conftest import verified_client
from tests.factories import ParticipantFactory, eligibility_all_met
from trial.models import Role
from trial.screening import services as screening_services

pytestmark = pytest.mark.django_db

BOX = re.compile(r'data-count="(\w+)"><span class="consort-n">(\d+)</span>')


def _boxes(html: str, testid: str) -> dict[str, int]:
    """The numbered boxes of one CONSORT drawing: from its container to its last box."""
    start = html.index(f'data-testid="{testid}"')
    end = html.index('data-count="randomised"', start) + 80
    return {name: int(n) for name, n in BOX.findall(html[start:end])}


def test_the_consort_page_and_the_dashboard_show_the_same_flow(world):
    hema = world.users[Role.HEMATOLOGIST]
    for sequence, (code, answer) in enumerate(
        [("not_eligible", "no"), ("contraindicated", None), ("other", None), ("declined", None)],
        start=30,
    ):
        participant = ParticipantFactory(site=world.own, sequence=sequence)
        assessment = eligibility_all_met(participant, hema)
        if answer:
            assessment.answers["adult_myeloma"] = answer
            assessment.save()
        screening_services.participant_not_included(
            participant=participant, user=hema, reason_code=code, note="free text"
        )
    client = verified_client(world.users[Role.COORDINATOR])
    with translation.override("en"):
        consort = client.get(reverse("trial:consort")).content.decode()
        dashboard = client.get(reverse("trial:dashboard")).content.decode()
    page_boxes = _boxes(consort, "consort")
    dash_boxes = _boxes(dashboard, "consort-flow")
    for name in ("screened", "not_eligible", "declined", "other", "contraindicated", "randomised"):
        assert page_boxes[name] == dash_boxes[name], name
    # "Other reasons" does not swallow the surgical contraindications on either page.
    assert page_boxes["contraindicated"] >= 1 and page_boxes["other"] >= 1
    # The failed criterion is named by its text; its code is only an attribute.
    for html in (consort, dashboard):
        assert 'data-criterion="adult_myeloma"' in html
        assert "<code>adult_myeloma</code>" not in html
        assert not re.search(r">\s*adult_myeloma\b", html)
