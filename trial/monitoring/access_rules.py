"""The monitoring rows of the permission matrix (trial.access_matrix reads them in): queries,
edit checks, source-data verification, signatures, locks and casebooks.

Queries are participant-scoped like the clinical pages: a site's staff see their own site's,
central roles every site's. The matrix hands in its ``Rule`` so this module imports nothing of
it (no import cycle).
"""

from __future__ import annotations

from trial.models import Role

ALL_STAFF = frozenset(Role)
CLINICAL_SITE = frozenset({Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE})
HEMATOLOGIST = frozenset({Role.HEMATOLOGIST})
# Who reads a participant's whole record as a casebook: the site's hematologist (the
# investigator who signs it) and the central roles that review it.
CASEBOOK_READERS = frozenset({Role.HEMATOLOGIST, Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR})


def monitoring_entries(Rule) -> dict:
    return {
        "trial:query_list": Rule(
            kind="monitoring",
            read_roles=ALL_STAFF,
            description="Queries on recorded items, oldest first, by state, site and form",
        ),
        "trial:query_raise": Rule(
            kind="monitoring",
            roles=frozenset({Role.MONITOR, Role.DATA_MANAGER}),
            description="Raise a query on one recorded item of a participant",
        ),
        "trial:query_detail": Rule(
            kind="monitoring",
            roles=CLINICAL_SITE | {Role.MONITOR, Role.DATA_MANAGER},
            read_roles=frozenset({Role.COORDINATOR}),
            description="A query's thread: the site answers; the monitor or data manager closes",
        ),
        "trial:edit_checks": Rule(
            kind="central",
            read_roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR}),
            description="The edit checks, each with its counts of open and closed queries",
        ),
        # Data locks (trial.monitoring.locks): the data manager locks and unlocks.
        "trial:participant_lock": Rule(
            kind="monitoring",
            roles=frozenset({Role.DATA_MANAGER}),
            description="Lock a participant's data (a reason if a condition is unmet), unlock",
        ),
        "trial:trial_lock": Rule(
            kind="central",
            roles=frozenset({Role.DATA_MANAGER}),
            read_roles=frozenset({Role.COORDINATOR, Role.MONITOR}),
            description="The database lock: participants not yet locked, lock and unlock the trial",
        ),
        # Source-data verification: the monitor and data manager verify; the coordinator reads.
        "trial:sdv_worklist": Rule(
            kind="monitoring",
            roles=frozenset({Role.MONITOR, Role.DATA_MANAGER}),
            read_roles=frozenset({Role.COORDINATOR}),
            description="Source-data verification still to do, oldest first, by site and form",
        ),
        "trial:sdv_mark": Rule(
            kind="monitoring",
            roles=frozenset({Role.MONITOR, Role.DATA_MANAGER}),
            description="A participant's forms to verify; mark one verified (audited)",
        ),
        # Signatures (21 CFR 11.50, 11.200): the site's hematologist signs; everyone reads them.
        "trial:signature_sign": Rule(
            kind="clinical",
            roles=HEMATOLOGIST,
            description="Sign a casebook or one visit of it: password again, and the TOTP code",
        ),
        "trial:signature_list": Rule(
            kind="monitoring",
            read_roles=ALL_STAFF,
            description="Signatures of casebooks and visits: who, when, meaning, needing renewal",
        ),
        # Casebooks: a participant's record as PDF (monitoring: the monitor requests one,
        # which writes no data), and a site's archive of them at close-out (central).
        "trial:casebook": Rule(
            kind="monitoring",
            roles=CASEBOOK_READERS,
            description="A participant's casebook as PDF: request it (rendered in the background)",
        ),
        "trial:casebook_status": Rule(
            kind="monitoring",
            read_roles=CASEBOOK_READERS,
            description="A casebook's progress as JSON, polled by the progress bar",
        ),
        "trial:casebook_download": Rule(
            kind="monitoring",
            read_roles=CASEBOOK_READERS,
            description="Download a participant's casebook PDF (counted in its log)",
        ),
        "trial:casebook_archive": Rule(
            kind="central",
            roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
            description="A site's archive at close-out: every casebook and an index, in a ZIP",
        ),
        "trial:casebook_archive_status": Rule(
            kind="central",
            roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
            description="A site archive's progress as JSON, polled by the progress bar",
        ),
        "trial:casebook_archive_download": Rule(
            kind="central",
            roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
            description="Download a site's archive ZIP (counted in its log)",
        ),
    }
