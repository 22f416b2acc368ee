"""One audit write path: single saves, deletes and bulk updates all leave who and why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories import (
    AdverseEventFactory,
    ParticipantFactory,
    ProcedureLevelFactory,
    UserFactory,
)
from trial.audit import ReasonRequired, audited_delete, audited_save, audited_update
from trial.models import AdverseEvent, Participant, ProcedureLevel, Role

ROOT = Path(__file__).resolve().parents[2]
HAND_SET = re.compile(r"\._history_user\s*=|\._change_reason\s*=|update_change_reason")


def test_only_trial_audit_tells_simple_history_who_and_why():
    offenders = []
    for app in ("trial", "randomization", "questionnaires", "followup"):
        for path in (ROOT / app).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            if name == "trial/audit.py" or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if HAND_SET.search(line):
                    offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.django_db
def test_a_single_save_leaves_user_old_new_and_reason():
    user = UserFactory(role=Role.DATA_MANAGER)
    participant = ParticipantFactory(initials="AB")
    participant.initials = "CD"
    audited_save(participant, user=user, reason="  Typo at registration ")
    newest, previous = participant.history.order_by("-history_id")[:2]
    assert (previous.initials, newest.initials) == ("AB", "CD")
    assert newest.history_user == user
    assert newest.history_change_reason == "Typo at registration"
    assert newest.history_type == "~"


@pytest.mark.django_db
def test_a_delete_leaves_user_and_reason():
    user = UserFactory(role=Role.SURGEON)
    level = ProcedureLevelFactory()
    pk = level.pk
    audited_delete(level, user=user, reason="Level recorded twice")
    row = ProcedureLevel.history.filter(id=pk).latest("history_id")
    assert row.history_type == "-"
    assert row.history_user == user
    assert row.history_change_reason == "Level recorded twice"


@pytest.mark.django_db
def test_a_delete_needs_a_reason():
    level = ProcedureLevelFactory()
    with pytest.raises(ReasonRequired):
        audited_delete(level, user=None, reason=" ")
    assert ProcedureLevel.objects.filter(pk=level.pk).exists()


@pytest.mark.django_db
def test_a_bulk_update_leaves_a_history_row_per_row_with_user_and_reason():
    user = UserFactory(role=Role.DATA_MANAGER)
    first, second, untouched = (ParticipantFactory(initials="AA") for _ in range(3))
    changed = audited_update(
        Participant.objects.filter(pk__in=[first.pk, second.pk]),
        user=user,
        reason="Initials corrected in bulk",
        initials="ZZ",
    )
    assert changed == 2
    assert set(Participant.objects.values_list("initials", flat=True)) == {"ZZ", "AA"}
    for participant in (first, second):
        newest = participant.history.latest("history_id")
        assert newest.initials == "ZZ"
        assert newest.history_type == "~"
        assert newest.history_user == user
        assert newest.history_change_reason == "Initials corrected in bulk"
    assert untouched.history.count() == 1


@pytest.mark.django_db
def test_a_conditional_bulk_update_claims_once():
    participant = ParticipantFactory(initials="AA")
    queryset = Participant.objects.filter(pk=participant.pk, initials="AA")
    assert audited_update(queryset, user=None, reason="claim", initials="BB") == 1
    assert audited_update(queryset, user=None, reason="claim", initials="BB") == 0
    assert participant.history.filter(history_change_reason="claim").count() == 1


@pytest.mark.django_db
def test_a_bulk_update_needs_a_reason():
    participant = ParticipantFactory(initials="AA")
    with pytest.raises(ReasonRequired):
        audited_update(Participant.objects.all(), user=None, reason="", initials="BB")
    participant.refresh_from_db()
    assert participant.initials == "AA"


@pytest.mark.django_db
def test_the_sae_notice_is_in_the_events_trail(settings, mailoutbox):
    from trial.treatment.adverse_events import sae_notify

    UserFactory(role=Role.COORDINATOR, email="coordinator@example.org")
    event = AdverseEventFactory(serious=True)
    assert sae_notify(event_id=event.pk) is True
    row = AdverseEvent.history.filter(id=event.pk).latest("history_id")
    assert row.sae_notified_at is not None
    assert row.history_change_reason == "serious adverse event notice e-mailed to the coordinator"
    assert sae_notify(event_id=event.pk) is False
    assert AdverseEvent.history.filter(id=event.pk, sae_notified_at__isnull=False).count() == 1
