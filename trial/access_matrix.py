"""The permission matrix: the data of who may open which view.

Every URL name of the project has an entry here. ``trial.middleware.AccessMatrixMiddleware``
looks the resolved view up before it runs and refuses a view that is missing, so a new view
cannot be added unguarded; ``tests/trial/test_access_matrix.py`` enumerates every URL pattern
and fails on any that is not covered. The finer rights within a view (``ACTIONS``) and the
roles that read identifying data are declared here too; the questions themselves are asked
of ``trial.access`` (``can``, ``may_open``, ``rule_for`` ...), which reads these tables.

Which *participants* a permitted user may then see is decided by one selector,
``trial.access.participants_for``: site roles see their own sites, central
roles all of them. A lookup of another site's participant answers 404, never 403, so that
trial numbers of other sites cannot even be probed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from django.conf import settings

from trial.models import Role

ALL_STAFF = frozenset(Role)
CLINICAL_SITE = frozenset({Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE})
MONITOR = frozenset({Role.MONITOR})
HEMATOLOGIST = frozenset({Role.HEMATOLOGIST})
# Central roles that read clinical pages they do not write (screening is the clinic's work).
CENTRAL_READERS = frozenset({Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR})
# Who corrects what is recorded on the screening path, after randomisation too, with a reason:
# the role that records it, and the data manager (who records nothing there first).
SCREENING_CORRECTORS = HEMATOLOGIST | {Role.DATA_MANAGER}
SURGICAL_CORRECTORS = frozenset({Role.SURGEON, Role.DATA_MANAGER})

# Roles that may read a participant's identifying data (name, CPR, phone, e-mail, address):
# site roles only at their own sites, the data manager everywhere.
IDENTITY_SITE_ROLES = frozenset({Role.HEMATOLOGIST, Role.NURSE})
IDENTITY_CENTRAL_ROLES = frozenset({Role.DATA_MANAGER})

Kind = Literal["public", "account", "clinical", "central", "monitoring", "admin", "api"]


@dataclass(frozen=True)
class Rule:
    """Who may open a view.

    ``roles`` may use every method; ``read_roles`` only safe methods (GET, HEAD), which is how
    the monitor's read-only access is expressed. ``kind`` says what the view is about:
    ``public`` needs no login (patients, health check), ``account`` is about one's own login,
    ``clinical`` shows participant data scoped by site, ``central`` is trial-wide work,
    ``monitoring`` is the data review (queries) where the monitor writes questions, never
    data, ``admin`` is Django's admin, ``api`` a route of the web API (trial/api), which a
    personal token opens (never a session) and whose ``extra["scope"]`` the token must hold.
    """

    kind: Kind
    roles: frozenset[str] = frozenset()
    read_roles: frozenset[str] = frozenset()
    description: str = ""
    # Views a logged-in user without a confirmed second factor may still open.
    before_second_factor: bool = False
    extra: dict = field(default_factory=dict, compare=False)
    # Roles admitted only while a trial setting is on; read at request time, so the matrix
    # follows the setting instead of freezing it when this module is imported.
    roles_if_setting: tuple[str, frozenset[str]] | None = None
    # Roles a coordinator names in a stored setting: (who is named now, who may be named).
    roles_if_named: tuple[Callable[[], frozenset[str]], frozenset[str]] | None = None

    def current_roles(self) -> frozenset[str]:
        roles = self.roles
        if self.roles_if_setting and getattr(settings, self.roles_if_setting[0], False):
            roles = roles | self.roles_if_setting[1]
        if self.roles_if_named:
            roles = roles | (self.roles_if_named[0]() & self.roles_if_named[1])
        return roles

    def allows(self, role: str, method: str) -> bool:
        roles = self.current_roles()
        if method in ("GET", "HEAD", "OPTIONS"):
            return role in roles or role in self.read_roles
        return role in roles


def _public(description: str) -> Rule:
    return Rule(kind="public", description=description)


def _account(description: str, *, before_second_factor: bool = False) -> Rule:
    return Rule(
        kind="account",
        roles=ALL_STAFF,
        description=description,
        before_second_factor=before_second_factor,
    )


MATRIX: dict[str, Rule] = {
    # --- public -------------------------------------------------------------------------
    "healthz": _public(
        "Health check: database and broker reachable, no background task waiting too long"
    ),
    "set_language": _public("Switch the interface language"),
    "account:login": _public("Log in (password, then TOTP code)"),
    "account:welcome": _public("Invited staff: choose a password with the one-time e-mail link"),
    # --- one's own account --------------------------------------------------------------
    "account:logout": _account("Log out", before_second_factor=True),
    "account:otp_setup": _account("Set up the authenticator app", before_second_factor=True),
    "account:otp_qr": _account("QR code for the authenticator app", before_second_factor=True),
    "account:password_change": _account("Change one's own password"),
    "account:password_change_done": _account("Password changed"),
    # --- everyone's start page -----------------------------------------------------------
    "home": _account("Home page for the user's role"),
    # --- participants ---------------------------------------------------------------------
    "trial:participant_list": Rule(
        kind="clinical",
        roles=CLINICAL_SITE | {Role.COORDINATOR, Role.DATA_MANAGER},
        read_roles=MONITOR,
        description="Participants of the user's sites (central roles: all)",
    ),
    "trial:participant_detail": Rule(
        kind="clinical",
        roles=CLINICAL_SITE | {Role.COORDINATOR, Role.DATA_MANAGER},
        read_roles=MONITOR,
        description="One participant, everything in time order",
    ),
    "trial:participant_history": Rule(
        kind="clinical",
        roles=CLINICAL_SITE | {Role.COORDINATOR, Role.DATA_MANAGER},
        read_roles=MONITOR,
        description="Audit history of one participant",
    ),
    # Those who read identifying data keep the contact details up to date (the view asks
    # trial.access.can_see_identity of the participant as well).
    "trial:contact_details_edit": Rule(
        kind="clinical",
        roles=IDENTITY_SITE_ROLES | IDENTITY_CENTRAL_ROLES,
        description="Change a participant's phone, e-mail, address and language, with a reason",
    ),
    # --- death and withdrawal (also from the follow-up call log) -----------------
    "trial:death_record": Rule(
        kind="clinical",
        roles=CLINICAL_SITE | {Role.COORDINATOR, Role.DATA_MANAGER},
        description="Record a participant's death; stops all contacts at once",
    ),
    "trial:withdrawal_record": Rule(
        kind="clinical",
        roles=frozenset({Role.HEMATOLOGIST, Role.NURSE, Role.COORDINATOR, Role.DATA_MANAGER}),
        description="Record a participant's withdrawal; stops all contacts at once",
    ),
    # --- treatment and clinical events ---
    "trial:procedure": Rule(
        kind="clinical",
        roles=frozenset({Role.SURGEON, Role.DATA_MANAGER}),
        read_roles=frozenset({Role.HEMATOLOGIST, Role.NURSE}) | CENTRAL_READERS,
        description="Record the PVP procedure per vertebra (data manager: corrections)",
    ),
    "trial:usual_care": Rule(
        kind="clinical",
        roles=frozenset({Role.HEMATOLOGIST, Role.NURSE, Role.DATA_MANAGER}),
        read_roles=frozenset({Role.SURGEON}) | CENTRAL_READERS,
        description="Usual care of a conservative-arm participant, updated over time",
    ),
    "trial:crossover": Rule(
        kind="clinical",
        roles=frozenset({Role.HEMATOLOGIST, Role.NURSE, Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=frozenset({Role.SURGEON, Role.MONITOR}),
        description="Crossover to PVP from day 28 (earlier: coordinator, with a reason)",
    ),
    "trial:adverse_event_create": Rule(
        kind="clinical",
        roles=CLINICAL_SITE | {Role.DATA_MANAGER},
        read_roles=frozenset({Role.COORDINATOR, Role.MONITOR}),
        description="Record an adverse event; a serious one e-mails the coordinator",
    ),
    "trial:adverse_event_edit": Rule(
        kind="clinical",
        roles=CLINICAL_SITE | {Role.DATA_MANAGER},
        read_roles=frozenset({Role.COORDINATOR, Role.MONITOR}),
        description="Follow up or correct an adverse event, with a reason",
    ),
    "trial:radiograph": Rule(
        kind="clinical",
        roles=frozenset({Role.SURGEON, Role.HEMATOLOGIST, Role.DATA_MANAGER}),
        read_roles=frozenset({Role.NURSE}) | CENTRAL_READERS,
        description="Surgical control 12 weeks after PVP and the 12-month X-ray",
    ),
    "trial:sae_list": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        read_roles=frozenset({Role.DATA_MANAGER, Role.MONITOR}),
        description="Serious adverse events, unacknowledged first; the coordinator acknowledges",
    ),
    # --- central work ---------------------------------------------------------------------
    "trial:audit_log": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="The audit trail, filterable by participant, user and date",
    ),
    "trial:staff_list": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        read_roles=frozenset({Role.DATA_MANAGER, Role.MONITOR}),
        description="Staff accounts: role, sites, status (the coordinator manages them)",
    ),
    "trial:staff_invite": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        description="Invite a staff member (any role but data manager) by e-mail",
    ),
    "trial:staff_edit": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        description="Change a staff member's role and sites, with a reason (audited)",
    ),
    "trial:staff_deactivate": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        description="Deactivate a staff member, with a reason (audited)",
    ),
    "trial:staff_second_factor_reset": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        description="Reset a staff member's second factor, with a reason (audited)",
    ),
    "trial:site_list": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="Sites, their surgical partners and staff",
    ),
    # --- screening, eligibility, consent, referral, surgical assessment -------
    "trial:screening_log": Rule(
        kind="clinical",
        roles=HEMATOLOGIST,
        read_roles=frozenset({Role.NURSE}) | CENTRAL_READERS,
        description="Screening log of the user's sites (central roles: all, by site)",
    ),
    "trial:screening_log_create": Rule(
        kind="clinical",
        roles=HEMATOLOGIST,
        description="Log a screened patient; an included patient becomes a participant",
    ),
    "trial:screening_log_detail": Rule(
        kind="clinical",
        roles=HEMATOLOGIST,
        read_roles=frozenset({Role.NURSE}) | CENTRAL_READERS,
        description="One screening-log entry (target of the duplicate-CPR warning)",
    ),
    "trial:screening_log_edit": Rule(
        kind="clinical",
        roles=HEMATOLOGIST,
        description="Correct a screening-log entry, with a reason (audited)",
    ),
    "trial:referral_cancel": Rule(
        kind="clinical",
        roles=HEMATOLOGIST,
        description="Cancel an open referral, with a reason (audited)",
    ),
    "trial:screening_form": Rule(
        kind="clinical",
        roles=SCREENING_CORRECTORS,
        description="Fill in the screening form; correct it with a reason, after randomisation too",
    ),
    "trial:eligibility": Rule(
        kind="clinical",
        roles=SCREENING_CORRECTORS,
        description="Answer the eligibility checklist in force; correct it with a reason",
    ),
    "trial:consent": Rule(
        kind="clinical",
        roles=SCREENING_CORRECTORS,
        description="Record consent; correct it with a reason, after randomisation too",
    ),
    "trial:referral_create": Rule(
        kind="clinical",
        roles=HEMATOLOGIST,
        description="Refer to the collaborating surgical department",
    ),
    "trial:surgical_assessment": Rule(
        kind="clinical",
        roles=SURGICAL_CORRECTORS,
        # Everyone else who may see the participant reads the assessment there.
        read_roles=frozenset({Role.HEMATOLOGIST, Role.NURSE}) | CENTRAL_READERS,
        description="The surgeon's assessment: contraindications, planned levels (corrections)",
    ),
    "trial:not_included": Rule(
        kind="clinical",
        roles=HEMATOLOGIST,
        description="End a participant's path before randomisation, with the reason",
    ),
    "trial:referral_list": Rule(
        kind="clinical",
        roles=frozenset({Role.HEMATOLOGIST, Role.SURGEON}),
        read_roles=frozenset({Role.NURSE}) | CENTRAL_READERS,
        description="Open referrals (surgeons: to their departments)",
    ),
    "trial:consort": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="CONSORT numbers: screened, not included by reason, referred, ready",
    ),
    "trial:criteria_versions": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="Versions of the eligibility criteria; create the next version",
    ),
    # --- questionnaires ---------------------------------------------------------
    # Patients have no account: their pages are public, and the token of a personal link (or a
    # tablet session a member of staff started) decides what they open.
    "questionnaires:patient_start": _public(
        "Patient: personal questionnaire link; remembers it and drops the token from the URL"
    ),
    "questionnaires:patient_home": _public("Patient: start page of the link opened"),
    "questionnaires:patient_step": _public("Patient: one screen of the questionnaires"),
    "questionnaires:patient_submit": _public("Patient: review and submit"),
    "questionnaires:patient_done": _public("Patient: thank-you page"),
    "questionnaires:tablet_start": _public("Clinic tablet, bound to a staff-started session"),
    "questionnaires:tablet_step": _public("Clinic tablet: one screen of the questionnaires"),
    "questionnaires:tablet_submit": _public("Clinic tablet: review and submit"),
    "questionnaires:tablet_done": _public("Clinic tablet: thank-you page"),
    "questionnaires:tablet_exit": _public("Clinic tablet: staff password to leave the session"),
    "questionnaires:link_list": Rule(
        kind="clinical",
        roles=frozenset({Role.HEMATOLOGIST, Role.NURSE}),
        read_roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR}),
        description="Questionnaire links waiting for answers",
    ),
    "questionnaires:staff_overview": Rule(
        kind="clinical",
        roles=frozenset({Role.HEMATOLOGIST, Role.NURSE}),
        read_roles=frozenset({Role.SURGEON, Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR}),
        description="A participant's questionnaires: visits, links, answers and scores",
    ),
    **{
        f"questionnaires:{name}": Rule(
            kind="clinical",
            roles=frozenset({Role.HEMATOLOGIST, Role.NURSE}),
            read_roles=frozenset({Role.SURGEON, Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR}),
            description=description,
        )
        for name, description in (
            ("staff_send", "Send a personal link by e-mail or text, or print a letter"),
            ("staff_revoke", "Revoke the personal links of a visit"),
            ("staff_tablet", "Start a clinic-tablet session for the patient"),
            ("staff_enter", "Enter a patient's answers given by phone or on paper"),
        )
    },
    "questionnaires:staff_correct": Rule(
        kind="clinical",
        roles=frozenset({Role.HEMATOLOGIST, Role.NURSE, Role.DATA_MANAGER}),
        read_roles=frozenset({Role.SURGEON, Role.COORDINATOR, Role.MONITOR}),
        description="Correct submitted answers, with a reason (audited)",
    ),
    # --- randomisation ----------------------------------------------------------
    "randomization:envelopes": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        read_roles=frozenset({Role.DATA_MANAGER, Role.MONITOR}),
        description="Envelope stock per site and stratum, batches (never an unused arm)",
    ),
    "randomization:batch_create": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        description="Generate a batch of sealed envelopes for a site and stratum",
    ),
    "randomization:batch_detail": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        read_roles=frozenset({Role.DATA_MANAGER, Role.MONITOR}),
        description="One batch: serials, which are used and by whom (arms of used ones only)",
    ),
    "randomization:batch_pdf": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        description="Print a batch: inserts with the allocation, outside labels (logged)",
    ),
    "randomization:allocation_list": Rule(
        kind="central",
        # Coordinators only when the trial allows it (RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS).
        roles=frozenset({Role.DATA_MANAGER}),
        roles_if_setting=(
            "RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS",
            frozenset({Role.COORDINATOR}),
        ),
        description="The allocation list, arms of every envelope (each view logged)",
    ),
    "randomization:allocation_list_csv": Rule(
        kind="central",
        roles=frozenset({Role.DATA_MANAGER}),
        roles_if_setting=(
            "RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS",
            frozenset({Role.COORDINATOR}),
        ),
        description="The allocation list as CSV (each download logged)",
    ),
    "randomization:allocation_views": Rule(
        kind="central",
        # The readers of the audit trail (trial:audit_log) read this log of it too.
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="Who looked at the allocation list or downloaded it, when, with which filter",
    ),
    "randomization:deviations": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        read_roles=frozenset({Role.DATA_MANAGER, Role.MONITOR}),
        description="Protocol deviations; the coordinator acknowledges them with a note",
    ),
    "randomization:envelope_report": Rule(
        kind="clinical",
        roles=frozenset({Role.HEMATOLOGIST, Role.NURSE}),
        description="Report a sealed envelope of one's own site spoiled or missing (audited)",
    ),
    "randomization:verification": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="Verification of batches, envelope use and arm balance",
    ),
    "randomization:verification_pdf": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="The verification report as PDF",
    ),
    "randomization:participant_randomise": Rule(
        kind="clinical",
        roles=frozenset({Role.HEMATOLOGIST}),
        description="Randomise a ready participant: the next envelope of site and stratum",
    ),
    "randomization:allocation_confirm": Rule(
        kind="clinical",
        roles=frozenset({Role.HEMATOLOGIST}),
        description="Confirm the serial and arm of the envelope opened",
    ),
    # --- follow-up --------------------------------------------------------------
    "followup:worklist": Rule(
        kind="clinical",
        roles=frozenset({Role.NURSE}),
        read_roles=frozenset(
            {Role.HEMATOLOGIST, Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR}
        ),
        description="Nurse's worklist: contacts due today, this week, overdue (own sites)",
    ),
    "followup:call_log": Rule(
        kind="clinical",
        roles=frozenset({Role.NURSE}),
        read_roles=frozenset(
            {Role.HEMATOLOGIST, Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR}
        ),
        description="Log a call of a contact: outcome, visit items, death or withdrawal",
    ),
    "followup:weekly_list": Rule(
        kind="clinical",
        roles=frozenset({Role.NURSE}),
        read_roles=frozenset(
            {Role.HEMATOLOGIST, Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR}
        ),
        description="The week's contact list (own sites); names only for who may see them",
    ),
    "followup:weekly_list_pdf": Rule(
        kind="clinical",
        roles=frozenset({Role.NURSE}),
        read_roles=frozenset(
            {Role.HEMATOLOGIST, Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR}
        ),
        description="The week's contact list as PDF, to print",
    ),
    "followup:completeness": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="Follow-up completeness per visit and site, and the patients behind it",
    ),
    # Read-only; central roles read every site, site staff their own (participants_for).
    "followup:missing_data": Rule(
        kind="clinical",
        read_roles=ALL_STAFF,
        description="Missing-data report: expected, present and missing forms per visit",
    ),
    "followup:missing_data_csv": Rule(
        kind="clinical",
        read_roles=ALL_STAFF,
        description="The missing-data report's list as CSV",
    ),
    # --- dashboard and outcome report ---
    "trial:dashboard": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR}),
        read_roles=frozenset({Role.DATA_MANAGER, Role.MONITOR}),
        description="Dashboard: recruitment, CONSORT flow, balance, follow-up, stock, SAEs",
    ),
    "trial:outcome_report": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="Outcome report: baseline, scores by arm and visit, survival, leakage",
    ),
    "trial:outcome_report_pdf": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="The outcome report as PDF",
    ),
    # --- exports ---
    "trial:export_list": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="Exports: start one (identified: data managers, with a reason); the export log",
    ),
    "trial:export_detail": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="One export: its log entry and progress",
    ),
    "trial:export_status": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        read_roles=MONITOR,
        description="An export's progress as JSON, polled by the progress bar",
    ),
    "trial:export_download": Rule(
        kind="central",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        description="Download an export's ZIP (logged; identified files: data managers only)",
    ),
    # The paper fallback when the system is down, so site staff may print it too.
    "trial:annotated_crf": Rule(
        kind="central",
        read_roles=ALL_STAFF,
        description="Blank annotated CRF (PDF): every form with item names, types and codes",
    ),
    # --- Django admin: sites and reference lists (coordinator, data manager) --------------
    "admin:*": Rule(
        kind="admin",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        description="Django admin: sites and reference lists (accounts: superusers only)",
    ),
}

# --- rows kept beside their capability: monitoring (queries, edit checks, SDV, signatures,
# locks, casebooks), the DMC report, and the web API, whose routes take the roles of the pages
# they mirror (so it reads the entries above).
from trial.api.access_rules import api_entries  # noqa: E402
from trial.monitoring.access_rules import monitoring_entries  # noqa: E402
from trial.reports.access_rules import dmc_entries  # noqa: E402

MATRIX.update(monitoring_entries(Rule))
MATRIX.update(dmc_entries(Rule))
MATRIX.update(api_entries(MATRIX, Rule, _account, ALL_STAFF))

# Permission questions that are not "may this user open (write) that view": a finer right
# within a view, or who is told about something. Where the answer is the same as a matrix
# entry the entry is reused, so the two cannot drift apart.
ACTIONS: dict[str, frozenset[str]] = {
    # The steps of a query: the site's staff (and the data manager) answer; the monitor and
    # the data manager, who raise queries, close and re-open them.
    "query_answer": CLINICAL_SITE | {Role.DATA_MANAGER},
    "query_close": MATRIX["trial:query_raise"].roles,
    "query_reopen": MATRIX["trial:query_raise"].roles,
    # Who reads a participant's source-data verification state (sites: their own, to know a
    # correction sends a verified form back to the monitor); verifying is trial:sdv_mark's.
    "sdv_read": ALL_STAFF,
    # Allow a crossover before the protocol's earliest day, with a reason.
    "crossover_allow_early": frozenset({Role.COORDINATOR}),
    # Acknowledge a serious adverse event (the coordinator is the one who writes the SAE list).
    "sae_acknowledge": MATRIX["trial:sae_list"].roles,
    # Start an export at all, and an identified one (names and CPR numbers leave the system).
    "export_run": MATRIX["trial:export_list"].roles,
    "export_identified": frozenset({Role.DATA_MANAGER}),
    # The screening path's records (screening form, eligibility checklist, consent; the
    # surgical assessment): who records them first, and who corrects them with a reason,
    # after randomisation too (trial.screening.corrections).
    "screening_record": HEMATOLOGIST,
    "screening_correct": SCREENING_CORRECTORS,
    "surgical_assessment_record": frozenset({Role.SURGEON}),
    "surgical_assessment_correct": SURGICAL_CORRECTORS,
    # Take a participant's consent (offered as "taken by" on the consent form).
    "consent_take": frozenset({Role.HEMATOLOGIST, Role.NURSE}),
    # Decide the arm that stands after an envelope deviation, when it is not the card's.
    "deviation_decide_arm": MATRIX["randomization:deviations"].roles,
    # Who is e-mailed: serious adverse events and randomisation deviations go to the
    # coordinator, the weekly follow-up list to the nurses.
    "notify_sae": frozenset({Role.COORDINATOR}),
    "notify_deviation": frozenset({Role.COORDINATOR}),
    "notify_followup_list": frozenset({Role.NURSE}),
    # See and revoke every staff member's API tokens (one's own: everyone).
    "api_token_manage_all": MATRIX["trial:api_token_list"].roles,
    # Lock and unlock a participant's data, and the whole trial's (trial.monitoring.locks).
    "data_lock": frozenset({Role.DATA_MANAGER}),
}
