"""Staff pages: phone entry, corrections, links and letters, the tablet kiosk, the scores panel
on the participant page and the list of links waiting for answers."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from questionnaires.models import (
    Mode,
    QuestionnaireLink,
    QuestionnaireResponse,
    ResponseStatus,
    TabletSession,
)
from tests.factories import IdentityFactory, ParticipantFactory, randomised
from tests.questionnaires.factories import ODI_ANSWERS, complete_visit, letter_link
from trial.models import Role

pytestmark = pytest.mark.django_db


def _overview(p):
    return reverse("questionnaires:staff_overview", args=[p.trial_number])


def test_the_nurse_enters_answers_by_phone(world, login):
    nurse = world.users[Role.NURSE]
    p = world.own_participant
    url = reverse("questionnaires:staff_enter", args=[p.trial_number, "BL", "odi"])
    assert login(nurse).get(url).status_code == 200
    response = login(nurse).post(
        url, {"mode": "phone", **{k: str(v) for k, v in ODI_ANSWERS.items()}}
    )
    assert response.status_code == 302 and response["Location"] == _overview(p)
    odi = QuestionnaireResponse.objects.get(participant=p, instrument_code="odi")
    assert odi.mode == Mode.PHONE and odi.entered_by == nurse
    assert odi.status == ResponseStatus.SUBMITTED and odi.scores["odi_score"] == "60.0"


def test_staff_of_another_site_cannot_enter(world, login):
    url = reverse(
        "questionnaires:staff_enter", args=[world.own_participant.trial_number, "BL", "odi"]
    )
    assert login(world.outsider).post(url, {"mode": "phone"}).status_code == 404


def test_a_correction_through_the_page_needs_a_reason(world, login):
    p = world.own_participant
    complete_visit(p)
    url = reverse("questionnaires:staff_correct", args=[p.trial_number, "BL", "vas"])
    client = login(world.users[Role.NURSE])
    page = client.post(url, {"vas_back": "12", "vas_leg": "35", "reason": ""})
    assert page.status_code == 200
    assert QuestionnaireResponse.objects.get(instrument_code="vas").answers["vas_back"] == 70
    done = client.post(url, {"vas_back": "12", "vas_leg": "35", "reason": "misread by nurse"})
    assert done.status_code == 302
    vas = QuestionnaireResponse.objects.get(instrument_code="vas")
    assert vas.answers == {"vas_back": 12, "vas_leg": 35}
    assert vas.history.first().history_change_reason == "misread by nurse"


def test_the_monitor_reads_but_cannot_correct(world, login):
    complete_visit(world.own_participant)
    url = reverse(
        "questionnaires:staff_correct", args=[world.own_participant.trial_number, "BL", "vas"]
    )
    monitor = login(world.users[Role.MONITOR])
    assert monitor.get(url).status_code == 200
    assert monitor.post(url, {"reason": "x"}).status_code == 403


def test_sending_a_link_by_email_from_the_page(world, login, django_capture_on_commit_callbacks):
    p = world.own_participant
    IdentityFactory(participant=p, email="pt@example.dk")
    url = reverse("questionnaires:staff_send", args=[p.trial_number, "BL"])
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.users[Role.NURSE]).post(url, {"via": "email", "language": "da"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/q/" in mail.outbox[0].body


def test_email_without_address_is_a_message_not_a_500(world, login):
    url = reverse("questionnaires:staff_send", args=[world.own_participant.trial_number, "BL"])
    response = login(world.users[Role.NURSE]).post(url, {"via": "email", "language": "da"})
    assert response.status_code == 200
    assert not QuestionnaireLink.objects.exists()


def test_the_letter_is_a_pdf_and_the_printing_is_recorded(world, login):
    p = world.own_participant
    IdentityFactory(participant=p, full_name="Karen Testesen", address="Testvej 1\n8000 Aarhus")
    url = reverse("questionnaires:staff_send", args=[p.trial_number, "BL"])
    nurse = world.users[Role.NURSE]
    response = login(nurse).post(url, {"via": "letter", "language": "da"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "questionnaire-letter.pdf").write_bytes(response.content)  # to look at
    link = QuestionnaireLink.objects.get()
    assert link.sent_via == "letter" and link.created_by == nurse and link.token_hash
    assert link.history.first().history_user == nurse
    # The patient types the address as the letter prints it, across its line break.
    text = subprocess.run(
        ["pdftotext", "-raw", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    after = text.split("/q/", 1)[1]
    printed = re.match(r"[0-9A-Z\-\s]+", after).group(0)
    groups = re.findall(r"[0-9A-Z]+", printed)
    assert len(groups) == 8 and all(len(g) == 4 for g in groups), printed  # no group split
    typed = "".join(printed.split())
    opened = Client().get(reverse("questionnaires:patient_start", args=[typed]))
    assert opened.status_code == 302


def test_revoking_the_links_of_a_visit(world, login, client):
    p = world.own_participant
    _link, token = letter_link(p)
    url = reverse("questionnaires:staff_revoke", args=[p.trial_number, "BL"])
    assert login(world.users[Role.NURSE]).post(url, {"reason": "wrong person"}).status_code == 302
    page = client.get(reverse("questionnaires:patient_start", args=[token]))
    assert page.status_code == 404


def _totp(device):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def test_the_tablet_kiosk_needs_staff_to_leave(world, login):
    p = world.own_participant
    nurse = world.users[Role.NURSE]
    client = login(nurse)
    response = client.post(reverse("questionnaires:staff_tablet", args=[p.trial_number, "BL"]))
    assert response["Location"] == reverse("questionnaires:tablet_start")
    # The nurse is logged out: the tablet opens only this questionnaire.
    assert client.get(reverse("trial:participant_list")).status_code == 302
    assert client.get(reverse("questionnaires:tablet_start")).status_code == 200
    client.post(reverse("questionnaires:tablet_step", args=["odi", 1]), {"odi_1": "3"})
    odi = QuestionnaireResponse.objects.get(participant=p, instrument_code="odi")
    assert odi.mode == Mode.TABLET and odi.answers == {"odi_1": 3}
    exit_url = reverse("questionnaires:tablet_exit")
    # A wrong password (or a patient guessing) does not leave.
    bad = client.post(exit_url, {"username": nurse.username, "password": "wrong-one-123"})
    assert bad.status_code == 200
    assert TabletSession.objects.get().ended_at is None
    # ... and says what went wrong: not "only this department's staff" to the nurse herself.
    # (The kiosk speaks the participant's language, Danish here.)
    with translation.override("da"):
        wrong = escape(gettext("Wrong username, password or code. Please try again."))
        not_here = escape(
            gettext("Only staff of this participant's department can end the session.")
        )
    assert wrong != "Wrong username, password or code. Please try again."  # it is translated
    assert wrong in bad.content.decode() and not_here not in bad.content.decode()
    # Staff of another site cannot end it either.
    device = TOTPDevice.objects.create(user=world.outsider, name="x", confirmed=True)
    outsider = client.post(
        exit_url,
        {"username": "outsider", "password": "correct-horse-battery-9", "otp_token": _totp(device)},
    )
    assert outsider.status_code == 200 and TabletSession.objects.get().ended_at is None
    assert not_here in outsider.content.decode() and wrong not in outsider.content.decode()
    device = TOTPDevice.objects.create(user=nurse, name="y", confirmed=True)
    ok = client.post(
        exit_url,
        {
            "username": nurse.username,
            "password": "correct-horse-battery-9",
            "otp_token": _totp(device),
        },
    )
    assert ok.status_code == 302 and ok["Location"] == _overview(p)
    session = TabletSession.objects.get()
    assert session.ended_at and session.ended_by == nurse
    assert client.get(_overview(p)).status_code == 200  # the nurse is back
    assert b"no-tablet-session" in client.get(reverse("questionnaires:tablet_start")).content


def test_the_tablet_without_a_session_opens_nothing(client):
    page = client.get(reverse("questionnaires:tablet_step", args=["odi", 1]))
    assert page.status_code == 200 and b"no-tablet-session" in page.content


def test_the_participant_page_shows_scores_and_a_chart(world, login):
    p = world.own_participant
    complete_visit(p)
    complete_visit(
        p,
        visit_code="M3",
        answers={
            "odi": {f"odi_{n}": 1 for n in range(1, 11)},
            "vas": {"vas_back": 20, "vas_leg": 10},
            "eq5d3l": {
                "eq5d_mo": 1,
                "eq5d_sc": 1,
                "eq5d_ua": 1,
                "eq5d_pd": 2,
                "eq5d_ad": 1,
                "eq_vas": 80,
            },
            "hsu": {},
        },
    )
    page = login(world.users[Role.NURSE]).get(
        reverse("trial:participant_detail", args=[p.trial_number])
    )
    html = page.content.decode()
    assert 'data-testid="scores-panel"' in html
    assert 'id="scores-chart"' in html and 'id="scores-chart-data"' in html
    assert "60.0" in html and "20.0" in html  # ODI at BL and M3
    assert html.count("timeline-questionnaire") == 2  # BL and M3 on the timeline


def test_the_surgeon_sees_scores_but_no_questionnaire_actions(world, login):
    p = world.own_participant
    complete_visit(p)
    page = login(world.users[Role.SURGEON]).get(_overview(p))
    assert page.status_code == 200
    assert (
        reverse("questionnaires:staff_send", args=[p.trial_number, "M3"]).encode()
        not in page.content
    )


def test_the_link_list_costs_the_same_queries_for_10_or_200_links(world, login):
    client = login(world.users[Role.NURSE])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("questionnaires:link_list")).status_code == 200
        return len(ctx)

    def add(n):
        for _ in range(n):
            letter_link(ParticipantFactory(site=world.own))

    add(10)
    ten = count()
    add(190)
    assert count() == ten
    assert QuestionnaireLink.objects.count() == 200


def test_the_link_list_shows_only_own_sites(world, login):
    letter_link(world.other_participant)
    letter_link(world.own_participant)
    page = login(world.users[Role.NURSE]).get(reverse("questionnaires:link_list"))
    assert world.own_participant.trial_number.encode() in page.content
    assert world.other_participant.trial_number.encode() not in page.content


def test_submitted_links_leave_the_list(world, login):
    letter_link(world.own_participant)
    complete_visit(world.own_participant)
    page = login(world.users[Role.NURSE]).get(reverse("questionnaires:link_list"))
    assert world.own_participant.trial_number.encode() not in page.content


@pytest.mark.slow
def test_the_demo_step_is_idempotent():
    from questionnaires.models import QuestionnaireLink as Link
    from trial.demo import seed_demo

    seed_demo()
    responses, links = QuestionnaireResponse.objects.count(), Link.objects.count()
    assert responses > 0 and links > 0
    modes = set(QuestionnaireResponse.objects.values_list("mode", flat=True))
    assert len(modes) >= 3
    seed_demo()
    assert (QuestionnaireResponse.objects.count(), Link.objects.count()) == (responses, links)


def test_no_link_or_tablet_is_offered_after_follow_up_ended(world, login):
    from trial.models import ParticipantStatus

    p = world.own_participant
    p.status = ParticipantStatus.DECEASED
    p.save()
    page = login(world.users[Role.NURSE]).get(_overview(p))
    assert reverse("questionnaires:staff_send", args=[p.trial_number, "BL"]).encode() not in (
        page.content
    )
    send = login(world.users[Role.NURSE]).post(
        reverse("questionnaires:staff_send", args=[p.trial_number, "BL"]),
        {"via": "letter", "language": "da"},
    )
    assert send.status_code == 200 and not QuestionnaireLink.objects.exists()
    tablet = login(world.users[Role.NURSE]).post(
        reverse("questionnaires:staff_tablet", args=[p.trial_number, "BL"])
    )
    assert tablet.status_code == 200 and not TabletSession.objects.exists()


def test_revoking_all_links_of_a_visit_at_once_is_audited(world, login, client):
    from questionnaires import links as q_links

    p = randomised(world.own_participant, days_ago=28)  # W4's window is open
    nurse = world.users[Role.NURSE]
    tokens = [letter_link(p)[1] for _ in range(3)]
    other_visit_link, _other_token = q_links.link_issue_letter(
        participant=p, visit_code="W4", user=None
    )
    url = reverse("questionnaires:staff_revoke", args=[p.trial_number, "BL"])
    staff = login(nurse)
    assert staff.post(url, {"reason": ""}).status_code == 200  # a reason is required
    assert QuestionnaireLink.objects.filter(revoked_at__isnull=False).count() == 0
    assert staff.post(url, {"reason": "letter sent to old address"}).status_code == 302
    revoked = QuestionnaireLink.objects.filter(visit_code="BL")
    assert all(link.revoked_at and link.revoked_by == nurse for link in revoked)
    for link in revoked:
        latest = link.history.order_by("-history_date").first()
        assert latest.history_user == nurse
        assert latest.history_change_reason == "letter sent to old address"
    for token in tokens:
        assert client.get(reverse("questionnaires:patient_start", args=[token])).status_code == 404
    other_visit_link.refresh_from_db()
    assert other_visit_link.revoked_at is None  # another visit's link is left alone


def test_revoking_a_single_link_leaves_the_others(world, login):
    p = world.own_participant
    first, _t1 = letter_link(p)
    second, _t2 = letter_link(p)
    url = reverse("questionnaires:staff_revoke", args=[p.trial_number, "BL"])
    staff = login(world.users[Role.NURSE])
    page = staff.get(url + f"?link={first.pk}").content.decode()
    assert "Revoke this link" in page or "revoke-submit" in page
    response = staff.post(url + f"?link={first.pk}", {"link": first.pk, "reason": "wrong person"})
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None


def test_other_sites_and_read_only_roles_cannot_revoke(world, login):
    p = world.own_participant
    link, _token = letter_link(p)
    url = reverse("questionnaires:staff_revoke", args=[p.trial_number, "BL"])
    for role in (Role.SURGEON, Role.COORDINATOR, Role.MONITOR):
        assert login(world.users[role]).post(url, {"reason": "x"}).status_code == 403
    other = reverse(
        "questionnaires:staff_revoke", args=[world.other_participant.trial_number, "BL"]
    )
    assert login(world.users[Role.NURSE]).post(other, {"reason": "x"}).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None
