"""A protocol deviation reads in the reader's language, whoever recorded it in whichever
language: it is stored as a message key and its facts, and written out when it is read."""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation

from randomization import oversight, services
from randomization.models import Arm, DeviationKind, Envelope, ProtocolDeviation
from tests.conftest import verified_client
from tests.randomization.conftest import make_batch, make_ready

WRONG_EN = "The system named envelope AAR-A1N-001; envelope AAR-A1N-002 was opened."
WRONG_DA = "Systemet anviste kuvert AAR-A1N-001; kuvert AAR-A1N-002 blev åbnet."


def _wrong_envelope(world, hematologist, *, language: str, card_differs: bool = False):
    """Confirm envelope 002 for the participant named 001, with the recorder's language
    active; with ``card_differs`` the card is read as the other arm than generated."""
    participant = make_ready(world.own, hematologist)
    make_batch(world.own, "A1N", 8)
    allocation = services.participant_randomize(participant=participant, user=hematologist)
    opened = Envelope.objects.get(serial="AAR-A1N-002")
    card = opened.arm
    if card_differs:
        card = Arm.PVP if opened.arm == Arm.CONSERVATIVE else Arm.CONSERVATIVE
    with translation.override(language):
        services.allocation_confirm(
            allocation=allocation,
            user=hematologist,
            serial="AAR-A1N-002",
            arm=card,
            named_still_sealed=True,
        )
    return participant, opened


def _page(user, url: str, language: str) -> str:
    client = verified_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_deviation_recorded_in_danish_reads_in_english_and_vice_versa(
    world, hematologist, coordinator
):
    _wrong_envelope(world, hematologist, language="da")
    deviation = ProtocolDeviation.objects.get()
    assert deviation.message_key == "wrong_envelope_returned"
    assert deviation.message_params == {"named": "AAR-A1N-001", "opened": "AAR-A1N-002"}
    url = reverse("randomization:deviations")
    english = _page(coordinator, url, "en")
    assert WRONG_EN in english and WRONG_DA not in english
    danish = _page(coordinator, url, "da")
    assert WRONG_DA in danish and WRONG_EN not in danish


def test_a_deviation_recorded_in_english_reads_in_danish_on_the_participant_page(
    world, hematologist
):
    participant, _opened = _wrong_envelope(world, hematologist, language="en")
    page = _page(hematologist, participant.get_absolute_url(), "da")
    assert f"{WRONG_DA} AAR-A1N-001 blev bekræftet stadig lukket" in page
    assert WRONG_EN not in page


def test_the_arms_of_a_card_mismatch_read_in_the_readers_language(world, hematologist):
    _participant, opened = _wrong_envelope(world, hematologist, language="da", card_differs=True)
    deviation = ProtocolDeviation.objects.get(kind=DeviationKind.CARD_ARM_MISMATCH)
    generated = Arm(opened.arm)
    with translation.override("en"):
        english = deviation.sentence
        generated_en = str(generated.label)
    with translation.override("da"):
        danish = deviation.sentence
        generated_da = str(generated.label)
    assert english.startswith("The card of envelope AAR-A1N-002 was read as")
    assert f"generated as {generated_en}." in english
    assert danish.startswith("Kortet i kuvert AAR-A1N-002 blev aflæst som")
    assert f"genereret som {generated_da}." in danish
    # The plain-text copy for readers outside the application is English.
    assert deviation.description == english


def test_an_older_deviation_without_a_key_shows_its_stored_text(world, hematologist, coordinator):
    participant, _opened = _wrong_envelope(world, hematologist, language="en")
    ProtocolDeviation.objects.filter(participant=participant).update(
        message_key="", message_params={}, description="Skrevet før nøglerne: kuvert byttet."
    )
    for language in ("en", "da"):
        page = _page(coordinator, reverse("randomization:deviations"), language)
        assert "Skrevet før nøglerne: kuvert byttet." in page


def test_the_notice_is_written_in_the_recipients_language_not_the_recorders(
    world, hematologist, settings, mailoutbox
):
    settings.TRIAL_COORDINATOR_EMAILS = ["trial-office@example.org"]
    settings.LANGUAGE_CODE = "en"
    _wrong_envelope(world, hematologist, language="da")
    deviation = ProtocolDeviation.objects.get()
    mailoutbox.clear()
    assert oversight.deviation_notice_send(deviation_id=deviation.pk)
    (mail,) = mailoutbox
    assert "trial-office@example.org" in mail.to
    assert WRONG_EN in mail.body and WRONG_DA not in mail.body
    settings.LANGUAGE_CODE = "da"
    mailoutbox.clear()
    oversight.deviation_notice_send(deviation_id=deviation.pk)
    assert WRONG_DA in mailoutbox[0].body
