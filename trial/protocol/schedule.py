"""The visit schedule as declarative data, the date arithmetic on it, and the schedule in force.

This is the one home of the schedule: follow-up contacts, questionnaires, exports and reports all
read ``active_schedule()``, so they agree on "which visits does this participant get, and when".
The data and arithmetic are framework-free on purpose (no ORM; settings are read only by
``active_schedule()``, lazily). A protocol is a JSON document (see ``trial/protocol/schedules/``),
so the coordinator can supply another study's schedule (for instance the kyphoplasty example)
with the FOLLOWUP_SCHEDULE setting, without a code change.
"""

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from importlib import resources
from typing import Any, Final, Literal, Protocol
from zoneinfo import ZoneInfo


def gettext_noop(message: str) -> str:
    # Same name as Django's marker so `makemessages` extracts the labels below, while this module
    # stays importable without Django; the UI translates them with gettext() when it renders.
    return message


# Day 0 of a visit is the date of one of these events. "procedure" is the PVP (or, in another
# protocol, kyphoplasty) procedure date: it exists for the PVP arm and for crossovers only, so a
# visit anchored on it is created exactly for those who were treated, whatever their allocation.
ANCHORS: Final[tuple[str, ...]] = ("randomisation", "procedure", "inclusion")

# How the contact is made; the nurse's worklist groups and prints by it.
CONTACT_KINDS: Final[tuple[str, ...]] = ("phone", "clinic", "questionnaire")

VAS_BACK: Final = "vas_back"
VAS_LEG: Final = "vas_leg"
PAIN_MEDICATION: Final = "pain_medication"
HEALTH_SERVICE_USE: Final = "health_service_use"
ADVERSE_EVENTS: Final = "adverse_events"
CROSSOVER: Final = "crossover"
ODI: Final = "odi"
EQ5D3L: Final = "eq5d3l"
XRAY: Final = "xray"
RADIOGRAPHS_STANDING: Final = "radiographs_standing"

# The only item codes a schedule may name: each maps to a form or instrument the system has, so an
# unknown code in a JSON schedule is a typo to reject at load time, not a visit that collects
# nothing.
COLLECT_ITEMS: Final[Mapping[str, str]] = {
    VAS_BACK: gettext_noop("Back pain (VAS)"),
    VAS_LEG: gettext_noop("Leg pain (VAS)"),
    PAIN_MEDICATION: gettext_noop("Pain medication"),
    HEALTH_SERVICE_USE: gettext_noop("Health-service use"),
    ADVERSE_EVENTS: gettext_noop("Adverse events"),
    CROSSOVER: gettext_noop("Crossover to PVP"),
    ODI: gettext_noop("Oswestry Disability Index (ODI)"),
    EQ5D3L: gettext_noop("EQ-5D-3L"),
    XRAY: gettext_noop("12-month X-ray"),
    RADIOGRAPHS_STANDING: gettext_noop("Standing radiographs"),
}

# The outcome measures a schedule may name as its primary outcome, each with the collect item
# that yields it: the measure is scored from what the primary visit collects (the EQ-5D-3L index
# from the EQ-5D-3L questionnaire), so a primary visit that does not collect it is a schedule
# error, not a primary analysis of empty columns. The codes are those of the outcome report.
PRIMARY_MEASURES: Final[Mapping[str, str]] = {
    "odi": ODI,
    "vas_back": VAS_BACK,
    "vas_leg": VAS_LEG,
    "eq5d_index": EQ5D3L,
}

TRIAL_TIME_ZONE: Final = "Europe/Copenhagen"

WindowStatus = Literal["planned", "due", "missed"]


def _is_int(value: object) -> bool:
    # JSON `true` is a Python bool, which is an int subclass; it must not pass as a day offset.
    return isinstance(value, int) and not isinstance(value, bool)


def _str_tuple(value: object, what: str) -> tuple[str, ...]:
    # A bare string is iterable too: "odi" would silently become ("o", "d", "i").
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{what} must be a list of strings, got {value!r}")
    items = tuple(value)
    if not all(isinstance(item, str) and item for item in items):
        raise ValueError(f"{what} must contain only non-empty strings, got {list(items)!r}")
    duplicates = sorted({item for item in items if items.count(item) > 1})
    if duplicates:
        raise ValueError(f"{what} lists {', '.join(duplicates)} more than once")
    return items


def visit_variable_suffix(code: str) -> str:
    """A visit code as the end of an export variable name ("vas_back_dm8").

    Stata, SPSS and R names take letters, digits and underscores only, so another protocol's
    codes such as "D-8" need a spelling of their own: lower case, a minus before a digit as "m"
    (D-8 -> dm8, next to D8 -> d8), any other character as "_". VERTEBRA's codes are unchanged
    apart from the case (W4 -> w4).
    """
    return re.sub(r"[^a-z0-9]", "_", re.sub(r"-(?=[0-9])", "m", code.strip().lower()))


@dataclass(frozen=True)
class VisitDefinition:
    """One planned contact: `day` days after its anchor event, open from `window_before` days
    before to `window_after` days after that target date, both ends inclusive."""

    code: str
    label: str
    anchor: str
    day: int
    window_before: int
    window_after: int
    collects: tuple[str, ...]
    arms: tuple[str, ...] | None = None
    primary: bool = False
    contact_kind: str = "phone"

    def __post_init__(self) -> None:
        where = f"visit {self.code!r}"
        if not isinstance(self.code, str) or not self.code.strip():
            raise ValueError(f"visit code must be a non-empty string, got {self.code!r}")
        if not isinstance(self.label, str) or not self.label.strip():
            raise ValueError(f"{where}: label must be a non-empty string")
        if self.anchor not in ANCHORS:
            raise ValueError(
                f"{where}: unknown anchor {self.anchor!r}; expected one of {', '.join(ANCHORS)}"
            )
        if not _is_int(self.day):
            raise ValueError(f"{where}: day must be a whole number of days, got {self.day!r}")
        for name in ("window_before", "window_after"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise ValueError(f"{where}: {name} must be a whole number >= 0, got {value!r}")
        # Frozen, so normalise via object.__setattr__: callers may pass lists (as JSON does) and
        # still get a hashable, immutable definition.
        collects = _str_tuple(self.collects, f"{where}: collects")
        if not collects:
            raise ValueError(f"{where}: collects must name at least one item")
        unknown = [item for item in collects if item not in COLLECT_ITEMS]
        if unknown:
            raise ValueError(
                f"{where}: unknown collect item(s) {', '.join(unknown)}; "
                f"expected among {', '.join(COLLECT_ITEMS)}"
            )
        object.__setattr__(self, "collects", collects)
        if self.arms is not None:
            arms = _str_tuple(self.arms, f"{where}: arms")
            if not arms:
                # An empty list would mean "no arm gets this visit"; null is how to say "all".
                raise ValueError(f"{where}: arms must be null (all arms) or name at least one arm")
            object.__setattr__(self, "arms", arms)
        if not isinstance(self.primary, bool):
            raise ValueError(f"{where}: primary must be true or false, got {self.primary!r}")
        if self.contact_kind not in CONTACT_KINDS:
            raise ValueError(
                f"{where}: unknown contact_kind {self.contact_kind!r}; "
                f"expected one of {', '.join(CONTACT_KINDS)}"
            )

    def applies_to_arm(self, arm: str | None) -> bool:
        # An arm-restricted visit is not created before the allocation is known.
        return self.arms is None or (arm is not None and arm in self.arms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "anchor": self.anchor,
            "day": self.day,
            "window_before": self.window_before,
            "window_after": self.window_after,
            "collects": list(self.collects),
            "arms": None if self.arms is None else list(self.arms),
            "primary": self.primary,
            "contact_kind": self.contact_kind,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "VisitDefinition":
        return cls(**_checked_keys(data, _VISIT_REQUIRED, _VISIT_OPTIONAL, "visit"))


_VISIT_REQUIRED: Final = frozenset(
    {"code", "label", "anchor", "day", "window_before", "window_after", "collects"}
)
_VISIT_OPTIONAL: Final = frozenset({"arms", "primary", "contact_kind"})
_SCHEDULE_REQUIRED: Final = frozenset({"code", "label", "visits"})
_SCHEDULE_OPTIONAL: Final = frozenset({"primary_measure"})


def _checked_keys(
    data: Mapping[str, Any], required: frozenset[str], optional: frozenset[str], what: str
) -> dict[str, Any]:
    # A misspelt optional key ("primery") would otherwise be dropped silently and the default used.
    if not isinstance(data, Mapping):
        raise ValueError(f"{what} must be a JSON object, got {type(data).__name__}")
    missing = sorted(required - data.keys())
    if missing:
        raise ValueError(f"{what} is missing required key(s): {', '.join(missing)}")
    unknown = sorted(data.keys() - required - optional)
    if unknown:
        raise ValueError(f"{what} has unknown key(s): {', '.join(map(str, unknown))}")
    return dict(data)


@dataclass(frozen=True)
class Schedule:
    """A protocol's visits and its primary outcome: ``primary_measure`` (a key of
    PRIMARY_MEASURES) at the one visit marked ``primary`` (VERTEBRA: the ODI at W4)."""

    code: str
    label: str
    visits: tuple[VisitDefinition, ...]
    primary_measure: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise ValueError(f"schedule code must be a non-empty string, got {self.code!r}")
        if not isinstance(self.label, str) or not self.label.strip():
            raise ValueError(f"schedule {self.code!r}: label must be a non-empty string")
        if isinstance(self.visits, str) or not isinstance(self.visits, Iterable):
            raise ValueError(f"schedule {self.code!r}: visits must be a list of visits")
        visits = tuple(self.visits)
        if not visits:
            raise ValueError(f"schedule {self.code!r} has no visits")
        for visit in visits:
            if not isinstance(visit, VisitDefinition):
                raise ValueError(
                    f"schedule {self.code!r}: visits must be VisitDefinition, got {visit!r}"
                )
        codes = [visit.code for visit in visits]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            # Contacts are keyed by (participant, visit code): a repeated code would merge visits.
            raise ValueError(
                f"schedule {self.code!r}: duplicate visit code(s) {', '.join(duplicates)}"
            )
        suffixes: dict[str, list[str]] = {}
        for code in codes:
            suffixes.setdefault(visit_variable_suffix(code), []).append(code)
        clashes = sorted(", ".join(same) for same in suffixes.values() if len(same) > 1)
        if clashes:
            # Export variables are named after the visit: two visits must not share a name.
            raise ValueError(
                f"schedule {self.code!r}: visit codes {'; '.join(clashes)} would name the same "
                "export variables"
            )
        object.__setattr__(self, "visits", visits)
        self._check_primary_outcome()

    def _check_primary_outcome(self) -> None:
        # The outcome report, its PDF and the dashboard name the primary outcome from here; a
        # schedule that leaves it ambiguous must not start.
        where = f"schedule {self.code!r}"
        primary = [visit for visit in self.visits if visit.primary]
        if len(primary) > 1:
            raise ValueError(
                f"{where}: only one visit may be primary, got "
                f"{', '.join(visit.code for visit in primary)}"
            )
        if self.primary_measure is None:
            if primary:
                raise ValueError(
                    f"{where}: visit {primary[0].code!r} is primary, so the schedule must name "
                    f"its primary_measure (one of {', '.join(PRIMARY_MEASURES)})"
                )
            return
        # A JSON list would be unhashable: test the type before looking it up.
        if (
            not isinstance(self.primary_measure, str)
            or self.primary_measure not in PRIMARY_MEASURES
        ):
            raise ValueError(
                f"{where}: unknown primary_measure {self.primary_measure!r}; "
                f"expected one of {', '.join(PRIMARY_MEASURES)}"
            )
        if not primary:
            raise ValueError(
                f"{where}: primary_measure {self.primary_measure!r} needs a visit marked primary"
            )
        item = PRIMARY_MEASURES[self.primary_measure]
        if item not in primary[0].collects:
            raise ValueError(
                f"{where}: primary_measure {self.primary_measure!r} needs {item!r}, which the "
                f"primary visit {primary[0].code!r} does not collect"
            )

    @property
    def primary_visit(self) -> VisitDefinition | None:
        """The visit of the primary outcome (at most one; see primary_measure)."""
        return next((visit for visit in self.visits if visit.primary), None)

    def visit(self, code: str) -> VisitDefinition:
        for visit in self.visits:
            if visit.code == code:
                return visit
        raise KeyError(f"schedule {self.code!r} has no visit {code!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "primary_measure": self.primary_measure,
            "visits": [visit.to_dict() for visit in self.visits],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Schedule":
        fields = _checked_keys(data, _SCHEDULE_REQUIRED, _SCHEDULE_OPTIONAL, "schedule")
        raw_visits = fields["visits"]
        if not isinstance(raw_visits, list):
            raise ValueError(f"schedule {fields['code']!r}: visits must be a list")
        visits = []
        for position, raw in enumerate(raw_visits, start=1):
            try:
                visits.append(VisitDefinition.from_dict(raw))
            except ValueError as error:
                # Name the schedule and position: a coordinator editing a long file needs both.
                raise ValueError(
                    f"schedule {fields['code']!r}, visit #{position}: {error}"
                ) from None
        return cls(
            code=fields["code"],
            label=fields["label"],
            visits=tuple(visits),
            primary_measure=fields.get("primary_measure"),
        )


def load_schedule(path: str | os.PathLike[str]) -> Schedule:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f"{os.fspath(path)}: not valid JSON: {error}") from None
    try:
        return Schedule.from_dict(data)
    except ValueError as error:
        raise ValueError(f"{os.fspath(path)}: {error}") from None


def dump_schedule(schedule: Schedule, path: str | os.PathLike[str]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(schedule_to_json(schedule))


def schedule_to_json(schedule: Schedule) -> str:
    # The one canonical text form, so a shipped file can be compared with what the code produces.
    return json.dumps(schedule.to_dict(), indent=2, ensure_ascii=False) + "\n"


def bundled_schedule(name: str) -> Schedule:
    """A schedule shipped in ``trial/protocol/schedules/<name>.json``."""
    source = resources.files(__package__ or "trial.protocol").joinpath("schedules", f"{name}.json")
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(
            f"no bundled schedule named {name!r}; expected one of {', '.join(bundled_names())}"
        ) from None
    try:
        return Schedule.from_dict(json.loads(text))
    except ValueError as error:
        raise ValueError(f"bundled schedule {name!r}: {error}") from None


def bundled_names() -> list[str]:
    folder = resources.files(__package__ or "trial.protocol").joinpath("schedules")
    return sorted(
        entry.name.removesuffix(".json")
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    )


@lru_cache(maxsize=4)
def schedule_from_setting(setting: str) -> Schedule:
    """The schedule a FOLLOWUP_SCHEDULE value names: a bundled name, or a path ending in .json.

    Raises ValueError with a message naming the setting; never falls back to another schedule,
    since running contacts on one protocol and exports on another would corrupt the data.
    """
    if not isinstance(setting, str) or not setting.strip():
        raise ValueError(f"FOLLOWUP_SCHEDULE must name a schedule, got {setting!r}")
    try:
        if setting.endswith(".json"):
            try:
                return load_schedule(setting)
            except OSError as error:
                raise ValueError(f"cannot read {setting}: {error.strerror or error}") from None
        return bundled_schedule(setting)
    except ValueError as error:
        raise ValueError(f"FOLLOWUP_SCHEDULE={setting!r}: {error}") from None


def active_schedule() -> Schedule:
    """The schedule in force: FOLLOWUP_SCHEDULE names a bundled schedule or a JSON file.

    Cached per setting value, so override_settings in tests switches schedule; a JSON file
    edited in place is read again only after a restart (or ``schedule_from_setting.cache_clear()``).
    """
    from django.conf import settings  # lazily: the rest of this module does not need Django

    return schedule_from_setting(settings.FOLLOWUP_SCHEDULE)


@dataclass(frozen=True)
class VisitWindow:
    visit: VisitDefinition
    target: date
    opens: date
    closes: date

    def contains(self, day: date) -> bool:
        return self.opens <= day <= self.closes


def _require_date(value: object, what: str) -> date:
    # datetime is a subclass of date; letting one through would make targets carry a clock time
    # (and its time zone), so "which day" would depend on where the date was computed.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(
            f"{what} must be a calendar date, got {type(value).__name__}; "
            "convert instants with local_today()"
        )
    return value


def visit_windows(
    schedule: Schedule, anchors: Mapping[str, date | None], arm: str | None
) -> list[VisitWindow]:
    """The windows one participant is due, given the dates of the anchor events that happened.

    A visit is left out while its anchor date is unknown (no procedure yet, or never) or when its
    arms do not include `arm`; calling again once a date is known adds the visits it unlocks.
    """
    unknown = sorted(set(anchors) - set(ANCHORS))
    if unknown:
        # "randomization" vs "randomisation" would otherwise silently produce no visits at all.
        raise ValueError(f"unknown anchor(s) {', '.join(unknown)}; expected among {ANCHORS}")
    windows = []
    for visit in schedule.visits:
        anchor_date = anchors.get(visit.anchor)
        if anchor_date is None or not visit.applies_to_arm(arm):
            continue
        _require_date(anchor_date, f"anchor {visit.anchor!r}")
        target = anchor_date + timedelta(days=visit.day)
        windows.append(
            VisitWindow(
                visit=visit,
                target=target,
                opens=target - timedelta(days=visit.window_before),
                closes=target + timedelta(days=visit.window_after),
            )
        )
    windows.sort(key=lambda window: (window.target, window.visit.code))
    return windows


class DateWindow(Protocol):
    """Anything with a window's two dates (a VisitWindow, a contact's copy of one)."""

    @property
    def opens(self) -> date: ...

    @property
    def closes(self) -> date: ...


def window_status(window: DateWindow, today: date) -> WindowStatus:
    """Where `today` (a local calendar date) falls: before the window, in it, or past it.

    "missed" means only that the window has closed; whether the contact was in fact missed (no
    call logged) is for the caller, who knows what was recorded.
    """
    _require_date(today, "today")
    if today < window.opens:
        return "planned"
    if today <= window.closes:
        return "due"
    return "missed"


def local_today(now: datetime | None = None, tz: str | tzinfo = TRIAL_TIME_ZONE) -> date:
    """The trial's calendar date at instant `now` (default: the current time).

    The server and Celery run in UTC; converting with the zone's rules, not a fixed offset, keeps
    the date right late in the evening and across the daylight-saving changes.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("local_today() needs an aware datetime; a naive one is ambiguous")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return now.astimezone(zone).date()
