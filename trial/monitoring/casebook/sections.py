"""Monitoring's own section of the casebook: every query of the participant and how it ended.

The threads themselves are printed under the form they are about; this section is the
overview a monitor signs off: raised by whom and when, the state, and who closed it when.
"""

from __future__ import annotations

import datetime as dt
import textwrap

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from trial.audit_display import person_name
from trial.models import QueryState
from trial.monitoring import items as catalogue
from trial.monitoring.selectors import participant_queries
from trial.registry import CasebookSection


def _when(value) -> str:
    if not value:
        return "—"
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def queries_section(participant) -> CasebookSection:
    rows = []
    for query in participant_queries(participant).select_related("closed_by"):
        source = catalogue.source_for(query.target_model)
        form = str(source.form_label) if source else query.target_model
        closed = ""
        if query.state == QueryState.CLOSED:
            closed = _("%(who)s, %(when)s") % {
                "who": person_name(query.closed_by) if query.closed_by else _("the system"),
                "when": _when(query.state_changed_at),
            }
        rows.append(
            (
                f"#{query.pk}",
                " · ".join(b for b in (form, query.visit_code) if b),
                catalogue.item_label(query.target_model, query.field_name),
                _("%(who)s, %(when)s")
                % {
                    "who": person_name(query.raised_by) if query.raised_by else _("edit check"),
                    "when": _when(query.raised_at),
                },
                str(query.get_state_display()),
                closed,
            )
        )
    return CasebookSection(
        title=_("Queries and their resolution"),
        rows=rows,
        columns=(_("Query"), _("Form"), _("Item"), _("Raised"), _("State"), _("Closed")),
        empty=_("No queries were raised on this participant's data."),
    )


def _utc(value) -> str:
    if not value:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def signatures_section(participant) -> CasebookSection:
    """The signature manifest (21 CFR 11.50): each signature with its meaning, the signer's
    printed name, the UTC time, its state, and the records it covers with their hash."""
    from trial.monitoring.signatures import signature_manifest

    rows = []
    for entry in signature_manifest(participant):
        signature = entry.signature
        state = str(signature.get_state_display())
        if signature.renewal_at:
            state += " · " + _("changed %(when)s: %(form)s, reason: %(reason)s") % {
                "when": _when(signature.renewal_at),
                "form": signature.renewal_model,
                "reason": signature.renewal_reason or "—",
            }
        records = "; ".join(f"{r.form_label} #{r.record_id}" for r in entry.records)
        rows.append(
            (
                entry.scope or _("Whole casebook"),
                signature.signer_name,
                _utc(signature.signed_at),
                signature.meaning_text,
                state,
                # The hash in groups of 16, so the column can wrap it on the page.
                f"{records} (SHA-256 {' '.join(textwrap.wrap(signature.manifest_hash, 16))})",
            )
        )
    return CasebookSection(
        title=_("Signature manifest"),
        rows=rows,
        columns=(_("Scope"), _("Signer"), _("Signed"), _("Meaning"), _("State"), _("Records")),
        empty=_("The investigator has not signed this casebook."),
    )


def sdv_section(participant) -> CasebookSection:
    """Source-data verification of the forms that need it, with who verified and when."""
    from trial.monitoring import sdv

    rows = []
    for instance in sdv.sdv_state_for(participant):
        verification = instance.verification
        verified = cleared = ""
        if verification is not None:
            verified = _("%(who)s, %(when)s") % {
                "who": person_name(verification.verified_by),
                "when": _when(verification.verified_at),
            }
            if verification.cleared_at:
                cleared = _("%(who)s, %(when)s") % {
                    "who": person_name(verification.cleared_by)
                    if verification.cleared_by
                    else _("the system"),
                    "when": _when(verification.cleared_at),
                }
        rows.append(
            (
                str(instance.form.label),
                instance.visit_code,
                instance.record_id,
                instance.state_label,
                verified,
                cleared,
            )
        )
    return CasebookSection(
        title=_("Source-data verification"),
        rows=rows,
        columns=(_("Form"), _("Visit"), _("Record"), _("State"), _("Verified"), _("Changed")),
        empty=_("No form of this participant needs source-data verification yet."),
    )


def lock_section(participant) -> CasebookSection:
    """The participant's lock and the database lock, with who, when and why."""
    from trial.monitoring import locks

    rows = []
    for label, lock in (
        (_("Participant"), locks.participant_lock_active(participant)),
        (_("Whole trial (database lock)"), locks.trial_lock_active()),
    ):
        if lock is None:
            continue
        rows.append(
            (
                str(label),
                _("%(who)s, %(when)s")
                % {"who": person_name(lock.locked_by), "when": _when(lock.locked_at)},
                lock.reason or "—",
                lock.unmet_conditions or "—",
            )
        )
    return CasebookSection(
        title=_("Data lock"),
        rows=rows,
        columns=(_("Lock"), _("Locked"), _("Reason"), _("Conditions not met")),
        empty=_("This participant's data is not locked."),
    )
