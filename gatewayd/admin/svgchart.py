"""Bar charts as SVG text, drawn on the server: data in, an escaped ``<svg>`` string out.

Pure (no I/O, no templates). Colours are presentation attributes, not ``style``, so the
console's Content-Security-Policy (no inline styles) lets them through. The chart carries
``role="img"`` with a ``<title>`` and ``<desc>``; each bar has its own ``<title>`` (a tooltip
and a label), and the page puts the same numbers in a table for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    colour: str  # a CSS colour, from our code only
    key: str  # a class name suffix: bar-<key>


@dataclass(frozen=True)
class Layout:
    width: int = 760
    height: int = 300
    left: int = 56  # room for the y axis' labels
    right: int = 12
    top: int = 16
    bottom: int = 64  # room for the x labels and the legend


def nice_step(maximum: int, ticks: int = 5) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving at most ``ticks`` intervals."""
    if maximum <= 0:
        return 1
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return int(factor * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def label_every(count: int, room: float, per_label: float = 44.0) -> int:
    """Show one x label in ``n`` so that labels (``per_label`` wide) do not overlap."""
    if count <= 0:
        return 1
    return max(1, math.ceil(count * per_label / max(room, 1.0)))


def _text(x: float, y: float, text: str, anchor: str = "middle", cls: str = "") -> str:
    klass = f' class="{escape(cls)}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{escape(text)}</text>'


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[Series],
    title: str,
    description: str,
    ident: str = "chart",
    layout: Layout = Layout(),
) -> str:
    """One stacked bar per label (a day), one segment per series; every text escaped."""
    for one in series:
        if len(one.values) != len(labels):
            raise ValueError(f"series {one.name!r} has {len(one.values)} values, not {len(labels)}")
    totals = [sum(one.values[n] for one in series) for n in range(len(labels))]
    step = nice_step(max(totals, default=0))
    top = step * max(1, math.ceil(max(totals, default=0) / step))
    plot_w = layout.width - layout.left - layout.right
    plot_h = layout.height - layout.top - layout.bottom
    ident = escape(ident)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {layout.width} {layout.height}"'
        f' role="img" aria-labelledby="{ident}-title {ident}-desc" class="chart">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    parts += _y_axis(top, step, layout, plot_w, plot_h)
    parts += _bars(labels, series, top, layout, plot_w, plot_h)
    parts += _legend(series, layout)
    parts.append("</svg>")
    return "\n".join(parts)


def _y_axis(top: int, step: int, layout: Layout, plot_w: int, plot_h: int) -> list[str]:
    out = ['<g class="axis y">']
    for value in range(0, top + 1, step):
        y = layout.top + plot_h - plot_h * value / top
        out.append(
            f'<line x1="{layout.left}" x2="{layout.left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"'
            ' stroke="#e4e7ec"/>'
        )
        out.append(_text(layout.left - 6, y + 4, f"{value:,}".replace(",", " "), "end"))
    baseline = layout.top + plot_h
    out.append(
        f'<line x1="{layout.left}" x2="{layout.left + plot_w}" y1="{baseline}" y2="{baseline}"'
        ' stroke="#5b6270"/>'
    )
    out.append("</g>")
    return out


def _bars(
    labels: Sequence[str],
    series: Sequence[Series],
    top: int,
    layout: Layout,
    plot_w: int,
    plot_h: int,
) -> list[str]:
    out = ['<g class="bars">']
    slot = plot_w / max(len(labels), 1)
    bar_w = max(1.0, slot * 0.7)
    every = label_every(len(labels), plot_w)
    baseline = layout.top + plot_h
    for n, label in enumerate(labels):
        x = layout.left + n * slot + (slot - bar_w) / 2
        y = float(baseline)
        for one in series:
            value = one.values[n]
            if value <= 0:
                continue
            h = plot_h * value / top
            y -= h
            out.append(
                f'<rect class="bar bar-{escape(one.key)}" x="{x:.1f}" y="{y:.1f}"'
                f' width="{bar_w:.1f}" height="{h:.1f}" fill="{escape(one.colour)}">'
                f"<title>{escape(label)} · {escape(one.name)} : {value}</title></rect>"
            )
        if n % every == 0:
            out.append(_text(x + bar_w / 2, baseline + 16, label, cls="x-label"))
    out.append("</g>")
    return out


def _legend(series: Sequence[Series], layout: Layout) -> list[str]:
    out = ['<g class="legend">']
    x = float(layout.left)
    y = layout.height - 16
    for one in series:
        out.append(
            f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" fill="{escape(one.colour)}"/>'
        )
        out.append(_text(x + 18, y, one.name, "start"))
        x += 30 + 8 * len(one.name)
    out.append("</g>")
    return out
