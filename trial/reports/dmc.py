"""The data monitoring committee's safety report: plain data for the open (pooled) and the
closed (by arm) version.

``safety_rows`` reads what the report needs in a constant number of queries (one per kind of
record) as plain rows; the tables are pure functions over those rows and a grouping, tested
on their own: adverse events and SAEs by grade and relation (events and participants),
deaths with their causes, new fractures on the X-rays (adjacent or not to a treated level),
cement leakage per treated level. The closed version groups by the allocated arm (intention
to treat, the randomisation app's revealed allocations, read through the report source
``allocations`` like the outcome report); the open version puts everyone in one group.
Only randomised participants whose allocation is revealed are counted, in both versions, so
the pooled numbers are the sum of the arms'.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from trial.registry import dashboard
from trial.reports.outcome_data import ARMS

POOLED = "all"


@dataclass(frozen=True)
class EventRow:
    participant: int
    grade: int
    serious: bool
    relation: str


@dataclass(frozen=True)
class DeathRow:
    participant: int
    trial_number: str
    date: dt.date
    relation: str
    cause: str


@dataclass(frozen=True)
class XrayRow:
    participant: int
    kind: str
    new_fracture: bool
    adjacent: bool | None


@dataclass(frozen=True)
class LevelRow:
    participant: int
    level: str
    leakage: bool
    sites: tuple[str, ...] = ()


@dataclass
class SafetyRows:
    arm_of: dict[int, str]  # participant -> allocated arm (revealed allocations only)
    events: list[EventRow]
    deaths: list[DeathRow]
    xrays: list[XrayRow]
    levels: list[LevelRow]
    arm_labels: dict[str, str] = field(default_factory=dict)


# --- the tables: pure functions ------------------------------------------------------------


@dataclass
class Cell:
    events: int = 0
    participants: int = 0


def group_of(arm_of: dict[int, str], *, by_arm: bool):
    """The grouping of a version: the allocated arm (closed) or one pooled group (open)."""
    if by_arm:
        return lambda pid: arm_of.get(pid)
    return lambda pid: POOLED if pid in arm_of else None


def event_table(events, group, *, serious_only: bool = False) -> dict:
    """Events and participants per (grade, relation) and group, with totals per grade, per
    relation and overall. A participant counts once per cell however many events they had
    there (and once in each total), so participant counts never add up across cells."""
    cells: dict = defaultdict(lambda: defaultdict(list))
    for e in events:
        g = group(e.participant)
        if g is None or (serious_only and not e.serious):
            continue
        for key in ((e.grade, e.relation), (e.grade, None), (None, e.relation), (None, None)):
            cells[key][g].append(e.participant)
    return {
        key: {g: Cell(len(pids), len(set(pids))) for g, pids in by_group.items()}
        for key, by_group in cells.items()
    }


def death_table(deaths, group) -> dict:
    """Deaths per group, counted by what they relate to, and listed with their causes."""
    counts: dict = defaultdict(lambda: defaultdict(int))
    listed: dict = defaultdict(list)
    for d in sorted(deaths, key=lambda d: (d.date, d.trial_number)):
        g = group(d.participant)
        if g is None:
            continue
        counts[g][d.relation] += 1
        counts[g]["total"] += 1
        listed[g].append(d)
    return {"counts": counts, "listed": listed}


def fracture_table(xrays, group) -> dict:
    """Per group: participants with an X-ray, with a new fracture, and of those whether any
    new fracture was adjacent to a treated level, none was, or adjacency was not stated."""
    seen: dict = defaultdict(dict)  # group -> participant -> {"new", "adjacent", "non_adjacent"}
    exams: dict = defaultdict(int)
    for x in xrays:
        g = group(x.participant)
        if g is None:
            continue
        exams[g] += 1
        state = seen[g].setdefault(x.participant, {"new": False, "adj": False, "non": False})
        if x.new_fracture:
            state["new"] = True
            state["adj"] |= x.adjacent is True
            state["non"] |= x.adjacent is False
    table = {}
    for g, people in seen.items():
        new = [s for s in people.values() if s["new"]]
        table[g] = {
            "examinations": exams[g],
            "participants": len(people),
            "new_fracture": len(new),
            "adjacent": sum(1 for s in new if s["adj"]),
            "non_adjacent_only": sum(1 for s in new if s["non"] and not s["adj"]),
            "not_stated": sum(1 for s in new if not s["adj"] and not s["non"]),
        }
    return table


def leakage_table(levels, group) -> dict:
    """Cement leakage per treated vertebra: per group and vertebral level, treated and leaked,
    plus the totals and where it leaked."""
    per_level: dict = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    sites: dict = defaultdict(lambda: defaultdict(int))
    for row in levels:
        g = group(row.participant)
        if g is None:
            continue
        for key in (row.level, "total"):
            per_level[g][key][0] += 1
            per_level[g][key][1] += row.leakage
        for site in row.sites:
            sites[g][site] += 1
    return {"levels": per_level, "sites": sites}


# --- reading the rows ----------------------------------------------------------------------


def safety_rows() -> SafetyRows:
    """Every row the report needs: one query per kind of record, whatever the trial's size."""
    from trial.models import (
        AdverseEvent,
        Death,
        LeakageSite,
        ProcedureLevel,
        RadiographicControl,
    )

    allocations = dashboard.report_source("allocations") or {}
    arm_of = {pid: a["arm"] for pid, a in allocations.items()}
    labels = dashboard.report_source("arm_labels") or {}
    events = [
        EventRow(pid, grade, serious, relation)
        for pid, grade, serious, relation in AdverseEvent.objects.values_list(
            "participant_id", "grade", "serious", "relation"
        )
    ]
    deaths = [
        DeathRow(pid, number, date, relation, cause)
        for pid, number, date, relation, cause in Death.objects.values_list(
            "participant_id",
            "participant__trial_number",
            "date_of_death",
            "relation",
            "cause",
        )
    ]
    xrays = [
        XrayRow(*row)
        for row in RadiographicControl.objects.values_list(
            "participant_id", "kind", "new_fracture", "new_fracture_adjacent"
        )
    ]
    leak_fields = [f"leak_{s}" for s in LeakageSite.values]
    levels = [
        LevelRow(
            row[0],
            row[1],
            row[2],
            tuple(s for s, on in zip(LeakageSite.values, row[3:], strict=True) if on),
        )
        for row in ProcedureLevel.objects.values_list(
            "procedure__participant_id", "level", "leakage", *leak_fields
        )
    ]
    return SafetyRows(arm_of, events, deaths, xrays, levels, labels)


# --- the report's context ------------------------------------------------------------------


def dmc_report(*, closed: bool, rows: SafetyRows | None = None) -> dict:
    """The context of either version: the same tables, grouped by arm or pooled."""
    from trial.models import AERelation, CTCAEGrade, DeathRelation, LeakageSite
    from trial.protocol.vertebrae import LEVELS

    rows = rows or safety_rows()
    group = group_of(rows.arm_of, by_arm=closed)
    if closed:
        groups = [(arm, rows.arm_labels.get(arm, arm)) for arm in ARMS]
    else:
        groups = [(POOLED, _("All participants"))]
    codes = [g for g, _label in groups]
    randomised: dict[str | None, int] = defaultdict(int)
    for pid in rows.arm_of:
        randomised[group(pid)] += 1
    ae = event_table(rows.events, group)
    sae = event_table(rows.events, group, serious_only=True)
    leakage = leakage_table(rows.levels, group)
    treated_levels = [lv for lv in LEVELS if any(lv in leakage["levels"][g] for g in codes)]
    return {
        "closed": closed,
        "groups": groups,
        "randomised": [randomised[g] for g in codes],
        "grades": list(CTCAEGrade.choices),
        "relations": list(AERelation.choices),
        "ae": _event_rows(ae, codes),
        "sae": _event_rows(sae, codes),
        "deaths": _death_rows(death_table(rows.deaths, group), codes, DeathRelation.choices),
        "fractures": _fracture_rows(fracture_table(rows.xrays, group), codes),
        "leakage": [
            (lv, [_n_of(leakage["levels"][g].get(lv)) for g in codes])
            for lv in [*treated_levels, "total"]
        ],
        "leakage_sites": [
            (label, [leakage["sites"][g].get(code, 0) for g in codes])
            for code, label in LeakageSite.choices
        ],
        "generated_at": timezone.localtime(),
    }


def _event_rows(table: dict, codes) -> list:
    """Rows (grade label, relation label, [Cell per group]) in grade then relation order,
    only the rows with any event, then each grade's total and the overall total."""
    from trial.models import AERelation, CTCAEGrade

    out: list[tuple[str, str, list[Cell]]] = []
    for grade, grade_label in CTCAEGrade.choices:
        for relation, relation_label in AERelation.choices:
            if (grade, relation) in table:
                cells = _cells(table[(grade, relation)], codes)
                out.append((str(grade_label), str(relation_label), cells))
        if (grade, None) in table:
            out.append((str(grade_label), _("all"), _cells(table[(grade, None)], codes)))
    out.append((_("Any grade"), _("all"), _cells(table.get((None, None), {}), codes)))
    return out


def _cells(by_group: dict, codes) -> list[Cell]:
    return [by_group.get(g, Cell()) for g in codes]


def _death_rows(table: dict, codes, relations) -> dict:
    return {
        "by_relation": [
            (label, [table["counts"][g].get(code, 0) for g in codes]) for code, label in relations
        ],
        "total": [table["counts"][g].get("total", 0) for g in codes],
        "listed": [(g, table["listed"].get(g, [])) for g in codes],
        "relation_labels": dict(relations),
    }


def _fracture_rows(table: dict, codes) -> list:
    labels = [
        ("examinations", _("X-ray examinations")),
        ("participants", _("Participants with an X-ray")),
        ("new_fracture", _("Participants with a new vertebral fracture")),
        ("adjacent", _("adjacent to a treated level")),
        ("non_adjacent_only", _("not adjacent only")),
        ("not_stated", _("adjacency not stated")),
    ]
    return [(code, label, [table.get(g, {}).get(code, 0) for g in codes]) for code, label in labels]


def _n_of(pair) -> str:
    treated, leaked = pair or (0, 0)
    if not treated:
        return "0/0"
    return f"{leaked}/{treated} ({formats.number_format(100 * leaked / treated, 1)} %)"
