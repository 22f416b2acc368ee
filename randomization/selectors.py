"""Reads of the randomisation app: stock, batches, allocations, the verification report.

Concealment rule: nothing here hands the arm of an unused envelope to a page, except
``allocation_list`` (data managers; coordinators if the trial allows) and the batch PDF; and
the arm of a used envelope is shown only once the allocation is revealed (``revealed_q``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from randomization.models import (
    Allocation,
    AllocationListView,
    BatchPrint,
    DeviationKind,
    Envelope,
    EnvelopeBatch,
    EnvelopeState,
    PrintStatus,
    ProtocolDeviation,
)
from randomization.strata import STRATA
from trial import access
from trial.models import Site, SiteKind, User

# === Concealment: is the allocation revealed? ==============================================
# Between "Randomise now" and the confirmation of the opened envelope the allocation exists
# (the envelope is taken, in serial order) but its arm is shown nowhere: the clinician types
# the arm printed on the card, and a screen that already said it would make that check a copy.
# This section is the one home of the rule. Every reader of an allocation's arm goes through
# it: this app directly; ``trial`` (the treatment panel and services, the as-treated
# expression, the audit trail) and ``followup`` through ``trial.registry.concealment``, which
# apps.py fills with these functions, because ``trial`` may not import this app. For the
# statistician an allocation not yet revealed counts as not randomised yet: it is left out of
# exports, the arm balance and the outcome report until the envelope is confirmed.


def revealed_q(path: str = "") -> Q:
    """Allocations whose arm may be shown, as a filter on a query that reaches the allocation
    by ``path``: ``""`` on Allocation, ``"allocation__"`` on Participant,
    ``"participant__allocation__"`` on a model pointing at a participant."""
    return Q(**{f"{path}confirmed_at__isnull": False})


def allocation_revealed(allocation: Allocation | None) -> bool:
    """May this allocation's arm be shown (on a page, in an export, a count, an e-mail)?"""
    return allocation is not None and allocation.confirmed_at is not None


def revealed_arm(allocation: Allocation | None) -> str | None:
    """The allocated arm, or None before the allocation is revealed (or without one)."""
    return allocation.arm if allocation is not None and allocation_revealed(allocation) else None


def revealed_allocations() -> QuerySet[Allocation]:
    return Allocation.objects.filter(revealed_q())


def ineligible_deviations() -> QuerySet[ProtocolDeviation]:
    """Deviations recording that a correction after randomisation made the participant
    ineligible (randomization.corrections): the per-protocol analysis leaves them out."""
    return ProtocolDeviation.objects.filter(kind=DeviationKind.CORRECTION_MAKES_INELIGIBLE)


def concealed_allocation_ids(ids) -> set[int]:
    """Of these allocation ids, those whose arm is not revealed yet (for the audit trail)."""
    return set(
        Allocation.objects.filter(pk__in=list(ids))
        .exclude(revealed_q())
        .values_list("pk", flat=True)
    )


def can_see_allocation_list(user: User) -> bool:
    return access.can_see_allocation_list(user)


def batches_for(user: User) -> QuerySet[EnvelopeBatch]:
    """Batches are central business; site roles never see them (the matrix keeps them out)."""
    if access.site_scope(user) != "all":
        return EnvelopeBatch.objects.none()
    return EnvelopeBatch.objects.select_related("site", "created_by")


def batch_get_for(user: User, batch_id: int) -> EnvelopeBatch:
    return get_object_or_404(batches_for(user), pk=batch_id)


@dataclass(frozen=True)
class PrintJob:
    """A batch print as the batch page shows it: its real state, never a guess."""

    record: BatchPrint
    state: str  # "queued", "generating", "ready" or "failed"
    label: str

    @property
    def finished(self) -> bool:
        return self.state in ("ready", "failed")


def print_state(record: BatchPrint) -> str:
    """Queued until the task claims the job (it names the file as it claims it), then
    generating until it records ready or failed."""
    if record.status == PrintStatus.READY:
        return "ready"
    if record.status == PrintStatus.FAILED:
        return "failed"
    return "generating" if record.file_name else "queued"


def print_jobs(batch: EnvelopeBatch, limit: int = 20) -> list[PrintJob]:
    labels = {
        "queued": _("Queued"),
        "generating": _("Generating"),
        "ready": _("Ready"),
        "failed": _("Failed"),
    }
    jobs = []
    for record in batch.prints.select_related("user")[:limit]:
        state = print_state(record)
        jobs.append(PrintJob(record=record, state=state, label=str(labels[state])))
    return jobs


def batch_envelopes(batch: EnvelopeBatch) -> QuerySet[Envelope]:
    return batch.envelopes.select_related("participant").order_by("sequence")


def batch_overview(batch: EnvelopeBatch) -> list[dict]:
    """Rows for the batch page: serial, state, participant, what happened to the envelope out
    of the ordinary; the arm only once the allocation that opened the envelope is revealed."""
    revealed = set(
        revealed_allocations().filter(envelope__batch=batch).values_list("envelope_id", flat=True)
    )
    envelopes = list(batch_envelopes(batch))
    ids = [e.pk for e in envelopes]
    notes: dict[int, list[str]] = defaultdict(list)
    wrong = ProtocolDeviation.objects.filter(kind=DeviationKind.WRONG_ENVELOPE).filter(
        Q(named_envelope_id__in=ids) | Q(opened_envelope_id__in=ids)
    )
    for d in wrong.select_related("participant", "named_envelope", "opened_envelope"):
        if d.named_envelope is None or d.opened_envelope is None:  # a wrong envelope has both
            continue
        values = {
            "number": d.participant.trial_number,
            "named": d.named_envelope.serial,
            "opened": d.opened_envelope.serial,
        }
        if d.opened_envelope_id in ids:
            notes[d.opened_envelope_id].append(
                _("Opened out of order for %(number)s instead of %(named)s.") % values
            )
        if d.named_envelope_id in ids:
            notes[d.named_envelope_id].append(
                _("Named for %(number)s, who was given %(opened)s instead.") % values
            )
    for e in envelopes:
        if e.state in (EnvelopeState.SPOILED, EnvelopeState.MISSING) and e.state_reason:
            notes[e.pk].append(e.state_reason)
        if e.card_arm_differs:
            notes[e.pk].append(
                _("The card was read as %(card)s.") % {"card": e.get_card_arm_display()}
            )
    return [
        {
            "serial": e.serial,
            "state": e.state,
            "state_label": e.get_state_display(),
            "used": e.is_used,
            "used_at": e.used_at,
            "state_changed_at": e.state_changed_at,
            "participant": e.participant,
            "arm_label": e.get_arm_display() if e.pk in revealed else "",
            "notes": notes.get(e.pk, []),
        }
        for e in envelopes
    ]


@dataclass
class StockRow:
    site: Site
    cells: list[dict]


def stock_overview() -> list[StockRow]:
    """Sealed envelopes per hematology site and stratum (one query for the counts).

    A stratum with no sealed envelope is flagged empty, whether it never had a batch or used
    them all: either way the next participant of that stratum cannot be randomised.
    """
    counts = {
        (row["site_id"], row["stratum"]): (row["sealed"], row["total"])
        for row in Envelope.objects.values("site_id", "stratum").annotate(
            sealed=Count("id", filter=sealed_q()), total=Count("id")
        )
    }
    threshold = settings.RANDOMISATION_STOCK_THRESHOLD
    rows = []
    for site in Site.objects.filter(kind=SiteKind.HEMATOLOGY).order_by("code"):
        cells = []
        for code in STRATA:
            unused, total = counts.get((site.pk, code), (0, 0))
            cells.append(
                {
                    "stratum": code,
                    "remaining": unused,
                    "issued": total,
                    "low": total > 0 and unused < threshold,
                    "empty": unused == 0,
                }
            )
        rows.append(StockRow(site=site, cells=cells))
    return rows


def sealed_envelopes_left(site: Site | int, stratum: str) -> int:
    """Envelopes of a site and stratum that a randomisation can still take: the one definition
    of stock, read by the randomise page, the service that refuses an empty stratum, the
    stock overview and the low-stock alert."""
    return sealed_envelopes(site, stratum).count()


def sealed_q() -> Q:
    """Envelopes still sealed in the clinic's box: never issued, opened, spoiled or lost."""
    return Q(state=EnvelopeState.SEALED)


def sealed_envelopes(site: Site | int, stratum: str) -> QuerySet[Envelope]:
    site_id = site if isinstance(site, int) else site.pk
    return Envelope.objects.filter(sealed_q(), site_id=site_id, stratum=stratum)


def envelopes_reported() -> QuerySet[Envelope]:
    """Envelopes reported spoiled or missing, newest report first (for the coordinator)."""
    return (
        Envelope.objects.filter(state__in=(EnvelopeState.SPOILED, EnvelopeState.MISSING))
        .select_related("site", "state_changed_by", "batch")
        .order_by("-state_changed_at", "serial")
    )


def allocation_for(participant) -> Allocation | None:
    return (
        Allocation.objects.select_related("envelope", "randomised_by", "confirmed_by")
        .filter(participant=participant)
        .first()
    )


def allocation_list(*, site: str = "", stratum: str = "") -> QuerySet[Envelope]:
    """Every envelope with its arm, used or not: the allocation list, optionally of one site
    (code) and stratum. Callers must log it (``services.allocation_list_view_record``)."""
    qs = Envelope.objects.select_related("site", "participant", "batch").order_by(
        "site__code", "stratum", "sequence"
    )
    if site:
        qs = qs.filter(site__code=site)
    if stratum:
        qs = qs.filter(stratum=stratum)
    return qs


@dataclass(frozen=True)
class AllocationListLook:
    """One row of the log of the allocation list: who, when, page or CSV, which filter."""

    user: User
    viewed_at: object
    download: bool
    filters: list[tuple[str, str]]


def allocation_list_views() -> QuerySet[AllocationListView]:
    return AllocationListView.objects.select_related("user").order_by("-viewed_at", "-pk")


def allocation_list_look(view: AllocationListView) -> AllocationListLook:
    """What a logged ``what`` (the path asked for, with its query) meant, in words."""
    parts = urlsplit(view.what)
    labels = {"site": _("Site"), "stratum": _("Stratum")}
    filters = [
        (str(labels.get(key, key)), value)
        for key, value in parse_qsl(parts.query)
        if value and key != "page"
    ]
    return AllocationListLook(
        user=view.user,
        viewed_at=view.viewed_at,
        download=parts.path.endswith(".csv"),
        filters=filters,
    )


def deviations_for_review() -> QuerySet[ProtocolDeviation]:
    """Protocol deviations, those not yet acknowledged first, newest first within each."""
    return ProtocolDeviation.objects.select_related(
        "participant", "participant__site", "reported_by", "acknowledged_by"
    ).order_by(F("acknowledged_at").desc(nulls_first=True), "-reported_at")
