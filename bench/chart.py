"""``docs/benchmarks.svg``: time against graph size, log-log, kgraph against the baselines.

Written by hand as SVG (no plotting library needed): one panel per operation, kgraph as
solid red lines, the baselines dashed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from html import escape

from bench.measure import Row

Series = tuple[str, bool, list[tuple[float, float]]]  # label, is kgraph, points
COLOURS = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
OURS = ["#d62728", "#e377c2", "#7f0000"]


def _points(
    rows: list[Row],
    table: str,
    who: str,
    how: str | None = None,
    item: str | None = None,
    field: str | None = None,
) -> list[tuple[float, float]]:
    points = []
    for r in rows:
        if (
            r.table == table
            and r.who == who
            and r.size
            and (how is None or r.how == how)
            and (item is None or r.item == item)
        ):
            value = r.extra.get(field) if field else r.seconds
            if value:
                points.append((float(r.size), float(value)))
    return sorted(points)


def _query_sums(
    rows: list[Row], variants: list[tuple[str, str]]
) -> list[list[tuple[float, float]]]:
    """Per variant, the sum of the query medians at each size, over the queries that have a
    figure for every variant at every size (so that the lines add up the same work)."""
    figures: dict[tuple[str, str, str, int], float] = {}
    for r in rows:
        if r.table == "query" and r.size and r.seconds is not None:
            figures[(r.who, r.how, r.item, r.size)] = r.seconds
    sizes = sorted({k[3] for k in figures})
    names = {k[2] for k in figures}
    common = [n for n in names if all((w, h, n, z) in figures for w, h in variants for z in sizes)]
    return [
        [(float(z), sum(figures[(w, h, n, z)] for n in common)) for z in sizes] if common else []
        for w, h in variants
    ]


def panels(rows: list[Row]) -> list[tuple[str, list[Series]]]:
    def s(label: str, ours: bool, pts: list[tuple[float, float]]) -> Series:
        return (label, ours, pts)

    variants = [
        ("kgraph", "in-process"),
        ("kgraph", "in-process --store"),
        ("pyoxigraph", "in-process"),
    ]
    sums = _query_sums(rows, variants)
    return [
        (
            "Load (in process)",
            [
                s("kgraph", True, _points(rows, "load", "kgraph", "in-process")),
                s("pyoxigraph", False, _points(rows, "load", "pyoxigraph", "in-process")),
            ],
        ),
        (
            "Queries (sum of medians)",
            [
                s("kgraph", True, sums[0]),
                s("kgraph --store", True, sums[1]),
                s("pyoxigraph", False, sums[2]),
            ],
        ),
        (
            "Add 100 triples (validated)",
            [
                s(
                    "kgraph --store",
                    True,
                    _points(rows, "add", "kgraph", "CLI --store", item="add 100 triples"),
                ),
                s(
                    "kgraph in memory",
                    True,
                    _points(rows, "add", "kgraph", "CLI", item="add 100 triples"),
                ),
                s(
                    "pySHACL, merged graph",
                    False,
                    _points(rows, "shacl", "rdflib + pySHACL", field="validate_s"),
                ),
            ],
        ),
        (
            "Full validation",
            [
                s("kgraph", True, _points(rows, "validate", "kgraph")),
                s("rdflib + pySHACL", False, _points(rows, "shacl", "rdflib + pySHACL")),
            ],
        ),
        (
            "OWL 2 RL closure",
            [
                s("kgraph", True, _points(rows, "reason", "kgraph", "in-process")),
                s(
                    "reasonable (same input)",
                    False,
                    _points(rows, "reason", "reasonable (same input)"),
                ),
                s("rdflib + reasonable", False, _points(rows, "reason", "rdflib + reasonable")),
                s("rdflib + owlrl", False, _points(rows, "reason", "rdflib + owlrl")),
            ],
        ),
        (
            "Export to N-Quads",
            [
                s("kgraph", True, _points(rows, "export", "kgraph", "in-process")),
                s("pyoxigraph", False, _points(rows, "export", "pyoxigraph")),
                s("rdflib", False, _points(rows, "export", "rdflib")),
            ],
        ),
    ]


def _decades(values: Iterable[float]) -> tuple[int, int]:
    logs = [math.log10(v) for v in values if v > 0]
    if not logs:
        return 0, 1
    low, high = math.floor(min(logs)), math.ceil(max(logs))
    return low, max(high, low + 1)


def _label(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:g} s" if value >= 1 else f"{value * 1000:g} ms"
    return f"{value / 1e6:g}M" if value >= 1e6 else f"{value / 1e3:g}k"


def render(rows: list[Row], title: str) -> str:
    cols, width, height = 3, 330, 330
    grid = panels(rows)
    total_w, total_h = cols * width + 20, math.ceil(len(grid) / cols) * height + 50
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" viewBox="0 0 {total_w} {total_h}" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{total_w / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    xs = [x for _, series in grid for _, _, pts in series for x, _ in pts]
    x_low, x_high = _decades(xs)
    for index, (name, series) in enumerate(grid):
        ox, oy = 10 + (index % cols) * width, 40 + (index // cols) * height
        left, top, w, h = ox + 52, oy + 24, width - 70, height - 140
        ys = [y for _, _, pts in series for _, y in pts]
        y_low, y_high = _decades(ys)

        def px(x: float) -> float:
            return left + (math.log10(x) - x_low) / (x_high - x_low) * w  # noqa: B023

        def py(y: float) -> float:
            return top + h - (math.log10(y) - y_low) / (y_high - y_low) * h  # noqa: B023

        out.append(
            f'<text x="{ox + width / 2}" y="{oy + 14}" text-anchor="middle" font-size="12" font-weight="bold">{escape(name)}</text>'
        )
        out.append(
            f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#999"/>'
        )
        for d in range(y_low, y_high + 1):
            y = py(10.0**d)
            out.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" stroke="#eee"/>'
            )
            out.append(
                f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_label(10.0**d, "s")}</text>'
            )
        for d in range(x_low, x_high + 1):
            x = px(10.0**d)
            out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + h}" stroke="#eee"/>')
            out.append(
                f'<text x="{x:.1f}" y="{top + h + 14}" text-anchor="middle">{_label(10.0**d, "n")}</text>'
            )
        out.append(
            f'<text x="{left + w / 2}" y="{top + h + 28}" text-anchor="middle" fill="#555">triples</text>'
        )
        ours_i = base_i = 0
        legend_y = top + h + 46
        for label, ours, pts in series:
            if ours:
                colour, dash, stroke = OURS[ours_i % len(OURS)], "", 2.2
                ours_i += 1
            else:
                colour, dash, stroke = (
                    COLOURS[base_i % len(COLOURS)],
                    ' stroke-dasharray="5,3"',
                    1.5,
                )
                base_i += 1
            if pts:
                path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
                out.append(
                    f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{stroke}"{dash}/>'
                )
                for x, y in pts:
                    out.append(
                        f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{colour}"><title>{escape(label)}: {y:.3g} s at {x:g}</title></circle>'
                    )
            text = label if pts else f"{label} (not run)"
            out.append(
                f'<line x1="{left + 6}" y1="{legend_y - 4}" x2="{left + 24}" y2="{legend_y - 4}" stroke="{colour}" stroke-width="{stroke}"{dash}/>'
            )
            out.append(f'<text x="{left + 28}" y="{legend_y}" fill="#333">{escape(text)}</text>')
            legend_y += 13
    out.append("</svg>")
    return "\n".join(out) + "\n"
