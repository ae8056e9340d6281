"""Inline SVG charts for the HTML dossier, drawn from the domain series (vlab.engine.series).

Small pure functions: a series in, SVG text out. Coordinates are written with fixed
precision (one decimal) and money labels as exact decimals, so the same series always gives
the same bytes. Every chart is a ``<figure data-clause=…>`` holding an ``<svg role="img">``
with a ``<title>`` and a ``<desc>``; an outcome is told by shape and letter as well as by
colour. Every string that comes from a pack goes through ``esc``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from html import escape
from typing import Any

from vlab.core.escape import human
from vlab.core.money import fmt
from vlab.core.timestamps import day_text, utc_day

W, H = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 30, 70
COLOURS = {"ALLOW": "#1b6e20", "WARN": "#8a5a00", "DENY": "#b00020"}
LETTER = {"ALLOW": "A", "WARN": "W", "DENY": "D"}
DASH = {"daily": "", "monthly": "6 3", "lifetime": "2 3"}


def esc(value: object) -> str:
    return escape(human(value), quote=True)


def num(value: float) -> str:
    """A coordinate: one decimal, never ``-0.0``."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def usd(value: Decimal) -> str:
    return "$" + fmt(value)


class Scale:
    """Linear maps from time (microseconds) and money to the plot area."""

    def __init__(self, t0: int, t1: int, top: Decimal) -> None:
        self.t0, self.span = t0, max(t1 - t0, 1)
        self.top = top if top > 0 else Decimal(1)

    def x(self, at: int) -> float:
        return LEFT + (W - LEFT - RIGHT) * (at - self.t0) / self.span

    def y(self, value: Decimal) -> float:
        return float(H - BOTTOM - (H - TOP - BOTTOM) * (value / self.top))


def figure(clause_id: str, title: str, desc: str, body: Sequence[str], caption: str) -> str:
    cid = esc(clause_id)
    return (
        f'<figure data-clause="{cid}">\n'
        f'<svg role="img" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">\n'
        f"<title>{esc(title)}</title>\n<desc>{esc(desc)}</desc>\n"
        + "\n".join(body)
        + f"\n</svg>\n<figcaption>{esc(caption)}</figcaption>\n</figure>"
    )


def _axes(scale: Scale, t0: int, t1: int) -> list[str]:
    out = [
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#000"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="#000"/>',
    ]
    for i in range(5):
        value = (scale.top * i / 4).quantize(Decimal("0.0001"))
        y = num(scale.y(value))
        out.append(f'<text x="{LEFT - 4}" y="{y}" text-anchor="end">{esc(usd(value))}</text>')
    days = sorted({utc_day(t0), utc_day(t1)})
    out.append(f'<text x="{LEFT}" y="{H - BOTTOM + 14}">{esc(day_text(days[0]))} (UTC)</text>')
    if len(days) > 1:
        out.append(
            f'<text x="{W - RIGHT}" y="{H - BOTTOM + 14}" text-anchor="end">'
            f"{esc(day_text(days[-1]))} (UTC)</text>"
        )
    return out


def _marker(outcome: str, x: float, y: float) -> str:
    colour = COLOURS.get(outcome, "#555")
    if outcome == "DENY":
        shape = f'<rect x="{num(x - 5)}" y="{num(y - 5)}" width="10" height="10" fill="{colour}"/>'
    elif outcome == "WARN":
        shape = (
            f'<polygon points="{num(x)},{num(y - 6)} {num(x + 6)},{num(y + 5)} '
            f'{num(x - 6)},{num(y + 5)}" fill="{colour}"/>'
        )
    else:
        shape = f'<circle cx="{num(x)}" cy="{num(y)}" r="5" fill="{colour}"/>'
    return shape + (
        f'<text x="{num(x)}" y="{num(y - 8)}" text-anchor="middle" fill="{colour}">'
        f"{LETTER.get(outcome, '?')}</text>"
    )


def spend_cap_chart(clause_id: str, series: Any) -> str:
    """CL-D1-03: cumulative spend per UTC day (and month / lifetime when capped) as step
    lines against each cap; every check marked by its recorded outcome; a recorded outcome
    the caps do not give, and a charge that takes a window over its cap, labelled with
    their detail code."""
    charges, checks = series.charges, series.checks
    times = [c.at for c in charges] + [c.at for c in checks]
    if not times:
        return ""
    t0, t1 = min(times), max(times)
    capped = [(w, cap) for w, cap in series.caps if cap is not None]
    drawn = [w for w, _ in capped] or ["daily"]
    if "daily" not in drawn:
        drawn.insert(0, "daily")
    highs = [cap for _, cap in capped]
    for c in charges:
        highs.append(c.day_total)
        highs += [c.month_total] if "monthly" in drawn else []
        highs += [c.lifetime_total] if "lifetime" in drawn else []
    highs += [c.spent_day + c.estimate for c in checks]
    scale = Scale(t0, t1, max(highs, default=Decimal(1)) * Decimal("1.1"))
    body = _axes(scale, t0, t1)
    for window, cap in capped:
        cy = num(scale.y(cap))
        body.append(
            f'<line x1="{LEFT}" y1="{cy}" x2="{W - RIGHT}" y2="{cy}" stroke="#b00020" '
            f'stroke-dasharray="8 4"/><text x="{W - RIGHT}" y="{num(scale.y(cap) - 4)}" '
            f'text-anchor="end" fill="#b00020">{esc(window)} cap {esc(usd(cap))}</text>'
        )
    for window in drawn:
        total: Callable[[Any], Decimal] = {
            "daily": lambda c: c.day_total,
            "monthly": lambda c: c.month_total,
            "lifetime": lambda c: c.lifetime_total,
        }[window]
        points: list[str] = [f"{num(scale.x(t0))},{num(scale.y(Decimal(0)))}"]
        previous = Decimal(0)
        day = utc_day(t0)
        for c in charges:
            px = num(scale.x(c.at))
            if window == "daily" and utc_day(c.at) != day:
                day, previous = utc_day(c.at), Decimal(0)
                points.append(f"{px},{num(scale.y(previous))}")
            points.append(f"{px},{num(scale.y(previous))}")
            previous = total(c)
            points.append(f"{px},{num(scale.y(previous))}")
        points.append(f"{num(scale.x(t1))},{num(scale.y(previous))}")
        dash = f' stroke-dasharray="{DASH[window]}"' if DASH[window] else ""
        body.append(
            f'<polyline fill="none" stroke="#1f4e9a" stroke-width="2"{dash} '
            f'points="{" ".join(points)}"><title>{esc(window)} spend</title></polyline>'
        )
    labels = 0
    for c in checks:
        x, y = scale.x(c.at), scale.y(c.spent_day)
        # The estimate asked for, drawn from the spend before it: where it would take the day.
        stem = COLOURS.get(c.recorded, "#555")
        body.append(
            f'<line x1="{num(x)}" y1="{num(y)}" x2="{num(x)}" '
            f'y2="{num(scale.y(c.spent_day + c.estimate))}" stroke="{stem}" '
            f'stroke-width="2" stroke-dasharray="3 2"><title>{esc(c.event_id)}: estimate '
            f"{esc(usd(c.estimate))} on {esc(usd(c.spent_day))} spent that day</title></line>"
        )
        body.append(_marker(c.recorded, x, y))
        if c.code is not None:
            body.append(
                f'<circle cx="{num(x)}" cy="{num(y)}" r="10" fill="none" stroke="#b00020" '
                f'stroke-width="2.5"/>'
            )
            body.append(
                f'<text x="{num(min(x + 12, W - 300))}" y="{num(y - 16 - 12 * (labels % 3))}" '
                f'fill="#b00020" font-weight="bold">{esc(c.code)}: {esc(c.event_id)} recorded '
                f"{esc(c.recorded)}, caps give {esc(c.expected)}</text>"
            )
            labels += 1
    by_line = {c.line: c for c in charges}
    for window, line, code in series.over:
        c = by_line.get(line)
        if c is None:
            continue
        x, y = scale.x(c.at), scale.y(c.day_total)
        body.append(
            f'<path d="M{num(x - 6)},{num(y - 6)}L{num(x + 6)},{num(y + 6)}'
            f'M{num(x - 6)},{num(y + 6)}L{num(x + 6)},{num(y - 6)}" stroke="#b00020" '
            f'stroke-width="3"/><text x="{num(min(x + 8, W - 260))}" y="{num(y - 8)}" '
            f'fill="#b00020" font-weight="bold">{esc(code)}: {esc(window)} cap passed '
            f"(ledger line {line})</text>"
        )
    body.append(
        f'<text x="{LEFT}" y="{H - 30}">Checks: ● A = ALLOW, ▲ W = WARN, ■ D = DENY '
        "(recorded), estimate as a dotted stem; ringed: the caps give another outcome</text>"
        f'<text x="{LEFT}" y="{H - 16}">✕ = a charge takes a window over its cap. Spend: solid '
        "per UTC day, dashed per month, dotted lifetime."
        + (f" Per-call cap {esc(usd(series.per_call))}." if series.per_call is not None else "")
        + ("" if series.hard_cap else " Warn-only caps.")
        + "</text>"
    )
    mismatches = sum(1 for c in checks if c.code is not None)
    desc = (
        f"{len(charges)} charges and {len(checks)} checks; {mismatches} recorded outcomes "
        f"differ from what the caps give; {len(series.over)} cap crossings"
        + ("; series shortened" if series.truncated else "")
    )
    return figure(
        clause_id,
        f"{clause_id}: cumulative spend against the caps, checks by outcome",
        desc,
        body,
        desc,
    )


def _value(value: Decimal | None) -> str:
    return "not measured" if value is None else fmt(value)


def settlement_chart(clause_id: str, series: Any) -> str:
    """CL-D1-02: estimate against actual per counter as paired bars, each counter on its own
    scale (their units differ); an overrun drawn hatched and labelled OVERRUN."""
    row, bar = 50, 16
    height = TOP + row * len(series) + 40
    pattern = (
        '<defs><pattern id="overrun" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="8" height="8" fill="#f3c2c8"/>'
        '<line x1="0" y1="0" x2="0" y2="8" stroke="#b00020" stroke-width="4"/></pattern></defs>'
    )
    body = [pattern]
    span = W - 150 - 190
    for i, pair in enumerate(series):
        y = TOP + row * i
        top = max([v for v in (pair.estimate, pair.actual) if v is not None], default=Decimal(0))
        body.append(f'<text x="10" y="{y + bar}" font-weight="bold">{esc(pair.name)}</text>')
        for j, (label, value) in enumerate((("estimate", pair.estimate), ("actual", pair.actual))):
            by = y + j * (bar + 2)
            width = 0.0 if value is None or top <= 0 else float(span * value / top)
            fill = (
                "#9e9e9e"
                if label == "estimate"
                else 'url(#overrun)" stroke="#b00020'
                if pair.overrun
                else "#1f4e9a"
            )
            body.append(
                f'<rect x="150" y="{by}" width="{num(width)}" height="{bar}" fill="{fill}"/>'
                f'<text x="{num(154 + width)}" y="{by + bar - 4}">{label} {esc(_value(value))}'
                + (" — OVERRUN" if label == "actual" and pair.overrun else "")
                + "</text>"
            )
    body.append(
        f'<text x="10" y="{height - 12}">Grey: estimate; blue: actual; red hatched: an actual '
        "over its estimate (overrun). Each counter has its own scale.</text>"
    )
    over = [p.name for p in series if p.overrun]
    desc = "overrun in " + ", ".join(over) if over else "no counter over its estimate"
    svg = figure(clause_id, f"{clause_id}: estimate against actual per counter", desc, body, desc)
    return svg.replace(
        f'viewBox="0 0 {W} {H}" width="{W}" height="{H}"',
        f'viewBox="0 0 {W} {height}" width="{W}" height="{height}"',
        1,
    )


CELL = {
    "completed": ("#1b6e20", "C"),
    "in flight at exhaustion": ("#8a5a00", "I"),
    "dispatched after exhaustion": ("#b00020", "X"),
    "skipped": ("#9e9e9e", "S"),
    "not dispatched": ("#ffffff", "·"),
}


def matrix_chart(clause_id: str, series: Any) -> str:
    """CL-D1-04: the planned matrix (a row per target × test, a column per trial) coloured
    and lettered by what happened to each trial; beside it the spend after each completion
    against the cap, with the moment of exhaustion."""
    cw, ch = 22, 16
    rows = len(series.targets) * len(series.tests)
    grid_w = 140 + cw * series.trials
    height = max(TOP + ch * rows + 90, 260)
    body: list[str] = []
    for i, target in enumerate(series.targets):
        for j, test in enumerate(series.tests):
            y = TOP + ch * (i * len(series.tests) + j)
            body.append(f'<text x="4" y="{y + ch - 4}">{esc(target)} / {esc(test)}</text>')
    for k in range(series.trials):
        body.append(
            f'<text x="{140 + cw * k + cw // 2}" y="{TOP - 6}" text-anchor="middle">{k + 1}</text>'
        )
    counts: dict[str, int] = {}
    for i, j, k, state in series.cells:
        counts[state] = counts.get(state, 0) + 1
        colour, letter = CELL[state]
        x, y = 140 + cw * k, TOP + ch * (i * len(series.tests) + j)
        text = "#000" if state == "not dispatched" else "#fff"
        body.append(
            f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" fill="{colour}" '
            f'stroke="#555"><title>{esc(series.targets[i])} / {esc(series.tests[j])} / '
            f"trial {k + 1}: {esc(state)}</title></rect>"
            f'<text x="{x + (cw - 2) // 2}" y="{y + ch - 5}" text-anchor="middle" '
            f'fill="{text}">{letter}</text>'
        )
    # The spend panel: spend after each completion (x: completions in log order).
    px0, px1, py0, py1 = grid_w + 70, W - RIGHT, TOP, height - 90
    spend = series.spend
    highest: Decimal = max(
        [v for _, v in spend] + ([series.cap] if series.cap is not None else []),
        default=Decimal(0),
    )
    top = highest * Decimal("1.1") if highest > 0 else Decimal(1)
    n = max(len(spend), 1)

    def sx(index: int) -> float:
        return float(px0 + (px1 - px0) * index / n)

    def sy(value: Decimal) -> float:
        return float(py1 - (py1 - py0) * (value / top))

    body.append(
        f'<line x1="{px0}" y1="{py1}" x2="{px1}" y2="{py1}" stroke="#000"/>'
        f'<line x1="{px0}" y1="{py0}" x2="{px0}" y2="{py1}" stroke="#000"/>'
        f'<text x="{px0 - 4}" y="{num(sy(Decimal(0)))}" text-anchor="end">$0</text>'
        f'<text x="{px0}" y="{py1 + 14}">completions in log order ({len(spend)})</text>'
    )
    points = [f"{num(sx(0))},{num(sy(Decimal(0)))}"]
    previous = Decimal(0)
    for index, (_, value) in enumerate(spend, start=1):
        points.append(f"{num(sx(index))},{num(sy(previous))}")
        points.append(f"{num(sx(index))},{num(sy(value))}")
        previous = value
    body.append(
        f'<polyline fill="none" stroke="#1f4e9a" stroke-width="2" points="{" ".join(points)}">'
        "<title>spend after each completion</title></polyline>"
    )
    if series.cap is not None:
        cy = num(sy(series.cap))
        body.append(
            f'<line x1="{px0}" y1="{cy}" x2="{px1}" y2="{cy}" stroke="#b00020" '
            f'stroke-dasharray="8 4"/><text x="{px1}" y="{num(sy(series.cap) - 4)}" '
            f'text-anchor="end" fill="#b00020">cap {esc(usd(series.cap))}</text>'
        )
    for index, (line, value) in enumerate(spend, start=1):
        if line == series.exhausted_line:
            ex = num(sx(index))
            body.append(
                f'<line x1="{ex}" y1="{py0}" x2="{ex}" y2="{py1}" stroke="#b00020" '
                f'stroke-width="2"/><text x="{ex}" y="{py1 + 28}" text-anchor="middle" '
                f'fill="#b00020" font-weight="bold">exhausted at {esc(usd(value))} '
                f"(log line {line})</text>"
            )
    legend = "; ".join(f"{CELL[state][1]} = {state} ({counts.get(state, 0)})" for state in CELL)
    body.append(f'<text x="4" y="{height - 12}">{esc(legend)}</text>')
    desc = (
        f"{len(series.targets)} targets x {len(series.tests)} tests x {series.trials} trials: "
        + legend
        + (
            f"; budget exhausted at log line {series.exhausted_line}"
            if series.exhausted_line is not None
            else "; budget not exhausted"
        )
    )
    svg = figure(
        clause_id, f"{clause_id}: the matrix by what happened, and the spend", desc, body, desc
    )
    return svg.replace(
        f'viewBox="0 0 {W} {H}" width="{W}" height="{H}"',
        f'viewBox="0 0 {W} {height}" width="{W}" height="{height}"',
        1,
    )


GRADE_LADDER = ("VERIFIED_STRONG", "VERIFIED_WEAK", "UNVERIFIED", "VERIFIER_COMPROMISED")


def grade_chart(clause_id: str, series: Any) -> str:
    """CL-D5-01: the grade ladder (highest first) with the recomputed grade (◆, left) and the
    claimed one (◇, right); below it each measured spend as a bar against the policy's
    limit, a bar over its limit hatched."""
    step, height = 34, TOP + 34 * 4 + 40 + 34 * len(series.limits) + 30
    body = [
        '<defs><pattern id="over" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="8" height="8" fill="#f3c2c8"/>'
        '<line x1="0" y1="0" x2="0" y2="8" stroke="#b00020" stroke-width="4"/></pattern></defs>'
    ]
    for i, grade in enumerate(GRADE_LADDER):
        y = TOP + step * i
        recomputed, claimed = grade == series.recomputed, grade == series.claimed
        body.append(
            f'<rect x="150" y="{y}" width="300" height="{step - 6}" fill="#f3f3f3" '
            f'stroke="#555"/><text x="300" y="{y + 18}" text-anchor="middle">{grade}</text>'
        )
        if recomputed:
            body.append(
                f'<text x="140" y="{y + 19}" text-anchor="end" font-weight="bold" '
                f'fill="#1f4e9a">recomputed ◆</text>'
            )
        if claimed:
            colour = "#b00020" if not recomputed else "#1b6e20"
            body.append(
                f'<text x="460" y="{y + 19}" font-weight="bold" fill="{colour}">◇ claimed'
                + ("" if recomputed else " (not what the evidence supports)")
                + "</text>"
            )
    if series.claimed not in GRADE_LADDER:
        body.append(
            f'<text x="150" y="{TOP + step * 4 + 10}" fill="#b00020">claimed: '
            f"{esc(series.claimed)} (not a grade)</text>"
        )
    base = TOP + step * 4 + 40
    for i, (what, used, limit) in enumerate(series.limits):
        y = base + 34 * i
        top = max([v for v in (used, limit) if v is not None], default=Decimal(0))
        width = 0.0 if used is None or top <= 0 else float(300 * used / top)
        over = used is not None and limit is not None and used > limit
        fill = 'url(#over)" stroke="#b00020' if over else "#1f4e9a"
        body.append(
            f'<text x="10" y="{y + 14}" font-weight="bold">{esc(what)}</text>'
            f'<rect x="150" y="{y}" width="{num(width)}" height="18" fill="{fill}"/>'
        )
        if limit is not None and top > 0:
            lx = num(150 + float(300 * limit / top))
            body.append(
                f'<line x1="{lx}" y1="{y - 4}" x2="{lx}" y2="{y + 22}" stroke="#b00020" '
                f'stroke-width="2" stroke-dasharray="4 2"/>'
            )
        body.append(
            f'<text x="460" y="{y + 14}">{esc(_value(used))} of limit '
            f"{esc('none' if limit is None else fmt(limit))}"
            + (" — OVER" if over else "")
            + "</text>"
        )
    desc = f"recomputed grade {series.recomputed}; claimed {human(series.claimed)}" + (
        f" ({'; '.join(series.why)})" if series.why else ""
    )
    svg = figure(
        clause_id, f"{clause_id}: grade ladder and spend against the limits", desc, body, desc
    )
    return svg.replace(
        f'viewBox="0 0 {W} {H}" width="{W}" height="{H}"',
        f'viewBox="0 0 {W} {height}" width="{W}" height="{height}"',
        1,
    )


CHARTS: dict[str, Callable[[str, Any], str]] = {
    "mission_policy": grade_chart,
    "run_budget": matrix_chart,
    "spending_cap": spend_cap_chart,
    "budget_settlement": settlement_chart,
}


def charts_for(series: dict[str, list[tuple[str, Any]]]) -> dict[str, list[str]]:
    """Per clause id, the figures of its charted series (a check without a chart, or a
    series the evidence could not give, draws nothing)."""
    out: dict[str, list[str]] = {}
    for clause_id, items in series.items():
        for check_id, data in items:
            draw = CHARTS.get(check_id.partition("@")[0])
            if draw is None or data is None:
                continue
            svg = draw(clause_id, data)
            if svg:
                out.setdefault(clause_id, []).append(svg)
    return out
