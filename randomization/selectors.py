"""Reads of the randomisation app: stock, batches, allocations, the verification report.

Concealment rule: nothing here hands the arm of an unused envelope to a page, except
``allocation_list`` (data managers; coordinators if the trial allows) and the batch PDF; and
the arm of a used envelope is shown only once the allocation is revealed (``revealed_q``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from randomization import blocks
from randomization.models import (
    Allocation,
    AllocationListView,
    Arm,
    BatchPrint,
    Envelope,
    EnvelopeBatch,
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
    if not user.is_authenticated or not user.is_central:
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
    """Rows for the batch page: serial, used or not, participant; the arm only once the
    allocation that used the envelope is revealed."""
    revealed = set(
        revealed_allocations().filter(envelope__batch=batch).values_list("envelope_id", flat=True)
    )
    return [
        {
            "serial": e.serial,
            "used": e.is_used,
            "used_at": e.used_at,
            "participant": e.participant,
            "arm_label": e.get_arm_display() if e.pk in revealed else "",
        }
        for e in batch_envelopes(batch)
    ]


@dataclass
class StockRow:
    site: Site
    cells: list[dict]


def stock_overview() -> list[StockRow]:
    """Unused envelopes per hematology site and stratum (one query for the counts)."""
    counts = {
        (row["site_id"], row["stratum"]): (row["unused"], row["total"])
        for row in Envelope.objects.values("site_id", "stratum").annotate(
            unused=Count("id", filter=sealed_q()), total=Count("id")
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
    """Envelopes still sealed in the clinic's box: not yet taken by a randomisation."""
    return Q(participant__isnull=True)


def sealed_envelopes(site: Site | int, stratum: str) -> QuerySet[Envelope]:
    site_id = site if isinstance(site, int) else site.pk
    return Envelope.objects.filter(sealed_q(), site_id=site_id, stratum=stratum)


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


# === Verification report ====================================================================

_SERIAL = re.compile(r"^(?P<site>[A-Z]{2,6})-(?P<stratum>[A-Z0-9]+)-(?P<sequence>\d{3,})$")


@dataclass
class BatchCheck:
    batch: EnvelopeBatch
    problems: list[str] = field(default_factory=list)
    used: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Balance:
    label: str
    pvp: int = 0
    conservative: int = 0

    @property
    def total(self) -> int:
        return self.pvp + self.conservative

    @property
    def difference(self) -> int:
        return self.pvp - self.conservative


@dataclass
class VerificationReport:
    batches: list[BatchCheck]
    stream_problems: list[str]
    by_stratum: list[Balance]
    by_site: list[Balance]
    total: Balance

    @property
    def ok(self) -> bool:
        return not self.stream_problems and all(b.ok for b in self.batches)


def verification_report() -> VerificationReport:
    """Check every batch and every site-and-stratum stream of envelopes, from stored data only.

    Per batch: the block structure (complete blocks balanced, positions in order, no gaps,
    ``blocks.verify_sequence``), serials that match site, stratum and sequence. Per stream
    (site and stratum, across batches): sequence numbers without gaps, envelopes used in serial
    order (no unused envelope before a used one, and allocation times rising with the serial),
    each used envelope matched to exactly one allocation of the same participant, arm and
    stratum. Balance of arms is counted over revealed allocations only.
    """
    envelopes = list(
        Envelope.objects.select_related("site").order_by("site__code", "stratum", "sequence")
    )
    allocations = {
        a.envelope_id: a
        for a in Allocation.objects.select_related("participant").only(
            "envelope_id",
            "participant__trial_number",
            "participant_id",
            "arm",
            "stratum",
            "randomised_at",
            "confirmed_at",
        )
    }
    batches = {b.pk: BatchCheck(b) for b in EnvelopeBatch.objects.select_related("site")}
    by_batch: dict[int, list[Envelope]] = defaultdict(list)
    streams: dict[tuple[str, str], list[Envelope]] = defaultdict(list)
    for e in envelopes:
        by_batch[e.batch_id].append(e)
        streams[(e.site.code, e.stratum)].append(e)

    for batch_id, check in batches.items():
        members = by_batch.get(batch_id, [])
        check.used = sum(1 for e in members if e.is_used)
        if not members:
            check.problems.append(_("The batch has no envelopes."))
            continue
        if len(members) != check.batch.size:
            check.problems.append(
                _("The batch should hold %(size)d envelopes but holds %(count)d.")
                % {"size": check.batch.size, "count": len(members)}
            )
        check.problems.extend(
            blocks.verify_sequence(
                blocks.Allocation(
                    sequence=e.sequence,
                    arm=e.arm,
                    block_number=e.block_number,
                    block_size=e.block_size,
                    position_in_block=e.position_in_block,
                )
                for e in members
            )
        )
        for e in members:
            match = _SERIAL.match(e.serial)
            if (
                not match
                or match["site"] != e.site.code
                or match["stratum"] != e.stratum
                or int(match["sequence"]) != e.sequence
            ):
                check.problems.append(
                    _("Envelope %(serial)s does not match its site, stratum and sequence.")
                    % {"serial": e.serial}
                )
            if e.site_id != check.batch.site_id or e.stratum != check.batch.stratum:
                check.problems.append(
                    _("Envelope %(serial)s belongs to another site or stratum than its batch.")
                    % {"serial": e.serial}
                )

    stream_problems: list[str] = []
    for (site_code, stratum), members in streams.items():
        where = f"{site_code} {stratum}"
        numbers = [e.sequence for e in members]
        expected = list(range(1, len(numbers) + 1))
        if numbers != expected:
            missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
            stream_problems.append(
                _("%(where)s: serial numbers are missing: %(missing)s.")
                % {"where": where, "missing": ", ".join(str(n) for n in missing) or "-"}
            )
        first_unused = next((e for e in members if not e.is_used), None)
        if first_unused is not None:
            skipped_over = [
                e.serial for e in members if e.is_used and e.sequence > first_unused.sequence
            ]
            if skipped_over:
                stream_problems.append(
                    _(
                        "%(where)s: envelopes used out of order: %(used)s used while "
                        "%(unused)s is still unused."
                    )
                    % {
                        "where": where,
                        "used": ", ".join(skipped_over),
                        "unused": first_unused.serial,
                    }
                )
        previous = None
        for e in members:
            allocation = allocations.get(e.pk)
            if e.is_used and allocation is None:
                stream_problems.append(
                    _("%(serial)s is marked used but has no allocation.") % {"serial": e.serial}
                )
            elif allocation is not None and not e.is_used:
                stream_problems.append(
                    _("%(serial)s has an allocation but is not marked used.") % {"serial": e.serial}
                )
            elif allocation is not None:
                if allocation.participant_id != e.participant_id:
                    stream_problems.append(
                        _("%(serial)s is held by one participant but allocated to another.")
                        % {"serial": e.serial}
                    )
                if allocation.arm != e.arm or allocation.stratum != e.stratum:
                    stream_problems.append(
                        _(
                            "The allocation of %(serial)s differs from the envelope's arm "
                            "or stratum."
                        )
                        % {"serial": e.serial}
                    )
                if previous is not None and allocation.randomised_at < previous.randomised_at:
                    stream_problems.append(
                        _("%(serial)s was used before an envelope with a lower serial.")
                        % {"serial": e.serial}
                    )
                previous = allocation
    known = {e.pk for e in envelopes}
    for envelope_id, allocation in allocations.items():
        if envelope_id not in known:
            stream_problems.append(
                _("The allocation of %(number)s points at a missing envelope.")
                % {"number": allocation.participant.trial_number}
            )

    strata_balance = {code: Balance(f"{code} · {s.label}") for code, s in STRATA.items()}
    site_balance: dict[str, Balance] = {}
    total = Balance(_("All sites and strata"))
    arm_counts: Counter[tuple[str, str, str]] = Counter()
    for e in envelopes:
        allocation = allocations.get(e.pk)
        # The balance shows arms, so it counts revealed allocations only; the checks above
        # cover every allocation without showing an arm.
        if allocation is None or not allocation_revealed(allocation):
            continue
        arm_counts[(e.site.code, allocation.stratum, allocation.arm)] += 1
    for (site_code, stratum, arm), n in arm_counts.items():
        for balance in (
            strata_balance.setdefault(stratum, Balance(stratum)),
            site_balance.setdefault(site_code, Balance(site_code)),
            total,
        ):
            if arm == Arm.PVP:
                balance.pvp += n
            else:
                balance.conservative += n
    return VerificationReport(
        batches=list(batches.values()),
        stream_problems=stream_problems,
        by_stratum=list(strata_balance.values()),
        by_site=[site_balance[k] for k in sorted(site_balance)],
        total=total,
    )
