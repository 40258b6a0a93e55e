"""Pictures as inline SVG, drawn on the server: time series, score histograms with thresholds, the campaign graph.

Every chart carries a ``<title>`` and ``aria-label`` (what it shows in words) and its numbers stay in a
table next to it on the page, so nothing is only a picture.
"""

from __future__ import annotations

import math
import time
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 180, 48, 24, 10
COLOURS = {"requests": "#2563a8", "refusals": "#b3261e", "tokens": "#5b4a9e", "threshold": "#8a5300"}
LEVEL_COLOURS = {"none": "#59636e", "flag": "#7a5c00", "throttle": "#8a4b00", "harden": "#a33a00",
                 "block": "#b3261e", "allow": "#1a7f37"}


def _svg(label: str, body: str, width: int = WIDTH, height: int = HEIGHT) -> Markup:
    return Markup(f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}" '
                  f'width="100%" preserveAspectRatio="xMidYMid meet"><title>{escape(label)}</title>{body}</svg>')


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _time_label(epoch: float, span: float) -> str:
    fmt = "%H:%M" if span <= 2 * 86400 else "%m-%d"
    return time.strftime(fmt, time.gmtime(epoch))


def time_series(label: str, starts: list[float], series: dict[str, list[float]], width_s: float) -> Markup:
    """Bars of the first series with the others drawn over them as bars of their own colour (refusals in
    requests), over time buckets starting at ``starts``."""
    if not starts:
        return _svg(label, '<text x="10" y="20">no data</text>')
    top = _nice_max(max((max(values) for values in series.values() if values), default=0))
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    bar_w = plot_w / len(starts)
    parts = [f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 8}" y2="{PAD_TOP + plot_h}" '
             f'stroke="#59636e"/>']
    for fraction in (0, 0.5, 1):
        y = PAD_TOP + plot_h * (1 - fraction)
        parts.append(f'<text x="{PAD_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" class="axis">{_short(top * fraction)}</text>')
        parts.append(f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - 8}" y2="{y:.1f}" stroke="#d0d7de" '
                     f'stroke-dasharray="2 3"/>')
    for name, values in series.items():
        colour = COLOURS.get(name, "#2563a8")
        for index, value in enumerate(values):
            if value <= 0:
                continue
            height = plot_h * value / top
            x = PAD_LEFT + index * bar_w
            parts.append(f'<rect x="{x + 0.5:.1f}" y="{PAD_TOP + plot_h - height:.1f}" width="{max(bar_w - 1, 0.8):.1f}" '
                         f'height="{height:.1f}" fill="{colour}"><title>{escape(name)} '
                         f'{_time_label(starts[index], width_s * len(starts))}: {value:g}</title></rect>')
    span = width_s * len(starts)
    for index in range(0, len(starts), max(1, len(starts) // 6)):
        x = PAD_LEFT + index * bar_w
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" class="axis">{_time_label(starts[index], span)}</text>')
    legend_x = PAD_LEFT + 6
    for name in series:
        parts.append(f'<rect x="{legend_x}" y="{PAD_TOP}" width="10" height="10" fill="{COLOURS.get(name, "#2563a8")}"/>'
                     f'<text x="{legend_x + 14}" y="{PAD_TOP + 9}" class="axis">{escape(name)}</text>')
        legend_x += 16 + 8 * len(name)
    return _svg(label, "".join(parts))


def histogram(label: str, scores: list[float], thresholds: list[tuple[str, float]], bins: int = 30) -> Markup:
    """Accounts' scores as a histogram (log-scaled counts) with each level's threshold drawn as a line."""
    values = [score for score in scores if math.isfinite(score)]
    marks = [(name, value) for name, value in thresholds if value is not None and math.isfinite(value)]
    if not values:
        return _svg(label, '<text x="10" y="20">no scored accounts</text>')
    low = min(values + [value for _, value in marks])
    high = max(values + [value for _, value in marks])
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    step = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - low) / step))] += 1
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    top = math.log1p(max(counts))
    parts = [f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 8}" y2="{PAD_TOP + plot_h}" stroke="#59636e"/>',
             f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end" class="axis">{max(counts)}</text>']
    for index, count in enumerate(counts):
        if count:
            height = plot_h * math.log1p(count) / top
            x = PAD_LEFT + index * plot_w / bins
            parts.append(f'<rect x="{x + 0.5:.1f}" y="{PAD_TOP + plot_h - height:.1f}" width="{plot_w / bins - 1:.1f}" '
                         f'height="{height:.1f}" fill="{COLOURS["requests"]}"><title>{count} accounts scoring '
                         f'{low + index * step:.2f} to {low + (index + 1) * step:.2f}</title></rect>')
    for index, (name, value) in enumerate(marks):        # labels stacked: thresholds are often close
        x = PAD_LEFT + plot_w * (value - low) / (high - low)
        anchor = "end" if x > WIDTH - 160 else "start"
        parts.append(f'<line x1="{x:.1f}" y1="{PAD_TOP}" x2="{x:.1f}" y2="{PAD_TOP + plot_h}" stroke="'
                     f'{LEVEL_COLOURS.get(name, COLOURS["threshold"])}" stroke-width="2"/>'
                     f'<text x="{x + (-3 if anchor == "end" else 3):.1f}" y="{PAD_TOP + 10 + 13 * index}" '
                     f'text-anchor="{anchor}" class="axis">{escape(name)} threshold {value:.2f}</text>')
    for fraction, anchor in ((0, "start"), (0.5, "middle"), (1, "end")):
        x = PAD_LEFT + plot_w * fraction
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" class="axis" text-anchor="{anchor}">'
                     f'{low + (high - low) * fraction:.2f}</text>')
    return _svg(label, "".join(parts))


def graph(label: str, nodes: list[dict], edges: list[tuple[str, str, str]]) -> Markup:
    """Accounts on a circle, an edge for each link between two of them, labelled with what links them.

    ``nodes``: {"id", "level"}; ``edges``: (account, account, what links them). No links inside the picture
    (an image holds no controls); the page lists the accounts with links beside it."""
    size = 420
    centre, radius = size / 2, size / 2 - 70
    where = {}
    for index, node in enumerate(nodes):
        angle = 2 * math.pi * index / max(1, len(nodes)) - math.pi / 2
        where[node["id"]] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    parts = []
    for first, second, why in edges:
        if first in where and second in where:
            (x1, y1), (x2, y2) = where[first], where[second]
            parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#59636e" '
                         f'stroke-width="1.5"><title>{escape(first)} - {escape(second)}: {escape(why)}</title></line>')
    for node in nodes:
        x, y = where[node["id"]]
        colour = LEVEL_COLOURS.get(node["level"], "#59636e")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="12" fill="{colour}">'
                     f'<title>{escape(node["id"])} ({escape(node["level"])})</title></circle>'
                     f'<text x="{x:.1f}" y="{y + 26:.1f}" text-anchor="middle" class="node">{escape(node["id"])}</text>')
    return _svg(label, "".join(parts), size, size)


def _short(value: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:g}{unit}"
    return f"{value:g}"
