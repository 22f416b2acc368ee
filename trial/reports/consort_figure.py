"""The CONSORT 2010 flow diagram as an SVG drawn on the server (no script, no CDN): the layout
here (boxes, their lines of text, arrows) as plain numbers, the markup in
``trial/dashboard/_consort_figure.html``, the same for the page and the PDF."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from trial.reports.consort_flow import ConsortFlow

WIDTH = 760
LINE = 15  # px between lines of 11 px text
PAD = 8
CHAR = 6.1  # average width of an 11 px DejaVu Sans character, for wrapping


@dataclass
class Line:
    text: str
    bold: bool = False
    indent: bool = False
    x: float = 0
    y: float = 0


@dataclass
class Box:
    code: str
    x: float
    w: float
    lines: list[Line]
    y: float = 0

    @property
    def h(self) -> float:
        return 2 * PAD + LINE * len(self.lines) - 3

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class Figure:
    width: int
    height: float
    boxes: list[Box] = field(default_factory=list)
    arrows: list[tuple[float, float, float, float]] = field(default_factory=list)
    lines: list[tuple[float, float, float, float]] = field(default_factory=list)  # no head
    stages: list[tuple[str, float]] = field(default_factory=list)  # (label, y)


def _lines(width: float, head: str, rows: list[tuple[str, int]], notes=()) -> list[Line]:
    chars = int((width - 2 * PAD) / CHAR)
    out = [Line(t, bold=True) for t in textwrap.wrap(head, chars)]
    for label, n in rows:
        out.extend(Line(t, indent=True) for t in textwrap.wrap(f"{label}: {n}", chars - 2))
    for note in notes:
        out.extend(Line(t) for t in textwrap.wrap(note, chars))
    return out


def _n(label: str, n: int) -> str:
    return _("%(label)s (n = %(n)d)") % {"label": label, "n": n}


def consort_figure(flow: ConsortFlow) -> Figure:
    """Lay the flow out: enrolment in the middle with the excluded box beside it, then one
    column per arm with its allocation, follow-up and analysis boxes side by side."""
    fig = Figure(WIDTH, 0)
    mid_x, mid_w = 150, 250
    side_x = mid_x + mid_w + 30
    side_w = WIDTH - side_x - 4
    y = 22.0
    fig.stages.append((_("Enrolment"), y - 8))
    assessed = Box(
        "assessed",
        mid_x,
        mid_w,
        _lines(mid_w, _n(_("Assessed for eligibility"), flow.screening.screened), []),
    )
    assessed.y = y
    excluded = Box(
        "excluded",
        side_x,
        side_w,
        _lines(
            side_w,
            _n(_("Excluded"), flow.excluded),
            [(label, n) for _c, label, n in flow.excluded_reasons],
        ),
    )
    excluded.y = assessed.bottom + 12
    notes = []
    if flow.awaiting_confirmation:
        notes.append(
            _("%(n)d awaiting confirmation of the envelope (no arm shown yet)")
            % {"n": flow.awaiting_confirmation}
        )
    randomised = Box(
        "randomised",
        mid_x,
        mid_w,
        _lines(mid_w, _n(_("Randomised"), flow.screening.randomised), [], notes),
    )
    randomised.y = max(excluded.bottom + 12, assessed.bottom + 40)
    branch_y = excluded.y + excluded.h / 2
    fig.lines.append((assessed.cx, assessed.bottom, assessed.cx, randomised.y))
    fig.arrows.append((assessed.cx, branch_y, excluded.x, branch_y))
    # The arrow into the randomised box: drawn as an arrow over its last stretch.
    fig.arrows.append((assessed.cx, randomised.y - 10, assessed.cx, randomised.y))
    fig.boxes += [assessed, excluded, randomised]

    n_arms = max(len(flow.arms), 1)
    col_w = (WIDTH - 8 - 16 * (n_arms - 1)) / n_arms
    columns = [4 + i * (col_w + 16) for i in range(n_arms)]
    stages = [
        (
            "allocation",
            _("Allocation"),
            lambda a: _lines(
                col_w,
                _n(_("Allocated to %(arm)s") % {"arm": a.label}, a.randomised),
                [(_("Received the allocated intervention"), a.received)]
                + [(label, n) for _c, label, n in a.not_received],
                [] if a.not_received else [_("Did not receive it: 0")],
            ),
        ),
        (
            "follow_up",
            _("Follow-up"),
            lambda a: _lines(
                col_w,
                _n(_("Lost to follow-up or discontinued"), sum(n for *_x, n in a.discontinued)),
                [(label, n) for _c, label, n in a.discontinued],
            ),
        ),
        (
            "analysis",
            _("Analysis"),
            lambda a: _lines(
                col_w,
                _n(_("Analysed"), a.analysed_total),
                [],
                [_n(_("Excluded from analysis"), sum(n for *_x, n in a.excluded_from_analysis))]
                + [f"· {label}: {n}" for _c, label, n in a.excluded_from_analysis],
            ),
        ),
    ]
    top = randomised.bottom + 30
    fig.lines.append((randomised.cx, randomised.bottom, randomised.cx, top - 14))
    if n_arms > 1:
        fig.lines.append((columns[0] + col_w / 2, top - 14, columns[-1] + col_w / 2, top - 14))
    previous: list[Box] = []
    for stage, stage_label, make in stages:
        fig.stages.append((stage_label, top - 4))
        row = []
        for i, arm in enumerate(flow.arms):
            box = Box(f"{stage}-{arm.arm}", columns[i], col_w, make(arm))
            box.y = top + 6
            row.append(box)
        for i, box in enumerate(row):
            start = previous[i].bottom if previous else top - 14
            fig.arrows.append((box.cx, start, box.cx, box.y))
        fig.boxes += row
        previous = row
        top = max((b.bottom for b in row), default=top) + 30
    fig.height = top - 10
    for box in fig.boxes:
        for i, line in enumerate(box.lines):
            line.x = box.x + (18 if line.indent else PAD)
            line.y = box.y + PAD + 10 + i * LINE
    return fig
