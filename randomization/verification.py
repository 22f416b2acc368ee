"""The verification report: every batch and every site-and-stratum stream of envelopes checked
from stored data only, with the envelope events (out of order, spoiled, missing, card-arm
mismatches, gaps) and the balance of the revealed allocations.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from randomization import blocks
from randomization.models import (
    Allocation,
    Arm,
    Envelope,
    EnvelopeBatch,
    EnvelopeState,
    ProtocolDeviation,
    envelope_serial,
)
from randomization.selectors import allocation_revealed
from randomization.strata import STRATA

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


class EventKind:
    OUT_OF_ORDER = "out_of_order"
    SPOILED = "spoiled"
    MISSING = "missing"
    CARD_ARM = "card_arm"
    GAP = "gap"


def _event_labels() -> dict[str, str]:
    return {
        EventKind.OUT_OF_ORDER: _("Opened out of order"),
        EventKind.SPOILED: _("Spoiled"),
        EventKind.MISSING: _("Missing"),
        EventKind.CARD_ARM: _("Card arm differs"),
        EventKind.GAP: _("Gap in the serials"),
    }


@dataclass
class EnvelopeEvent:
    """One envelope that did not go the ordinary way (sealed, issued, opened in turn)."""

    kind: str
    site: str
    stratum: str
    batch_id: int | None
    serial: str
    detail: str

    @property
    def label(self) -> str:
        return _event_labels()[self.kind]


@dataclass
class VerificationReport:
    batches: list[BatchCheck]
    stream_problems: list[str]
    by_stratum: list[Balance]
    by_site: list[Balance]
    total: Balance
    events: list[EnvelopeEvent] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.stream_problems and not self.events and all(b.ok for b in self.batches)

    def events_of(self, kind: str) -> list[EnvelopeEvent]:
        return [e for e in self.events if e.kind == kind]


def verification_report() -> VerificationReport:
    """Check every batch and every site-and-stratum stream of envelopes, from stored data only.

    Per batch: the block structure (complete blocks balanced, positions in order, no gaps,
    ``blocks.verify_sequence``), serials that match site, stratum and sequence. Events, per
    batch, site and stratum: every envelope opened out of order (not the one named), spoiled
    or missing, every card read with another arm than the envelope's, every gap in the serial
    sequence. Per stream (site and stratum, across batches), what no recorded event explains:
    envelopes used out of serial order, a held envelope without its allocation or the other
    way round, an allocation whose arm is neither the card's nor the coordinator's decision.
    Balance of arms is counted over revealed allocations as they stand (an allocation not yet
    confirmed shows no arm anywhere, here neither).
    """
    envelopes = list(
        Envelope.objects.select_related("site", "participant", "state_changed_by").order_by(
            "site__code", "stratum", "sequence"
        )
    )
    by_pk = {e.pk: e for e in envelopes}
    allocations = {
        a.envelope_id: a
        for a in Allocation.objects.select_related("participant").only(
            "envelope_id",
            "named_envelope_id",
            "participant__trial_number",
            "participant_id",
            "arm",
            "stratum",
            "randomised_at",
            "confirmed_at",
        )
    }
    decided = dict(
        ProtocolDeviation.objects.exclude(decided_arm="").values_list(
            "participant_id", "decided_arm"
        )
    )
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

    events: list[EnvelopeEvent] = []
    # Envelopes opened for a participant to whom the system had named another one.
    explained: set[int] = set()
    for envelope_id, allocation in allocations.items():
        opened = by_pk.get(envelope_id)
        if opened is None or allocation.named_envelope_id in (None, envelope_id):
            continue
        named = by_pk.get(allocation.named_envelope_id)
        explained.add(envelope_id)
        events.append(
            EnvelopeEvent(
                EventKind.OUT_OF_ORDER,
                opened.site.code,
                opened.stratum,
                opened.batch_id,
                opened.serial,
                _("Opened for %(number)s instead of %(named)s (now %(state)s).")
                % {
                    "number": allocation.participant.trial_number,
                    "named": named.serial if named else "-",
                    "state": named.get_state_display() if named else "-",
                },
            )
        )
    for e in envelopes:
        if e.state in (EnvelopeState.SPOILED, EnvelopeState.MISSING):
            who = e.state_changed_by.username if e.state_changed_by else "-"
            when = e.state_changed_at.date().isoformat() if e.state_changed_at else "-"
            events.append(
                EnvelopeEvent(
                    EventKind.SPOILED if e.state == EnvelopeState.SPOILED else EventKind.MISSING,
                    e.site.code,
                    e.stratum,
                    e.batch_id,
                    e.serial,
                    f"{e.state_reason} ({who}, {when})",
                )
            )
        if e.card_arm_differs:
            events.append(
                EnvelopeEvent(
                    EventKind.CARD_ARM,
                    e.site.code,
                    e.stratum,
                    e.batch_id,
                    e.serial,
                    _("The card was read as %(card)s; the envelope was generated as %(arm)s.")
                    % {"card": e.get_card_arm_display(), "arm": e.get_arm_display()},
                )
            )

    stream_problems: list[str] = []
    for (site_code, stratum), members in streams.items():
        where = f"{site_code} {stratum}"
        numbers = [e.sequence for e in members]
        for n in sorted(set(range(1, max(numbers) + 1)) - set(numbers)):
            batch = next(
                (
                    b.batch
                    for b in batches.values()
                    if b.batch.site.code == site_code
                    and b.batch.stratum == stratum
                    and b.batch.first_sequence <= n <= b.batch.last_sequence
                ),
                None,
            )
            events.append(
                EnvelopeEvent(
                    EventKind.GAP,
                    site_code,
                    stratum,
                    batch.pk if batch else None,
                    envelope_serial(site_code, stratum, n),
                    _("No envelope has this serial number."),
                )
            )
        first_sealed = next((e for e in members if e.state == EnvelopeState.SEALED), None)
        if first_sealed is not None:
            skipped_over = [
                e.serial
                for e in members
                if e.participant_id is not None
                and e.sequence > first_sealed.sequence
                and e.pk not in explained
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
                        "unused": first_sealed.serial,
                    }
                )
        previous = None
        for e in members:
            held_by = allocations.get(e.pk)
            held = e.participant_id is not None
            if held and held_by is None:
                stream_problems.append(
                    _("%(serial)s is marked used but has no allocation.") % {"serial": e.serial}
                )
            elif held_by is not None and not held:
                stream_problems.append(
                    _("%(serial)s has an allocation but is not marked used.") % {"serial": e.serial}
                )
            elif held_by is not None:
                if held_by.participant_id != e.participant_id:
                    stream_problems.append(
                        _("%(serial)s is held by one participant but allocated to another.")
                        % {"serial": e.serial}
                    )
                if held_by.stratum != e.stratum:
                    stream_problems.append(
                        _(
                            "The allocation of %(serial)s differs from the envelope's arm "
                            "or stratum."
                        )
                        % {"serial": e.serial}
                    )
                standing = decided.get(held_by.participant_id) or e.card_arm or e.arm
                if held_by.arm != standing:
                    stream_problems.append(
                        _(
                            "The allocation of %(serial)s is neither the arm on its card nor "
                            "the coordinator's decision."
                        )
                        % {"serial": e.serial}
                    )
                if e.pk in explained:
                    continue
                if previous is not None and held_by.randomised_at < previous.randomised_at:
                    stream_problems.append(
                        _("%(serial)s was used before an envelope with a lower serial.")
                        % {"serial": e.serial}
                    )
                previous = held_by
    known = set(by_pk)
    for envelope_id, allocation in allocations.items():
        if envelope_id not in known:
            stream_problems.append(
                _("The allocation of %(number)s points at a missing envelope.")
                % {"number": allocation.participant.trial_number}
            )
    events.sort(key=lambda ev: (ev.site, ev.stratum, ev.batch_id or 0, ev.serial, ev.kind))

    strata_balance = {code: Balance(f"{code} · {s.label}") for code, s in STRATA.items()}
    site_balance: dict[str, Balance] = {}
    total = Balance(_("All sites and strata"))
    arm_counts: Counter[tuple[str, str, str]] = Counter()
    for e in envelopes:
        counted = allocations.get(e.pk)
        # The balance shows arms, so it counts revealed allocations only; the checks above
        # cover every allocation without showing an arm.
        if counted is None or not allocation_revealed(counted):
            continue
        arm_counts[(e.site.code, counted.stratum, counted.arm)] += 1
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
        events=events,
    )
