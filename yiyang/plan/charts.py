"""One chart definition per indicator, drawn by ECharts on the page and by matplotlib in the report.

`chart_for` turns an indicator's row (series, target, assessment) into a neutral `ChartSpec`;
`echarts_option` and `render_png` only draw that spec, so page and report always agree.
"""

import io
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from yiyang.plan.periods import target_x
from yiyang.plan.targets import TargetKind

COLOURS = {"value": "#0b5c8e", "target": "#a4161a", "projection": "#4a4a4a", "reference": "#1b6b2f"}


@dataclass(frozen=True)
class ChartSpec:
    title: str
    unit: str
    labels: list[str]
    values: list[float | None]
    projection: list[float | None]  # the least-squares line, at its two ends
    target: float | None
    target_label: str
    reference: float | None
    kind: str  # "line" or "bar"

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "unit": self.unit,
            "labels": self.labels,
            "values": self.values,
            "projection": self.projection,
            "target": self.target,
            "target_label": self.target_label,
            "reference": self.reference,
            "kind": self.kind,
        }


def _f(value: Decimal | float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def chart_for(row, *, target_year: int) -> ChartSpec:
    """The chart of one indicator at one region (an `IndicatorRow` of queries.indicator_rows)."""
    ind = row.indicator
    labels = [str(p) for p, _v in row.series]
    values = [_f(v) for _p, v in row.series]
    end_label = f"{target_year}-12" if row.monthly else str(target_year)
    projection: list[float | None] = [None] * len(labels)
    a = row.assessment
    if a.slope is not None and row.series:
        if end_label not in labels:
            labels.append(end_label)
            values.append(None)
            projection.append(None)
        first = row.series[0][0]
        intercept = a.projected - a.slope * target_x(target_year, monthly=row.monthly)
        projection[0] = round(intercept + a.slope * first.x, 4)
        projection[labels.index(end_label)] = round(a.projected, 4)
    target = row.target.threshold if row.applies and not ind.flagged else None
    reference = _f(a.reference) if row.target.kind == TargetKind.PROVINCIAL_AVERAGE else None
    return ChartSpec(
        title=f"{ind.no}. {ind.name}",
        unit=ind.unit,
        labels=labels,
        values=values,
        projection=projection,
        target=_f(target),
        target_label=_("Target %(year)s") % {"year": target_year},
        reference=reference,
        kind="bar" if ind.unit in ("个", "家") else "line",
    )


def echarts_option(spec: ChartSpec) -> dict:
    """An ECharts option object (JSON-serialisable); the page passes it through json_script."""
    series: list[dict] = [
        {
            "name": spec.title,
            "type": spec.kind,
            "data": spec.values,
            "connectNulls": True,
            "symbol": "circle",
            "symbolSize": 8,
            "itemStyle": {"color": COLOURS["value"]},
            "label": {"show": len([v for v in spec.values if v is not None]) <= 12, "position": "top"},
        }
    ]
    if any(v is not None for v in spec.projection):
        series.append(
            {
                "name": _("Trend (least squares)"),
                "type": "line",
                "data": spec.projection,
                "connectNulls": True,
                "lineStyle": {"type": "dashed", "color": COLOURS["projection"]},
                "itemStyle": {"color": COLOURS["projection"]},
                "symbol": "triangle",
            }
        )
    mark_lines = []
    if spec.target is not None:
        mark_lines.append(
            {"yAxis": spec.target, "name": spec.target_label, "lineStyle": {"color": COLOURS["target"], "type": "solid", "width": 2}}
        )
    if spec.reference is not None:
        mark_lines.append(
            {"yAxis": spec.reference, "name": _("Provincial average"), "lineStyle": {"color": COLOURS["reference"], "type": "dotted"}}
        )
    if mark_lines:
        series[0]["markLine"] = {"symbol": "none", "label": {"formatter": "{b}: {c}", "position": "insideEndTop"}, "data": mark_lines}
    return {
        "aria": {"enabled": True},
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 48, "right": 24, "top": 32, "bottom": 56},
        "xAxis": {"type": "category", "data": spec.labels},
        "yAxis": {"type": "value", "name": spec.unit, "scale": spec.kind == "line"},
        "series": series,
    }


def _font() -> None:
    import matplotlib
    from matplotlib import font_manager

    wanted = [
        "Noto Sans CJK SC",
        "Noto Sans SC",
        "Source Han Sans SC",
        "WenQuanYi Zen Hei",
        "WenQuanYi Micro Hei",
        "SimHei",
        "Microsoft YaHei",
    ]
    available = {f.name for f in font_manager.fontManager.ttflist}
    chosen = [name for name in wanted if name in available]
    matplotlib.rcParams["font.sans-serif"] = [*chosen, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False


def render_png(spec: ChartSpec, *, width_in: float = 6.0, height_in: float = 2.8) -> bytes:
    """The same chart as a PNG for the Word report (matplotlib, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    _font()
    fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=150)
    try:
        xs = list(range(len(spec.labels)))
        pts = [(x, v) for x, v in zip(xs, spec.values, strict=True) if v is not None]
        if spec.kind == "bar":
            ax.bar([x for x, _v in pts], [v for _x, v in pts], color=COLOURS["value"], label=spec.title)
        else:
            ax.plot([x for x, _v in pts], [v for _x, v in pts], marker="o", color=COLOURS["value"], label=spec.title)
        proj = [(x, v) for x, v in zip(xs, spec.projection, strict=True) if v is not None]
        if len(proj) == 2:
            ax.plot(
                [x for x, _v in proj],
                [v for _x, v in proj],
                linestyle="--",
                marker="^",
                color=COLOURS["projection"],
                label=_("Trend (least squares)"),
            )
        if spec.target is not None:
            ax.axhline(spec.target, color=COLOURS["target"], linewidth=1.5, label=f"{spec.target_label}: {spec.target:g}")
        if spec.reference is not None:
            ax.axhline(spec.reference, color=COLOURS["reference"], linestyle=":", label=f"{_('Provincial average')}: {spec.reference:g}")
        ax.set_xticks(xs)
        step = max(1, len(xs) // 12)
        ax.set_xticklabels([lbl if i % step == 0 else "" for i, lbl in enumerate(spec.labels)], rotation=0, fontsize=7)
        ax.set_ylabel(spec.unit)
        ax.set_title(spec.title, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)
