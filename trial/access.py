"""The permission matrix: the one place that decides who may open which view.

Every URL name of the project has an entry here. ``trial.middleware.AccessMatrixMiddleware``
looks the resolved view up before it runs and refuses a view that is missing, so a new view
cannot be added unguarded; ``tests/trial/test_access_matrix.py`` enumerates every URL pattern
and fails on any that is not covered.

Which *participants* a permitted user may then see is decided by one selector,
``trial.participants.selectors.participants_for``: site roles see their own sites, central
roles all of them. A lookup of another site's participant answers 404, never 403, so that
trial numbers of other sites cannot even be probed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from django.conf import settings

from trial.models import CENTRAL_ROLES, Role

ALL_STAFF = frozenset(Role)
CLINICAL_SITE = frozenset({Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE})
MONITOR = frozenset({Role.MONITOR})
HEMATOLOGIST = frozenset({Role.HEMATOLOGIST})
# Central roles that read clinical pages they do not write (screening is the clinic's work).
CENTRAL_READERS = frozenset({Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR})

Kind = Literal["public", "account", "clinical", "central", "admin"]


@dataclass(frozen=True)
class Rule:
    """Who may open a view.

    ``roles`` may use every method; ``read_roles`` only safe methods (GET, HEAD), which is how
    the monitor's read-only access is expressed. ``kind`` says what the view is about:
    ``public`` needs no login (patients, health check), ``account`` is about one's own login,
    ``clinical`` shows participant data scoped by site, ``central`` is trial-wide work,
    ``admin`` is Django's admin.
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

    def current_roles(self) -> frozenset[str]:
        if self.roles_if_setting and getattr(settings, self.roles_if_setting[0], False):
            return self.roles | self.roles_if_setting[1]
        return self.roles

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
    # --- end treatment and clinical events ---
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
        kind="clinical", roles=HEMATOLOGIST, description="Fill in or correct the screening form"
    ),
    "trial:eligibility": Rule(
        kind="clinical",
        roles=HEMATOLOGIST,
        description="Answer the eligibility checklist in force",
    ),
    "trial:consent": Rule(
        kind="clinical", roles=HEMATOLOGIST, description="Record or correct consent"
    ),
    "trial:referral_create": Rule(
        kind="clinical",
        roles=HEMATOLOGIST,
        description="Refer to the collaborating surgical department",
    ),
    "trial:surgical_assessment": Rule(
        kind="clinical",
        roles=frozenset({Role.SURGEON}),
        # Everyone else who may see the participant is sent to the participant page.
        read_roles=frozenset({Role.HEMATOLOGIST, Role.NURSE}) | CENTRAL_READERS,
        description="The surgeon's assessment: contraindications, planned levels",
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
    # --- end dashboard and outcome report ---
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
    # --- end exports ---
    # --- Django admin: sites and reference lists (coordinator, data manager) --------------
    "admin:*": Rule(
        kind="admin",
        roles=frozenset({Role.COORDINATOR, Role.DATA_MANAGER}),
        description="Django admin: sites and reference lists (accounts: superusers only)",
    ),
}

# Roles that may read a participant's identifying data (name, CPR, phone, e-mail, address):
# site roles only at their own sites, the data manager everywhere.
IDENTITY_SITE_ROLES = frozenset({Role.HEMATOLOGIST, Role.NURSE})
IDENTITY_CENTRAL_ROLES = frozenset({Role.DATA_MANAGER})

# Permission questions that are not "may this user open (write) that view": a finer right
# within a view, or who is told about something. Where the answer is the same as a matrix
# entry the entry is reused, so the two cannot drift apart.
ACTIONS: dict[str, frozenset[str]] = {
    # Allow a crossover before the protocol's earliest day, with a reason.
    "crossover_allow_early": frozenset({Role.COORDINATOR}),
    # Acknowledge a serious adverse event (the coordinator is the one who writes the SAE list).
    "sae_acknowledge": MATRIX["trial:sae_list"].roles,
    # Start an export at all, and an identified one (names and CPR numbers leave the system).
    "export_run": MATRIX["trial:export_list"].roles,
    "export_identified": frozenset({Role.DATA_MANAGER}),
    # Take a participant's consent (offered as "taken by" on the consent form).
    "consent_take": frozenset({Role.HEMATOLOGIST, Role.NURSE}),
    # Who is e-mailed: serious adverse events and randomisation deviations go to the
    # coordinator, the weekly follow-up list to the nurses.
    # Decide the arm that stands after an envelope deviation, when it is not the card's.
    "deviation_decide_arm": MATRIX["randomization:deviations"].roles,
    "notify_sae": frozenset({Role.COORDINATOR}),
    "notify_deviation": frozenset({Role.COORDINATOR}),
    "notify_followup_list": frozenset({Role.NURSE}),
}

SiteScope = Literal["all", "surgical", "own", "none"]


def _is_staff(user) -> bool:
    return bool(
        user is not None and user.is_authenticated and user.is_active and getattr(user, "role", "")
    )


def has_role(user, roles) -> bool:
    """Whether ``user`` holds one of ``roles``: the primitive every other answer is built on,
    for role sets declared as data elsewhere (home cards of the registry)."""
    return _is_staff(user) and user.role in roles


def can(user, action: str, participant=None, *, method: str = "POST") -> bool:
    """May ``user`` do ``action``?

    ``action`` is a URL name of the matrix (by default: may the user *write* there; pass
    ``method="GET"`` for reading) or a key of ``ACTIONS``. With a ``participant`` the user must
    also be allowed to see that participant (the site rule of ``participants_for``).
    """
    rule = None if action in ACTIONS else rule_for(action)
    if action not in ACTIONS and rule is None:
        # A misspelt question must fail loudly, not read as "no" for everyone.
        raise KeyError(f"Unknown permission question: {action}")
    if not _is_staff(user):
        return False
    allowed = user.role in ACTIONS[action] if rule is None else rule.allows(user.role, method)
    if allowed and participant is not None:
        from trial.participants.selectors import participants_for

        allowed = participants_for(user).filter(pk=participant.pk).exists()
    return allowed


def may_open(user, url: str, *, method: str = "POST") -> bool:
    """Whether a link should be offered: ``url`` resolves to a view ``user`` may use."""
    from urllib.parse import urlsplit

    from django.urls import Resolver404, resolve

    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return False
    rule = rule_for(match.view_name)
    return bool(rule and _is_staff(user) and rule.allows(user.role, method))


def staff_for(action: str):
    """Active staff who hold the right ``action`` of ``ACTIONS``, e.g. whom to notify."""
    from trial.models import User

    return User.objects.filter(role__in=ACTIONS[action], is_active=True)


def can_see_allocation_list(user) -> bool:
    """Who may see the arms of every envelope, decided from the setting itself and not only
    through the matrix entry: the view asks this too, so concealment of allocation does not
    rest on one check that an edited matrix entry could widen."""
    if not _is_staff(user):
        return False
    if user.role == Role.DATA_MANAGER:
        return True
    return user.role == Role.COORDINATOR and bool(
        settings.RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS
    )


def site_scope(user) -> SiteScope:
    """Which sites' data a user works with; ``trial.staff.selectors`` and
    ``trial.participants.selectors`` turn it into querysets.

    ``all``: central roles; ``surgical``: surgeons, through the hematology sites whose
    surgical partner they belong to; ``own``: the other site roles; ``none``: no role.
    """
    if not _is_staff(user):
        return "none"
    if user.role in CENTRAL_ROLES:
        return "all"
    if user.role == Role.SURGEON:
        return "surgical"
    return "own"


def identity_site_ids(user) -> set[int] | None:
    """The one rule for identifying data (names, CPR numbers, contact details): the sites
    whose participants' identity ``user`` may read; ``None`` means every site.

    Hematologists and nurses at their own sites, data managers everywhere, nobody else.
    One query, so a list can decide for all its rows at once.
    """
    if not _is_staff(user):
        return set()
    if user.role in IDENTITY_CENTRAL_ROLES:
        return None
    if user.role in IDENTITY_SITE_ROLES:
        return set(user.memberships.values_list("site_id", flat=True))
    return set()


def can_see_identity(user, participant) -> bool:
    """Whether ``user`` may read ``participant``'s identifying data."""
    site_ids = identity_site_ids(user)
    return site_ids is None or participant.site_id in site_ids


def sees_identity_everywhere(user) -> bool:
    """Whether ``user`` may read identifying data of every site (trial-wide pages mask it
    for everybody else)."""
    return _is_staff(user) and identity_site_ids(user) is None


def rule_for(view_name: str | None) -> Rule | None:
    """The matrix entry for a resolved view name, ``namespace:*`` entries included."""
    if not view_name:
        return None
    if view_name in MATRIX:
        return MATRIX[view_name]
    namespace = view_name.split(":", 1)[0] if ":" in view_name else None
    if namespace and f"{namespace}:*" in MATRIX:
        return MATRIX[f"{namespace}:*"]
    return None


def role_scope(role: str) -> str:
    return "all sites" if role in CENTRAL_ROLES else "own sites"


def matrix_markdown() -> str:
    """The matrix as a Markdown table for the README (kept true by a test), in English."""
    from django.utils import translation

    with translation.override("en"):
        return _matrix_markdown()


def _matrix_markdown() -> str:
    roles = list(Role)
    header = "| view | " + " | ".join(str(r.label) for r in roles) + " |"
    lines = [header, "|" + " --- |" * (len(roles) + 1)]
    for name, rule in MATRIX.items():
        cells = []
        for role in roles:
            if rule.kind == "public":
                cells.append("public")
            elif role in rule.roles:
                scope = "" if rule.kind in ("account", "admin") else f" ({role_scope(role)})"
                cells.append(("edit" if rule.kind != "account" else "yes") + scope)
            elif role in rule.read_roles:
                scope = "" if rule.kind == "account" else f" ({role_scope(role)})"
                cells.append("read" + scope)
            elif rule.roles_if_setting and role in rule.roles_if_setting[1]:
                cells.append(f"edit if `{rule.roles_if_setting[0]}`")
            else:
                cells.append("—")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- The Django admin -----------------------------------------------------------------------
#
# The "admin:*" entry above only lets a role into the admin; what it may do there, model by
# model, is decided here. Every ModelAdmin asks ``admin_may``
# (trial.admin_matrix.MatrixAdminMixin), so Django's per-user model permissions (which a form
# could grant) play no part. A model that is not listed is for superusers only: accounts, their
# roles and flags, groups, second-factor devices and the lock-out records. Staff are managed
# on the trial's own staff pages ("trial:staff_*"), which keep roles within
# STAFF_ASSIGNABLE_ROLES and ask for reasons.
# Superusers are made with ``createsuperuser`` only; no form sets ``is_superuser``.

AdminAction = Literal["view", "add", "change", "delete"]
ADMIN_ACTIONS: tuple[AdminAction, ...] = ("view", "add", "change", "delete")

_ADMIN_READERS = frozenset({Role.COORDINATOR, Role.DATA_MANAGER})
_ADMIN_EDITORS = frozenset({Role.COORDINATOR})

ADMIN_MATRIX: dict[str, dict[str, frozenset[str]]] = {
    # Set-up data the coordinator keeps; the data manager reads it.
    "trial.site": {"view": _ADMIN_READERS, "add": _ADMIN_EDITORS, "change": _ADMIN_EDITORS},
    "trial.informationsheetversion": {
        "view": _ADMIN_READERS,
        "add": _ADMIN_EDITORS,
        "change": _ADMIN_EDITORS,
    },
    "trial.eligibilitycriteriaversion": {"view": _ADMIN_READERS, "change": _ADMIN_EDITORS},
    "trial.eligibilitycriterion": {
        "view": _ADMIN_READERS,
        "add": _ADMIN_EDITORS,
        "change": _ADMIN_EDITORS,
        "delete": _ADMIN_EDITORS,
    },
    # Read-only records (their ModelAdmins refuse every write anyway).
    "trial.participant": {"view": _ADMIN_READERS},
    "randomization.envelopebatch": {"view": _ADMIN_READERS},
    "randomization.allocationlistview": {"view": _ADMIN_READERS},
    "randomization.batchprint": {"view": _ADMIN_READERS},
    "questionnaires.questionnaireresponse": {"view": _ADMIN_READERS},
    "questionnaires.questionnairelink": {"view": _ADMIN_READERS},
    "questionnaires.tabletsession": {"view": _ADMIN_READERS},
}


def admin_may(user, model, action: AdminAction) -> bool:
    """May ``user`` do ``action`` on ``model`` (a model class or "app_label.model") in the admin?

    Superusers may do everything the ModelAdmin itself allows. Anyone else needs an active
    account, a role admitted to the admin by the matrix and a role listed for the model and
    action in ADMIN_MATRIX; being allowed to change a model implies being allowed to view it.
    """
    if action not in ADMIN_ACTIONS:
        raise ValueError(f"Unknown admin action {action!r}")
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    admin_rule = MATRIX["admin:*"]
    if user.role not in admin_rule.current_roles():
        return False
    label = model if isinstance(model, str) else model._meta.label_lower
    allowed = ADMIN_MATRIX.get(label.lower(), {})
    if action == "view":
        return user.role in allowed.get("view", frozenset()) or user.role in allowed.get(
            "change", frozenset()
        )
    return user.role in allowed.get(action, frozenset())


def admin_roles() -> frozenset[str]:
    """Roles admitted to the admin at all: their accounts get the staff flag."""
    return MATRIX["admin:*"].current_roles()


# Roles the coordinator may give on the staff pages. The data manager (who may download
# identified exports) and superusers are made by a superuser only.
STAFF_ASSIGNABLE_ROLES = frozenset(
    {Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE, Role.COORDINATOR, Role.MONITOR}
)


def role_assignable_on_staff_pages(role: str) -> bool:
    return role in STAFF_ASSIGNABLE_ROLES


def role_enters_admin(role: str) -> bool:
    """The staff flag follows the role: only roles the matrix admits to the admin get it."""
    return role in admin_roles()


def staff_may_manage(actor, target) -> bool:
    """May ``actor`` change ``target``'s role, deactivate it or reset its second factor on the
    staff pages? Never one's own account (no one raises or unlocks themselves), never a
    superuser's or a data manager's (theirs are kept by superusers), and only for roles the
    staff pages may assign."""
    if actor is None or not actor.is_authenticated or actor.pk == target.pk:
        return False
    if target.is_superuser or target.role not in STAFF_ASSIGNABLE_ROLES:
        return False
    return bool(actor.is_superuser or MATRIX["trial:staff_list"].allows(actor.role, "POST"))
