"""Cross-app extension points, so that ``trial`` never imports the apps built on it.

Each app registers its contributions in its ``AppConfig.ready()`` (or in a module imported
from there), the way Django's admin autodiscovers ``admin.py``:

- readiness checks: what still blocks randomisation
  (``trial.participants.selectors.randomisation_blockers``);
- timeline providers: events for the participant page, in time order;
- participant panels: template snippets on the participant page;
- navigation entries per role;
- demo steps: how ``seed_demo`` extends the demo trial;
- participant-ended hooks: what stops, in the same transaction, at a death or withdrawal;
- schedule-anchor hooks: what starts, in the same transaction, when an event that visits of the
  schedule are anchored on (randomisation, procedure) is recorded;
- data-saved hooks: what follows every audited write of a row, once it commits (the edit
  checks re-run for that participant);
- home cards: what each role's home page shows from other apps (work waiting, alerts);
- concealment: whether an allocation's arm may be shown yet (``allocation_revealed``);
- correction checks: what a correction after randomisation changes that the coordinator must
  know (a stratum or eligibility the allocation was not made on);
- audit stories: how the audit trail tells an app's history rows (``trial.audit_display``);
- API actions: writes the web API (trial/api) offers through another app's services.
- write guards: what refuses a write before ``trial.audit`` makes it (the data locks);
- lock conditions: what must hold before a participant is locked without a reason.
- casebook sections: titled blocks of a participant's PDF casebook (signatures, SDV, locks,
  the queries' resolutions), after the forms and before the audit trail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Blocker:
    """One thing missing before randomisation, with where to do it."""

    code: str
    message: str
    url: str = ""


@dataclass(frozen=True)
class TimelineEvent:
    when: dt.datetime | dt.date
    title: str
    detail: str = ""
    url: str = ""
    kind: str = ""  # a short code used for styling, e.g. "screening", "consent"

    @property
    def has_time(self) -> bool:
        return isinstance(self.when, dt.datetime)

    @property
    def sort_key(self) -> dt.datetime:
        from django.utils import timezone

        if isinstance(self.when, dt.datetime):
            return self.when
        return dt.datetime.combine(self.when, dt.time.min, tzinfo=timezone.get_default_timezone())


@dataclass(frozen=True)
class Panel:
    """A block on the participant page: a template and a function giving its context."""

    code: str
    template: str
    context: Callable[[Any, Any], dict]  # (request, participant) -> context, or {} to hide
    order: int = 100


@dataclass(frozen=True)
class NavItem:
    """An entry of the navigation bar. ``group`` names a NavGroup: when a role sees many
    entries, those of one group fold into a drop-down (labelled ``short_label`` there)."""

    url_name: str
    label: Any
    order: int = 100
    group: str = ""
    short_label: Any = None


@dataclass(frozen=True)
class NavGroup:
    code: str
    label: Any


@dataclass(frozen=True)
class HomeCard:
    """A card on the home page of some roles: ``context(user)`` gives ``url``, ``title`` and
    ``text`` (and optionally ``level``: "warning" or "danger"), or None to hide it."""

    code: str
    roles: frozenset[str]
    context: Callable[[Any], dict | None]
    order: int = 100


@dataclass(frozen=True)
class DemoStep:
    code: str
    run: Callable[..., Any]  # run(context: dict) -> None; context carries sites, users, rng
    order: int = 100


@dataclass(frozen=True)
class Concealment:
    """The randomisation app's answer to "may this allocation's arm be shown yet?".

    Its one home is ``randomization.selectors``; ``trial`` may not import that app, so the
    functions are registered here and read through ``allocation_revealed`` and
    ``revealed_allocation_q`` below. ``audit_model`` and ``audit_fields`` name the history
    rows and fields the audit trail masks while ``concealed_ids`` says an object is concealed.
    """

    revealed: Callable[[Any], bool]  # (allocation or None) -> bool
    revealed_q: Callable[[str], Any]  # (path to the allocation) -> Q
    concealed_ids: Callable[[Any], set]  # (allocation ids) -> those not revealed
    audit_model: str  # "app_label.ModelName" of the allocation
    audit_fields: frozenset[str]


@dataclass(frozen=True)
class CorrectionCheck:
    """Run around a correction of a randomised participant's records, in its transaction.

    ``snapshot(participant)`` is taken before the correction is saved; ``after(*,
    participant, before, user, reason, what)`` runs after it, records what must be recorded
    (the randomisation app: a protocol deviation) and returns warnings for the person who
    corrected, in words.
    """

    snapshot: Callable[[Any], Any]
    after: Callable[..., list[str]]


@dataclass(frozen=True)
class AuditStory:
    """How the audit trail writes one app's model as sentences (``trial.audit_display``).

    ``subject``: the record in words, from its history row ("Oswestry Disability Index at
    BL"). ``actor``: who saved a row that has no user, when the app knows (the participant
    through a personal link); None leaves "the system". ``values``: field name -> a function
    of (value, history row) giving (label, text) pairs, for JSON the trail cannot read alone
    (answers by item code). Rows saved with one of ``autosave_reasons`` (and the first save)
    are folded into one entry per object, closed by a row saved with one of
    ``submit_reasons``. These read only the row's own fields, never a concealed one.
    """

    model: str  # "app_label.ModelName"
    subject: Callable[[Any], str] | None = None
    actor: Callable[[Any], str | None] | None = None
    values: dict[str, Callable[[Any, Any], list[tuple[str, str]]]] = field(default_factory=dict)
    autosave_reasons: frozenset[str] = frozenset()
    submit_reasons: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CasebookSection:
    """A titled block of a participant's casebook: rows of text under column headings (or
    one column without them), and a line said when there are no rows."""

    title: str
    rows: Sequence[Sequence[str]]
    columns: Sequence[str] = ()
    empty: str = ""


@dataclass(frozen=True)
class CasebookSectionProvider:
    """``section(participant) -> CasebookSection | None`` (None leaves it out). Called inside
    the casebook's language and time zone; it must run a fixed number of queries however much
    the participant has recorded (the site archive renders hundreds of casebooks)."""

    code: str
    section: Callable[[Any], CasebookSection | None]
    order: int = 100


@dataclass
class Registry:
    readiness_checks: list[tuple[int, Callable[[Any], list[Blocker]]]] = field(default_factory=list)
    timeline_providers: list[Callable[[Any, Any], list[TimelineEvent]]] = field(
        default_factory=list
    )
    panels: list[Panel] = field(default_factory=list)
    nav_items: list[NavItem] = field(default_factory=list)
    nav_groups: dict[str, NavGroup] = field(default_factory=dict)
    demo_steps: list[DemoStep] = field(default_factory=list)
    # Called inside the transaction that records a death or withdrawal:
    # fn(*, participant, reason, user) -> None. Follow-up cancels open contacts here and
    # questionnaires revokes personal links, so nothing is left to contact the family.
    participant_ended_hooks: list[Callable[..., None]] = field(default_factory=list)
    # Called inside the transaction that records an event visits are anchored on
    # (trial.protocol.schedule.ANCHORS): fn(*, participant, anchor, user) -> None. Follow-up
    # creates the participant's contacts here, so the first weekly call is on the worklist
    # as soon as the allocation is confirmed, not after the next nightly run.
    schedule_anchor_hooks: list[Callable[..., None]] = field(default_factory=list)
    home_cards: list[HomeCard] = field(default_factory=list)
    # Called by trial.audit.audited_save after each write: fn(instance) -> None. Monitoring
    # queues the participant's edit checks for after the commit here.
    data_saved_hooks: list[Callable[[Any], None]] = field(default_factory=list)
    # Called by trial.audit.audited_delete just before a row is deleted, in the delete's
    # transaction (the row is still there): fn(instance). A deletion is a change too.
    data_deleted_hooks: list[Callable[[Any], None]] = field(default_factory=list)
    concealment: Concealment | None = None
    # Initial values another app offers a core form from a reference in the page's address:
    # fn(*, user, participant, params) -> dict of initial values (empty when the reference is
    # not theirs or not the participant's). Follow-up fills the adverse-event form with what a
    # call recorded (?call_items=<id>), so no patient text travels in the address.
    form_prefills: dict[str, list[Callable[..., dict]]] = field(default_factory=dict)
    correction_checks: list[CorrectionCheck] = field(default_factory=list)
    audit_stories: dict[str, AuditStory] = field(default_factory=dict)
    # Writes the web API offers on behalf of another app: fn(*, participant, user) -> dict,
    # raising ServiceError for a refusal (randomisation registers "randomise").
    api_actions: dict[str, Callable[..., dict]] = field(default_factory=dict)

    def add_api_action(self, code: str, fn: Callable[..., dict]) -> None:
        self.api_actions[code] = fn

    # Called by every writer of trial.audit before it writes: fn(instances) -> None, raising
    # a ServiceError (trial.errors.DataLocked) to refuse. Monitoring refuses locked data here.
    write_guards: list[Callable[[list[Any]], None]] = field(default_factory=list)
    # What must hold before a participant is locked: fn(participants) -> {participant id: a
    # message} for those it does not hold for, in a fixed number of queries however many
    # (the database-lock page lists a page of them). Locking with a condition unmet needs a
    # reason, which is kept.
    lock_conditions: list[Callable[[list[Any]], dict[int, str]]] = field(default_factory=list)
    # The lock that keeps a participant's data (or, for None, the trial's) from changing:
    # fn(participant or None) -> a message naming the lock, or "" when nothing is locked.
    lock_message: Callable[[Any], str] | None = None

    def add_write_guard(self, fn: Callable[[list[Any]], None]) -> None:
        if fn not in self.write_guards:
            self.write_guards.append(fn)

    def add_lock_condition(self, fn: Callable[[list[Any]], dict[int, str]]) -> None:
        if fn not in self.lock_conditions:
            self.lock_conditions.append(fn)

    casebook_sections: list[CasebookSectionProvider] = field(default_factory=list)

    def add_casebook_section(self, provider: CasebookSectionProvider) -> None:
        self.casebook_sections = [p for p in self.casebook_sections if p.code != provider.code] + [
            provider
        ]
        self.casebook_sections.sort(key=lambda p: p.order)

    def add_audit_story(self, story: AuditStory) -> None:
        self.audit_stories[story.model] = story

    def readiness_check(self, order: int = 100):
        """Decorator: ``fn(participant) -> list[Blocker]``, run in ``order``."""

        def decorator(fn):
            if all(existing is not fn for _, existing in self.readiness_checks):
                self.readiness_checks.append((order, fn))
                self.readiness_checks.sort(key=lambda pair: pair[0])
            return fn

        return decorator

    def timeline(self, fn):
        """Decorator: ``fn(request_user, participant) -> list[TimelineEvent]``."""
        if fn not in self.timeline_providers:
            self.timeline_providers.append(fn)
        return fn

    def add_panel(self, panel: Panel) -> None:
        self.panels = [p for p in self.panels if p.code != panel.code] + [panel]
        self.panels.sort(key=lambda p: p.order)

    def add_nav_group(self, group: NavGroup) -> None:
        self.nav_groups[group.code] = group

    def add_nav(self, item: NavItem) -> None:
        self.nav_items = [n for n in self.nav_items if n.url_name != item.url_name] + [item]
        self.nav_items.sort(key=lambda n: n.order)

    def on_participant_ended(self, fn):
        """Decorator: run ``fn(*, participant, reason, user)`` when follow-up must stop."""
        if fn not in self.participant_ended_hooks:
            self.participant_ended_hooks.append(fn)
        return fn

    def on_data_saved(self, fn):
        """Decorator: run ``fn(instance)`` after each audited save of a row."""
        if fn not in self.data_saved_hooks:
            self.data_saved_hooks.append(fn)
        return fn

    def on_data_deleted(self, fn):
        """Decorator: run ``fn(instance)`` before each audited delete of a row."""
        if fn not in self.data_deleted_hooks:
            self.data_deleted_hooks.append(fn)
        return fn

    def on_schedule_anchor(self, fn):
        """Decorator: run ``fn(*, participant, anchor, user)`` when an anchor event is recorded."""
        if fn not in self.schedule_anchor_hooks:
            self.schedule_anchor_hooks.append(fn)
        return fn

    def add_correction_check(self, check: CorrectionCheck) -> None:
        if check not in self.correction_checks:
            self.correction_checks.append(check)

    def add_home_card(self, card: HomeCard) -> None:
        self.home_cards = [c for c in self.home_cards if c.code != card.code] + [card]
        self.home_cards.sort(key=lambda c: c.order)

    def add_form_prefill(self, form: str, fn: Callable[..., dict]) -> None:
        providers = self.form_prefills.setdefault(form, [])
        if fn not in providers:
            providers.append(fn)

    def add_demo_step(self, step: DemoStep) -> None:
        self.demo_steps = [s for s in self.demo_steps if s.code != step.code] + [step]
        self.demo_steps.sort(key=lambda s: s.order)


registry = Registry()


def _concealment() -> Concealment:
    if registry.concealment is None:
        # Fail loudly rather than show or hide arms by a guess.
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("No app registered the allocation concealment rule.")
    return registry.concealment


def allocation_revealed(allocation) -> bool:
    """May this allocation's arm be shown? False without an allocation (see Concealment)."""
    return allocation is not None and _concealment().revealed(allocation)


def revealed_allocation_q(path: str = ""):
    """A filter keeping revealed allocations, on a query reaching them by ``path`` (e.g.
    ``"allocation__"`` on participants)."""
    return _concealment().revealed_q(path)


def form_prefill(form: str, *, user, participant, params) -> dict:
    """The initial values the registered apps offer ``form`` for this participant."""
    initial: dict = {}
    for provider in registry.form_prefills.get(form, []):
        initial.update(provider(user=user, participant=participant, params=params))
    return initial


def lock_message(participant=None) -> str:
    """Why ``participant``'s data (with None: the trial's) may not change now, or "".

    Cached on the participant for the request, so a page asking for every edit link costs one
    query."""
    if registry.lock_message is None:
        return ""
    if participant is None:
        return registry.lock_message(None)
    cached = getattr(participant, "_lock_message", None)
    if cached is None:
        cached = registry.lock_message(participant)
        participant._lock_message = cached
    return cached


def schedule_anchor_recorded(*, participant, anchor: str, user=None) -> None:
    """Tell the apps built on the core that ``anchor`` (e.g. "randomisation") was recorded for
    the participant; call it inside the transaction that records it, so what they add (the
    follow-up contacts) commits or rolls back with it."""
    for hook in registry.schedule_anchor_hooks:
        hook(participant=participant, anchor=anchor, user=user)


# --- dashboard panels ---
# The coordinator's dashboard (trial.reports) shows panels that other apps contribute from a
# module ``<app>/dashboard.py``, discovered like Django admin's ``admin.py`` by
# ``autodiscover_dashboards()`` (called from trial.reports.register at start-up). The outcome
# report reads other apps' data through named report sources, so that ``trial`` imports none
# of them.


@dataclass(frozen=True)
class DashboardPanel:
    """A block of the dashboard: a template and a function giving its context.

    ``context(request) -> dict``; an empty dict hides the panel. The function must run a
    constant number of queries whatever the number of participants (tested).
    """

    code: str
    template: str
    context: Callable[[Any], dict]
    order: int = 100
    wide: bool = False  # spans the full width instead of half


@dataclass
class DashboardRegistry:
    panels: list[DashboardPanel] = field(default_factory=list)
    # Named data for the outcome report, e.g. "allocations", "scores", "contacts"; each a
    # function without arguments returning plain rows in a constant number of queries.
    report_sources: dict[str, Callable[[], Any]] = field(default_factory=dict)

    def add_panel(self, panel: DashboardPanel) -> None:
        self.panels = [p for p in self.panels if p.code != panel.code] + [panel]
        self.panels.sort(key=lambda p: p.order)

    def add_report_source(self, code: str, fn: Callable[[], Any]) -> None:
        self.report_sources[code] = fn

    def report_source(self, code: str, default: Any = None) -> Any:
        fn = self.report_sources.get(code)
        return default if fn is None else fn()


dashboard = DashboardRegistry()


def autodiscover_dashboards() -> None:
    """Import every installed app's ``dashboard`` module, which registers its panels."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("dashboard")
