"""A horizontal bar chart as inline SVG, drawn on the server: no chart library, no CDN."""

from __future__ import annotations

from html import escape

from metrolab.statistics.queries import Row


def bar_chart(rows: list[Row], width: int = 720, bar: int = 22, label_width: int = 200) -> str:
    if not rows:
        return ""
    top = max(r.total for r in rows) or 1
    span = width - label_width - 70
    height = len(rows) * (bar + 8) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="13" font-family="Noto Sans CJK SC, sans-serif">'
    ]
    for i, r in enumerate(rows):
        y = 5 + i * (bar + 8)
        total_w = round(span * r.total / top)
        passed_w = round(span * r.passed / top)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar - 6}" text-anchor="end">{escape(r.key[:18])}</text>'
        )
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{total_w}" height="{bar}" fill="#f5b5b5"><title>'
            f"{escape(r.key)}: {r.total}</title></rect>"
        )
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{passed_w}" height="{bar}" fill="#0b4f8a"/>'
        )
        parts.append(f'<text x="{label_width + total_w + 6}" y="{y + bar - 6}">{r.total}</text>')
    parts.append("</svg>")
    return "".join(parts)
