"""The outcome report as one self-contained HTML file: inline CSS and SVG, no script, no CDN, no
font or image fetched, so it opens from an e-mail attachment or an air-gapped laptop exactly as
it was generated.

The chart is drawn here rather than by a charting library: a bar per period for won amount and a
line for win rate, per playbook (small multiples, one scale per playbook, so a small playbook's
trend is not flattened by a large one).
"""

from __future__ import annotations

import math
from html import escape

from worker.outcomes import columns
from worker.outcomes.report import Figures, HoldoutComparison, OutcomeReport, Period

BAR = "#2563eb"  # won amount
LINE = "#ea580c"  # win rate
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 220, 64, 48, 16, 40

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#111827;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}.muted{color:#6b7280}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:110px}
.card b{display:block;font-size:20px}table{border-collapse:collapse;margin:6px 0 12px}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f9fafb;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;border:1px solid #e5e7eb;border-radius:8px;padding:8px}figcaption{font-weight:600;margin-bottom:4px}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.warn{color:#92400e;background:#fffbeb;border:1px solid #fcd34d;border-radius:6px;padding:2px 6px}
"""


def _cells(row: tuple[str, ...], tag: str = "td") -> str:
    return "".join(f"<{tag}>{escape(cell)}</{tag}>" for cell in row)


def _figures_table(title: str, rows: list[Figures], first: str) -> str:
    head = _cells(columns.figures_header(first), "th")
    body = "".join(f"<tr>{_cells(columns.figures_row(f))}</tr>" for f in rows)
    return f'<h2>{escape(title)}</h2><table class="figures"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def nice_ceiling(value: float) -> float:
    """The axis top: the smallest 1, 2, 2.5 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def chart(playbook: str, periods: list[Period], period: str) -> str:
    """Bars: won amount per period (left axis); line: win rate of deals closed in it (right axis)."""
    inner_w, inner_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    # Bars need one currency: with amounts per currency only the win rate is drawn (the caption says).
    top = nice_ceiling(max((p.won_amount or 0 for p in periods), default=0))
    step = inner_w / max(len(periods), 1)
    bar_w = max(step * 0.6, 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-playbook="{escape(playbook)}" '
        f'width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="won amount and win rate per {period} for {escape(playbook)}">'
    ]
    for i in range(5):  # grid and both axes' labels
        y = PAD_T + inner_h * i / 4
        parts.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#6b7280">'
            f"{top * (4 - i) / 4:,.0f}</text>"
        )
        parts.append(
            f'<text x="{W - PAD_R + 6}" y="{y + 4:.1f}" font-size="10" fill="{LINE}">{(4 - i) * 25}%</text>'
        )
    points = []
    label_every = max(1, len(periods) // 8)
    for i, p in enumerate(periods):
        x = PAD_L + step * i + (step - bar_w) / 2
        h = inner_h * (p.won_amount or 0) / top
        if p.won_amount:
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{PAD_T + inner_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{BAR}"><title>{p.start}: won {p.won_amount:,.0f} '
                f"({p.won} won, {p.lost} lost)</title></rect>"
            )
        if p.win_rate is not None:
            points.append((PAD_L + step * i + step / 2, PAD_T + inner_h * (1 - p.win_rate)))
        if i % label_every == 0:
            parts.append(
                f'<text x="{PAD_L + step * i + step / 2:.1f}" y="{H - PAD_B + 14}" font-size="10" '
                f'text-anchor="middle" fill="#6b7280">{p.start:%b %d}</text>'
            )
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="rate" points="{path}" fill="none" stroke="{LINE}" stroke-width="3"/>')
    for x, y in points:
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{LINE}"/>')
    parts.append(
        f'<line x1="{PAD_L}" y1="{PAD_T + inner_h}" x2="{W - PAD_R}" y2="{PAD_T + inner_h}" stroke="#9ca3af"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _holdouts(items: list[HoldoutComparison]) -> str:
    if not items:
        return (
            '<h2>Holdout groups</h2><p class="muted">No playbook declares a holdout (add <code>holdout: 0.1</code> '
            "to a playbook to measure its effect against a control group).</p>"
        )
    head = _cells(columns.HOLDOUTS, "th")
    rows = []
    for h in items:
        *figures, conclusion = columns.holdout_row(h)
        cls = ' class="warn"' if columns.too_few(h) else ""
        rows.append(f"<tr>{_cells(tuple(figures))}<td><span{cls}>{escape(conclusion)}</span></td></tr>")
    return (
        f'<h2>Holdout groups</h2><p class="muted">Expansion = a won deal or a plan/seat increase after the '
        f'account entered its group.</p><table class="holdouts"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def render_html(report: OutcomeReport) -> str:
    t = report.total
    scope = f"deals created since {report.since}" if report.since else "all deals"
    cards = "".join(
        f'<div class="card"><span class="muted">{label}</span><b>{value}</b></div>'
        for label, value in (
            ("created", t.created),
            ("won", t.won),
            ("lost", t.lost),
            ("open", t.open),
            ("win rate", columns.percent(t.win_rate)),
            ("won amount", escape(columns.won(t))),
            ("median days to close", columns.days(t.median_days_to_close)),
        )
    )
    charts = (
        "".join(
            f"<figure><figcaption>{escape(p)}</figcaption>{chart(p, periods, report.period)}</figure>"
            for p, periods in report.timeline.items()
        )
        or '<p class="muted">No deal has closed yet.</p>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>opportunity-worker outcomes</title><style>{CSS}</style></head><body>"
        f'<h1>Did the offers work?</h1><p class="muted">{escape(scope)}'
        f"{' in ' + escape(report.crm) if report.crm else ''}; generated {report.generated_at:%Y-%m-%d %H:%M} UTC.</p>"
        f'<p class="money">{escape(report.money.text)}</p>'
        f'<div class="cards">{cards}</div>'
        f"<h2>Won amount{' in ' + escape(report.money.amounts_in) if report.money.amounts_in else ''} "
        f"and win rate per playbook, per {report.period}</h2>"
        + (
            ""
            if report.money.amounts_in
            else '<p class="muted">Won amounts are not charted: they are in several currencies.</p>'
        )
        + f'<p class="legend"><span style="background:{BAR}"></span>won amount<span style="background:{LINE}"></span>'
        f'win rate of deals closed in the {report.period}</p><div class="charts">{charts}</div>'
        + _figures_table("Per playbook", report.by_playbook, "playbook")
        + _figures_table("Per kind", report.by_kind, "kind")
        + _figures_table("Per journey stage", report.by_stage, "journey stage")
        + _figures_table("Per score band", report.by_score_band, "score")
        + _holdouts(report.holdouts)
        + "</body></html>"
    )
