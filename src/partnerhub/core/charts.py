"""Charts as server-side SVG: no JavaScript, no network, readable with scripts off, styled by
app.css (classes ``bar``, ``line``, ``target``, ``axis``). Each chart also carries a text
alternative (``<title>`` and ``<desc>``) and callers show the numbers in a table too.

    bar_chart([("Jan", 120), ("Feb", 80)], title="Billings per month", target=150)
    line_chart([("2026-01", 3), ...], title="Partners in Gold")
    stacked_bars([("Q1", {"silver": 3, "gold": 1}), ...], keys=["silver", "gold"])
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 600, 220, 56, 28, 12


def _fmt(value: float) -> str:
    value = float(value)
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 1_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _frame(title: str, desc: str, body: list[str]) -> SafeString:
    return mark_safe(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"<desc>{escape(desc)}</desc>{''.join(body)}</svg>"
    )


def _scale(values: list[float], target: float | None) -> float:
    top = max([*values, target or 0, 1])
    return float(top) * 1.1


def _axis(top: float) -> list[str]:
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    out = [
        f'<line class="axis" x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH}" '
        f'y2="{HEIGHT - PAD_BOTTOM}"/>'
    ]
    for i in range(0, 5):
        v = top * i / 4
        y = HEIGHT - PAD_BOTTOM - plot_h * i / 4
        out.append(f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
    return out


def _target(top: float, target: float | None, label: str) -> list[str]:
    if target is None:
        return []
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    y = HEIGHT - PAD_BOTTOM - plot_h * float(target) / top
    return [
        f'<line class="target" x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH}" y2="{y:.1f}"/>',
        f'<text x="{WIDTH - 4}" y="{y - 4:.1f}" text-anchor="end">{escape(label)}</text>',
    ]


def bar_chart(
    points: list[tuple[str, float | Decimal]],
    *,
    title: str,
    target: float | Decimal | None = None,
    target_label: str = "target",
) -> SafeString:
    values = [float(v) for _, v in points]
    top = _scale(values, float(target) if target is not None else None)
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    n = max(len(points), 1)
    slot = plot_w / n
    body = _axis(top)
    for i, (label, value) in enumerate(points):
        h = plot_h * float(value) / top
        x = PAD_LEFT + i * slot + slot * 0.15
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{max(h, 0):.1f}"><title>{escape(label)}: '
            f"{_fmt(value)}</title></rect>"
        )
        if n <= 12 or i % max(n // 12, 1) == 0:
            body.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    body += _target(top, float(target) if target is not None else None, target_label)
    desc = ", ".join(f"{label}: {_fmt(v)}" for label, v in points)
    return _frame(title, desc, body)


def line_chart(
    points: list[tuple[str, float | Decimal]], *, title: str, target: float | None = None
) -> SafeString:
    values = [float(v) for _, v in points]
    top = _scale(values, target)
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    n = max(len(points) - 1, 1)
    coords = [
        (PAD_LEFT + plot_w * i / n, HEIGHT - PAD_BOTTOM - plot_h * float(v) / top)
        for i, (_, v) in enumerate(points)
    ]
    body = _axis(top)
    if coords:
        body.append(
            '<polyline class="line" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            + '"/>'
        )
    step = max(len(points) // 8, 1)
    for i, ((label, _), (x, _y)) in enumerate(zip(points, coords, strict=True)):
        if i % step == 0:
            body.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 10}" text-anchor="middle">{escape(label)}</text>'
            )
    body += _target(top, target, "target")
    return _frame(title, ", ".join(f"{label}: {_fmt(v)}" for label, v in points), body)


def stacked_bars(
    points: list[tuple[str, dict[str, float]]], *, keys: list[str], title: str
) -> SafeString:
    """One bar per label, stacked by key (e.g. partners per tier per month)."""
    totals = [sum(float(d.get(k, 0)) for k in keys) for _, d in points]
    top = _scale(totals, None)
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    n = max(len(points), 1)
    slot = plot_w / n
    body = _axis(top)
    shades = ["#0b5cad", "#7cb3e6", "#1b7f3b", "#f0b429", "#8a5300", "#52606d"]
    for i, (label, data) in enumerate(points):
        y = HEIGHT - PAD_BOTTOM
        x = PAD_LEFT + i * slot + slot * 0.15
        for k_i, key in enumerate(keys):
            h = plot_h * float(data.get(key, 0)) / top
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{shades[k_i % len(shades)]}"><title>{escape(label)} {escape(key)}: '
                f"{_fmt(data.get(key, 0))}</title></rect>"
            )
        body.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    legend = [
        f'<rect x="{PAD_LEFT + i * 90}" y="0" width="10" height="10" '
        f'fill="{shades[i % len(shades)]}"/>'
        f'<text x="{PAD_LEFT + i * 90 + 14}" y="9">{escape(k)}</text>'
        for i, k in enumerate(keys)
    ]
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{k} {_fmt(d.get(k, 0))}" for k in keys) for label, d in points
    )
    return _frame(title, desc, body + legend)
