"""Personal-link tokens: random enough, never stored in clear, opening exactly one visit of one
participant, and failing alike when wrong, expired, revoked or the participant's follow-up ended."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from questionnaires import links, selectors, tokens
from questionnaires.models import QuestionnaireLink
from tests.factories import ParticipantFactory, randomised
from tests.questionnaires.factories import letter_link
from trial.models import ParticipantStatus

pytestmark = pytest.mark.django_db


def test_a_token_has_at_least_128_random_bits():
    token = tokens.token_new()
    assert tokens.TOKEN_BYTES * 8 >= 128
    assert len(token) == 32 and tokens.token_well_formed(token)
    assert len({tokens.token_new() for _ in range(1000)}) == 1000
    # Every bit is used: all 32 letters of the alphabet turn up, and nothing else.
    drawn = "".join(tokens.token_new() for _ in range(200))
    assert set(drawn) == set(tokens.ALPHABET)


def test_a_token_has_no_character_a_reader_could_mistake_or_a_printer_could_break_at():
    for _ in range(200):
        token = tokens.token_new()
        assert not set(token) & set("ILOU-_ abcdefghijklmnopqrstuvwxyz"), token


@pytest.mark.parametrize(
    "typed",
    [
        "{grouped}",  # as printed and sent
        "{token}",  # typed without the hyphens
        "{lower}",  # typed in lower case
        "{spaced}",  # groups typed with spaces
        "{misread}",  # 0 read as O, 1 read as I or l
        "{broken}",  # a letter whose line broke after a hyphen, typed with a line break
    ],
)
def test_a_token_typed_as_people_type_it_opens_the_link(world, client, typed):
    _link, token = letter_link(world.own_participant)
    grouped = tokens.link_text(token)
    assert grouped.count("-") == 7 and all(len(g) == 4 for g in grouped.split("-"))
    variants = {
        "grouped": grouped,
        "token": token,
        "lower": grouped.lower(),
        "spaced": grouped.replace("-", " "),
        "misread": token.replace("0", "O").replace("1", "l"),
        "broken": grouped.replace("-", "-\n", 1),
    }
    typed = typed.format(**variants)
    assert tokens.token_canonical(typed) == token
    response = client.get(reverse("questionnaires:patient_start", args=[typed]))
    assert response.status_code == 302, typed
    assert response.url == reverse("questionnaires:patient_home")


def test_links_sent_before_the_new_format_still_open(world, client):
    """A 43-character URL-safe token (the earlier format, hyphen and all) still opens its link."""
    import secrets

    legacy = secrets.token_urlsafe(32)
    while "-" not in legacy:  # make sure the hyphen is kept as part of such a token
        legacy = secrets.token_urlsafe(32)
    link, _token = letter_link(world.own_participant)
    QuestionnaireLink.objects.filter(pk=link.pk).update(token_hash=tokens.token_hash(legacy))
    assert tokens.token_canonical(legacy) == legacy
    response = client.get(reverse("questionnaires:patient_start", args=[legacy]))
    assert response.status_code == 302
    # ... and a near miss of it does not.
    near = legacy.replace("-", "", 1)
    assert client.get(reverse("questionnaires:patient_start", args=[near])).status_code == 404


def test_the_address_sent_shows_the_token_in_groups(settings):
    settings.SITE_URL = "https://vertebra.example.dk"
    token = tokens.token_new()
    url = links.link_url(token)
    assert url == "https://vertebra.example.dk/q/" + tokens.link_text(token) + "/"


def test_only_the_hash_of_the_token_is_stored(world):
    link, token = letter_link(world.own_participant)
    link.refresh_from_db()
    assert link.token_hash == tokens.token_hash(token)
    stored = [str(v) for v in QuestionnaireLink.objects.values_list(flat=True)]
    for row in QuestionnaireLink.objects.values():
        assert token not in " ".join(str(v) for v in row.values())
    for row in QuestionnaireLink.history.values():
        assert token not in " ".join(str(v) for v in row.values())
        assert "token_hash" not in row
    assert stored


def test_a_token_opens_its_own_participant_and_visit_only(world, client):
    _link, token = letter_link(world.own_participant, visit_code="BL")
    access = selectors.link_access(token)
    assert access.ok and access.participant == world.own_participant and access.visit_code == "BL"
    page = client.get(reverse("questionnaires:patient_start", args=[token]), follow=True)
    assert page.status_code == 200 and page.context["channel"].access.participant == (
        world.own_participant
    )
    # Another participant's token opens that participant's questionnaire, never this one's.
    other_participant = randomised(world.other_participant, days_ago=91)  # M3's target day
    _other_link, other_token = letter_link(other_participant, visit_code="M3")
    other = selectors.link_access(other_token)
    assert other.participant == world.other_participant and other.visit_code == "M3"
    # The BL token does not open the M3 screens of anybody: screens of another visit redirect.
    response = client.get(reverse("questionnaires:patient_step", args=["hsu", 1]))
    assert response.status_code == 302
    assert response["Location"] == reverse("questionnaires:patient_home")


def test_a_token_never_saves_answers_for_another_visit(world, client):
    participant = randomised(world.own_participant, days_ago=7)  # W1's target day
    _link, token = letter_link(participant, visit_code="W1")  # VAS and HSU only
    client.get(reverse("questionnaires:patient_start", args=[token]))
    client.post(reverse("questionnaires:patient_step", args=["odi", 1]), {"odi_1": "3"})
    assert not world.own_participant.questionnaire_responses.filter(instrument_code="odi").exists()


@pytest.mark.parametrize("case", ["wrong", "malformed", "expired", "revoked", "deceased"])
def test_bad_tokens_all_get_the_same_friendly_page(world, client, case):
    link, token = letter_link(world.own_participant)
    if case == "wrong":
        token = tokens.token_new()
    elif case == "malformed":
        token = "abc"
    elif case == "expired":
        QuestionnaireLink.objects.filter(pk=link.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
    elif case == "revoked":
        links.link_revoke(link=link, user=world.users["nurse"], reason="sent to wrong address")
    elif case == "deceased":
        world.own_participant.status = ParticipantStatus.DECEASED
        world.own_participant.save()
    for url in (
        reverse("questionnaires:patient_start", args=[token]),
        # After a refused token the browser has no link to continue with either.
        reverse("questionnaires:patient_home"),
        reverse("questionnaires:patient_step", args=["odi", 1]),
        reverse("questionnaires:patient_submit"),
    ):
        response = client.get(url)
        # The token's own address answers 404; the token-less pages, with nothing opened in
        # this browser, the same page with 200 (as the tablet does without a session).
        assert response.status_code == (404 if url.endswith(f"/q/{token}/") else 200), url
        assert b'data-testid="link-unavailable"' in response.content
        assert str(world.own_participant.trial_number).encode() not in response.content
    post = client.post(reverse("questionnaires:patient_step", args=["odi", 1]), {"odi_1": 1})
    assert b'data-testid="link-unavailable"' in post.content
    assert not world.own_participant.questionnaire_responses.exists()


def test_guessing_is_throttled_with_the_same_page(world, client, settings):
    settings.QUESTIONNAIRE_TOKEN_THROTTLE_LIMIT = 5
    _link, good = letter_link(world.own_participant)
    for _ in range(5):
        assert (
            client.get(
                reverse("questionnaires:patient_start", args=[tokens.token_new()])
            ).status_code
            == 404
        )
    blocked = client.get(reverse("questionnaires:patient_start", args=[good]))
    assert blocked.status_code == 429
    assert b'data-testid="link-unavailable"' in blocked.content
    # Another address is not affected.
    other = client.get(reverse("questionnaires:patient_start", args=[good]), REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 302  # opened: on to the token-less pages


def test_valid_tokens_do_not_count_against_the_throttle(world, client, settings):
    settings.QUESTIONNAIRE_TOKEN_THROTTLE_LIMIT = 3
    _link, good = letter_link(world.own_participant)
    for _ in range(10):
        assert client.get(reverse("questionnaires:patient_start", args=[good])).status_code == 302


def test_no_link_for_a_participant_whose_follow_up_ended(world):
    participant = ParticipantFactory(site=world.own, status=ParticipantStatus.WITHDRAWN)
    from trial.errors import ServiceError

    with pytest.raises(ServiceError):
        letter_link(participant)


def test_baseline_links_expire_14_days_after_issue_follow_up_after_the_window(world):
    now = timezone.now()
    assert links.link_expiry(visit_code="BL", issued_at=now) == now + dt.timedelta(days=14)
    closes = dt.date(2027, 3, 10)
    expiry = links.link_expiry(visit_code="M3", issued_at=now, window_closes=closes)
    local = timezone.localtime(expiry)
    assert local.date() == dt.date(2027, 3, 25) and local.hour == 0


def test_a_token_from_a_seed_looks_like_any_token_and_depends_on_the_secret(settings):
    from questionnaires import tokens as t

    seed = t.seed_new()
    token = t.token_from_seed(seed)
    assert t.token_well_formed(token) and token == t.token_from_seed(seed)
    assert token != t.token_from_seed(t.seed_new())
    settings.SECRET_KEY = settings.SECRET_KEY + "-other"
    assert t.token_from_seed(seed) != token
