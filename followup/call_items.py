"""What a reached call collects, group by group, and what is missing from a visit marked done.

The schedule (``trial.protocol.schedule``) says which items a visit collects and
``trial.protocol.visits`` which questionnaire covers each; this module only groups them the way
the call form asks them: one group per questionnaire (VAS, health-service use, ODI, EQ-5D) and
one per other item (pain medication, adverse events, crossover). A reached call records every
group or says, per empty group, why it is missing (``MissingReason``); ``items_missing_check``
is that rule, read by the call service. A questionnaire group stops being missing once its
response is submitted, through the link sent from the call or entered later by staff.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from followup.models import MissingReason
from trial.protocol.schedule import ADVERSE_EVENTS, COLLECT_ITEMS, CROSSOVER, PAIN_MEDICATION
from trial.protocol.visits import COLLECT_TO_INSTRUMENT, INSTRUMENT_LABELS
from trial.registry import allocation_revealed

# The order the call form shows the groups in (and the success message names them in).
GROUP_ORDER = ("vas", PAIN_MEDICATION, "hsu", "odi", "eq5d3l", ADVERSE_EVENTS, CROSSOVER)
QUESTIONNAIRE_GROUPS = frozenset(COLLECT_TO_INSTRUMENT.values())


@dataclass(frozen=True)
class ItemGroup:
    code: str  # the instrument's code for a questionnaire, else the schedule's collect item
    label: str | Promise

    @property
    def instrument(self) -> str | None:
        return self.code if self.code in QUESTIONNAIRE_GROUPS else None


def group_label(code: str) -> str:
    if code in INSTRUMENT_LABELS:
        return str(INSTRUMENT_LABELS[code])
    return gettext(COLLECT_ITEMS[code]) if code in COLLECT_ITEMS else code


def call_groups(
    collects: Iterable[str], *, conservative_arm: bool, submitted: Iterable[str] = ()
) -> list[ItemGroup]:
    """The groups a reached call asks: what the visit collects, less the questionnaires already
    submitted (through a link, say) and the crossover question outside the conservative arm."""
    collects = set(collects)
    wanted = {COLLECT_TO_INSTRUMENT[c] for c in collects if c in COLLECT_TO_INSTRUMENT}
    wanted -= set(submitted)
    wanted |= collects & {PAIN_MEDICATION, ADVERSE_EVENTS}
    if conservative_arm and CROSSOVER in collects:
        wanted.add(CROSSOVER)
    return [
        ItemGroup(code, INSTRUMENT_LABELS.get(code) or _(COLLECT_ITEMS[code]))
        for code in GROUP_ORDER
        if code in wanted
    ]


def conservative_arm(participant) -> bool:
    """Crossover is asked in the conservative arm only, and only once the arm may be shown."""
    allocation = getattr(participant, "allocation", None)
    return allocation is not None and (
        allocation_revealed(allocation) and allocation.arm == "conservative"
    )


def submitted_instruments(participant, visit_code: str) -> set[str]:
    from questionnaires.models import QuestionnaireResponse, ResponseStatus

    return set(
        QuestionnaireResponse.objects.filter(
            participant=participant, visit_code=visit_code, status=ResponseStatus.SUBMITTED
        ).values_list("instrument_code", flat=True)
    )


@dataclass(frozen=True)
class VisitItemsInput:
    """The visit's items as the call form converted them; None is "not asked / not answered"."""

    opioid_omeq_mg: int | None = None
    pain_medication: str = ""
    new_adverse_events: bool | None = None
    adverse_events_description: str = ""
    crossover_wish: bool | None = None
    # Questionnaires taken by phone: instrument code -> answers (questionnaires' item codes).
    questionnaires: dict[str, dict] = field(default_factory=dict)
    # "email" or "sms": send the visit's questionnaires not taken by phone as a personal link.
    send_link_via: str = ""
    # Item group -> MissingReason value, for the groups left empty.
    missing: dict[str, str] = field(default_factory=dict)


def group_recorded(code: str, items: VisitItemsInput) -> bool:
    """Whether the call recorded anything of the group (a partly answered questionnaire counts:
    its missing answers are missing answers, scored by the instrument's own rule)."""
    if code in QUESTIONNAIRE_GROUPS:
        return any(v is not None for v in items.questionnaires.get(code, {}).values())
    if code == PAIN_MEDICATION:
        return items.opioid_omeq_mg is not None or bool(items.pain_medication.strip())
    if code == ADVERSE_EVENTS:
        return items.new_adverse_events is not None
    if code == CROSSOVER:
        return items.crossover_wish is not None
    raise ValueError(f"unknown item group {code!r}")


def items_missing_check(
    groups: list[ItemGroup], items: VisitItemsInput, *, notes: str = ""
) -> dict[str, str]:
    """The reason of every group the call left empty, or ValidationError naming each group
    without one (keyed ``missing_<group>``, the call form's reason fields).

    A link chosen on the call stands for "will send by link" for every empty questionnaire
    without another reason; "will send by link" needs the link, and "other" the call's notes.
    """
    reasons: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for group in groups:
        if group_recorded(group.code, items):
            continue
        reason = items.missing.get(group.code) or ""
        if not reason and group.instrument and items.send_link_via:
            reason = MissingReason.BY_LINK
        label = str(group.label)
        if reason not in MissingReason.values:
            errors[f"missing_{group.code}"] = [
                gettext("%(group)s: record it, or say why it is missing.") % {"group": label}
            ]
        elif reason == MissingReason.BY_LINK and not group.instrument:
            errors[f"missing_{group.code}"] = [
                gettext("%(group)s is not a questionnaire; it cannot be sent by link.")
                % {"group": label}
            ]
        elif reason == MissingReason.BY_LINK and not items.send_link_via:
            errors[f"missing_{group.code}"] = [
                gettext("%(group)s: choose how the link is sent (e-mail or text message).")
                % {"group": label}
            ]
        elif reason == MissingReason.OTHER and not notes.strip():
            errors[f"missing_{group.code}"] = [
                gettext("%(group)s: say in the notes why it is missing.") % {"group": label}
            ]
        else:
            reasons[group.code] = reason
    if errors:
        raise ValidationError(errors)
    return reasons


def missing_summary(reasons: dict[str, str]) -> str:
    """ "ODI (declined), Health-service use (will send by link)", in the groups' order."""
    labels = dict(MissingReason.choices)
    return ", ".join(
        f"{group_label(code)} ({str(labels.get(reasons[code], reasons[code])).lower()})"
        for code in sorted(reasons, key=_order)
    )


def _order(code: str) -> int:
    return GROUP_ORDER.index(code) if code in GROUP_ORDER else len(GROUP_ORDER)


# --- reading what is still missing ---------------------------------------------------------


def outstanding_q(prefix: str = "") -> Q:
    """Contacts (reached through ``prefix``) done with an item still missing: a group the call
    gave a reason for, unless it is a questionnaire submitted since. A fixed-size condition,
    so lists filtered by it cost the same number of queries however long they are."""
    from questionnaires.models import QuestionnaireResponse, ResponseStatus

    condition = Q()
    for code in GROUP_ORDER:
        term = Q(**{f"{prefix}items__missing_reasons__has_key": code})
        if code in QUESTIONNAIRE_GROUPS:
            term &= ~Q(
                Exists(
                    QuestionnaireResponse.objects.filter(
                        participant_id=OuterRef(f"{prefix}participant_id"),
                        visit_code=OuterRef(f"{prefix}visit_code"),
                        instrument_code=code,
                        status=ResponseStatus.SUBMITTED,
                    )
                )
            )
        condition |= term
    return condition


@dataclass(frozen=True)
class MissingItem:
    code: str
    label: str
    reason: str
    reason_label: str


def missing_by_contact(contacts) -> dict[int, list[MissingItem]]:
    """Contact id -> the items still missing from it (done contacts only). Two queries."""
    from followup.models import VisitItems
    from questionnaires.models import QuestionnaireResponse, ResponseStatus

    contacts = list(contacts)
    ids = [c.pk for c in contacts if c.status == "done"]
    if not ids:
        return {}
    reasons = {
        row["contact_id"]: row["missing_reasons"]
        for row in VisitItems.objects.filter(contact_id__in=ids)
        .exclude(missing_reasons={})
        .values("contact_id", "missing_reasons")
    }
    if not reasons:
        return {}
    wanted = [c for c in contacts if c.pk in reasons]
    submitted = set(
        QuestionnaireResponse.objects.filter(
            participant_id__in={c.participant_id for c in wanted},
            visit_code__in={c.visit_code for c in wanted},
            status=ResponseStatus.SUBMITTED,
        ).values_list("participant_id", "visit_code", "instrument_code")
    )
    labels = dict(MissingReason.choices)
    result: dict[int, list[MissingItem]] = {}
    for contact in wanted:
        items = [
            MissingItem(code, group_label(code), reason, str(labels.get(reason, reason)))
            for code, reason in sorted(reasons[contact.pk].items(), key=lambda kv: _order(kv[0]))
            if (contact.participant_id, contact.visit_code, code) not in submitted
        ]
        if items:
            result[contact.pk] = items
    return result
