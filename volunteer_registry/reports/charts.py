"""The geometry of the dashboards' charts, computed here so that templates only draw: inline SVG (no script, no
inline style, so the Content-Security-Policy holds), each chart with the same numbers as a table beside it.

Values come in already in the unit shown (hours with one decimal, or counts); ``text`` is how a value is written."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: the drawing's coordinate system; the SVG scales to its container (viewBox)
WIDTH = 480
COLUMN_HEIGHT = 200
BAR_HEIGHT = 10
#: room on the left for the axis labels, at the bottom for the column labels
LEFT, BOTTOM, TOP = 44, 26, 10


@dataclass(frozen=True)
class Mark:
    """One column or bar: its label, value and the rectangle that draws it."""

    label: str
    value: float
    text: str
    x: float
    y: float
    width: float
    height: float
    label_x: float = 0
    label_y: float = 0
    long_label: str = ""  #: the label in full, for the table and the tooltip (e.g. "December 2026" for "Dec")


@dataclass(frozen=True)
class Chart:
    kind: str  #: "columns" (a series over time, SVG) or "bars" (categories, largest first: a table with bars)
    width: int
    height: int
    marks: list[Mark]
    gridlines: list[tuple[float, str]]  #: (y, label) for columns; (x, label) for bars
    total: float
    left: int = LEFT  #: where the plot starts (the axis labels are to its left)

    @property
    def empty(self) -> bool:
        return not self.marks or self.total == 0


def nice_step(maximum: float, lines: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) so that ``lines`` steps reach at least ``maximum``."""
    if maximum <= 0:
        return 1.0
    raw = maximum / lines
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power  # pragma: no cover  (the loop always returns)


def _axis(maximum: float, text: Callable[[float], str]) -> tuple[float, list[tuple[float, str]]]:
    step = nice_step(maximum)
    top = step * max(1, math.ceil(maximum / step))
    ticks, value = [], 0.0
    while value <= top + step / 2:
        ticks.append((value, text(value)))
        value += step
    return top, ticks


def column_chart(series: Sequence[tuple[str, float]], text: Callable[[float], str],
                 long_labels: Sequence[str] | None = None, axis_text: Callable[[float], str] | None = None) -> Chart:
    """Columns for a series over time (oldest first), on an axis from zero to a round value above the largest;
    ``axis_text`` writes the axis' values (default ``text``)."""
    values = [max(0.0, float(value)) for _label, value in series]
    top, ticks = _axis(max(values, default=0), axis_text or text)
    plot_height = COLUMN_HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(1, len(series))
    marks = []
    for index, ((label, value), clipped) in enumerate(zip(series, values, strict=True)):
        height = plot_height * clipped / top
        x = LEFT + index * slot + slot * 0.15
        marks.append(Mark(label=label, value=value, text=text(value), x=round(x, 1),
                          y=round(TOP + plot_height - height, 1), width=round(slot * 0.7, 1),
                          height=round(height, 1), label_x=round(x + slot * 0.35, 1),
                          label_y=COLUMN_HEIGHT - BOTTOM + 18,
                          long_label=long_labels[index] if long_labels else label))
    gridlines = [(round(TOP + plot_height - plot_height * value / top, 1), label) for value, label in ticks]
    return Chart(kind="columns", width=WIDTH, height=COLUMN_HEIGHT, marks=marks, gridlines=gridlines,
                 total=sum(values))


def bar_chart(series: Sequence[tuple[str, float]], text: Callable[[float], str], *, limit: int | None = None) -> Chart:
    """Bars for categories, largest first (the first ``limit``). A bar's ``width`` is its share of the largest, in
    percent: pages draw bar charts as a table (label, a bar scaled to that width, the value), so that names in any
    script stay text of the page's size on a phone."""
    ordered = sorted(series, key=lambda item: -float(item[1]))[:limit]
    values = [max(0.0, float(value)) for _label, value in ordered]
    top = max(values, default=0) or 1.0
    marks = [Mark(label=label, value=value, text=text(value), x=0, y=0, width=round(100 * clipped / top, 1),
                  height=BAR_HEIGHT, long_label=label)
             for (label, value), clipped in zip(ordered, values, strict=True)]
    return Chart(kind="bars", width=100, height=BAR_HEIGHT, marks=marks, gridlines=[], total=sum(values))
