"""Server-side geometry of the outcome report's chart: adjusted means by arm and visit with
their confidence intervals, drawn as inline SVG by trial/dashboard/_means_chart.html (no
script, no CDN, and WeasyPrint draws the same SVG in the PDF)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils import formats

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36
COLOURS = {"pvp": "#1f4e79", "conservative": "#c55a11"}


@dataclass
class Series:
    arm: str
    label: str
    colour: str
    line: str  # the polyline's points
    marks: list[dict] = field(default_factory=list)  # x, y, low, high (pixels), text


@dataclass
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    series: list[Series]
    x_ticks: list[dict]  # x, label
    y_ticks: list[dict]  # y, label


def _nice_step(span: float) -> float:
    raw = span / 5 or 1.0
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 0.1
    while magnitude > raw:
        magnitude /= 10
    for factor in (1, 2, 2.5, 5, 10):
        if magnitude * factor >= raw:
            return magnitude * factor
    return magnitude * 10


def means_chart(
    visits: Sequence[tuple[str, str]],
    means: Sequence,  # models_analysis.AdjustedMean
    arm_labels: dict[str, str],
    places: int = 1,
) -> Chart | None:
    """Adjusted means per arm (a line each, slightly apart) with CI whiskers, visits on x."""
    if not means or not visits:
        return None
    lows = [m.ci_low for m in means]
    highs = [m.ci_high for m in means]
    step = _nice_step(max(highs) - min(lows))
    y_min = step * int(min(lows) // step)
    y_max = step * (int(max(highs) // step) + 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def py(value: float) -> float:
        return round(TOP + plot_h * (y_max - value) / (y_max - y_min), 1)

    slot = plot_w / len(visits)
    xs = {code: LEFT + slot * (i + 0.5) for i, (code, _label) in enumerate(visits)}
    series = []
    for offset, arm in ((-4, "pvp"), (4, "conservative")):
        marks = []
        for m in means:
            if m.arm != arm or m.visit not in xs:
                continue
            marks.append(
                {
                    "x": round(xs[m.visit] + offset, 1),
                    "y": py(m.mean),
                    "low": py(m.ci_low),
                    "high": py(m.ci_high),
                    "text": formats.number_format(round(m.mean, places), places),
                }
            )
        line = " ".join(f"{mk['x']},{mk['y']}" for mk in marks)
        series.append(Series(arm, arm_labels.get(arm, arm), COLOURS.get(arm, "#555"), line, marks))
    y_ticks = []
    value = y_min
    while value <= y_max + step / 2:
        y_ticks.append({"y": py(value), "label": formats.number_format(value, places)})
        value += step
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_top=TOP,
        plot_bottom=HEIGHT - BOTTOM,
        series=series,
        x_ticks=[{"x": round(xs[code], 1), "label": label} for code, label in visits],
        y_ticks=y_ticks,
    )
