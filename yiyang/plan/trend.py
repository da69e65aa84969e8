"""Is an indicator on track? A least-squares line through its values, projected to the target year.

Fewer than three periods say "not enough data"; no value says "no data". Every status has a
word and a symbol, so it reads without colour (a projector, a grey-scale print, colour blindness).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from yiyang.plan.periods import Period, target_x
from yiyang.plan.targets import Target, TargetKind

MIN_PERIODS = 3


class Status:
    ON_TRACK = "on_track"
    OFF_TRACK = "off_track"
    NOT_ENOUGH_DATA = "not_enough_data"
    NO_DATA = "no_data"
    NOT_EVALUATED = "not_evaluated"


STATUS_LABELS = {
    Status.ON_TRACK: ("✔", _("On track")),
    Status.OFF_TRACK: ("✘", _("Off track")),
    Status.NOT_ENOUGH_DATA: ("…", _("Not enough data")),
    Status.NO_DATA: ("—", _("No data")),
    Status.NOT_EVALUATED: ("○", _("Not evaluated")),
}


@dataclass(frozen=True)
class Assessment:
    status: str
    latest: Decimal | None = None
    latest_period: str = ""
    projected: float | None = None
    slope: float | None = None
    reference: Decimal | None = None
    reason: str = ""

    @property
    def symbol(self) -> str:
        return STATUS_LABELS[self.status][0]

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.status][1])


def least_squares(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Slope and intercept of the ordinary least-squares line through the points (at least two distinct x)."""
    n = len(points)
    mean_x = sum(x for x, _y in points) / n
    mean_y = sum(y for _x, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _y in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    if sxx == 0:
        raise ValueError("points need at least two distinct positions in time")
    slope = sxy / sxx
    return slope, mean_y - slope * mean_x


def assess(
    *,
    target: Target,
    series: list[tuple[Period, Decimal | None]],
    target_year: int,
    reference: Decimal | None = None,
    applies: bool = True,
    flagged: bool = False,
) -> Assessment:
    """The status of one indicator at one region from its series (period, value); None values are "no data"."""
    known = sorted((p, v) for p, v in series if v is not None)
    latest, latest_period = (known[-1][1], str(known[-1][0])) if known else (None, "")
    base = {"latest": latest, "latest_period": latest_period, "reference": reference}
    if not known:
        return Assessment(Status.NO_DATA, **base)
    if flagged:
        return Assessment(Status.NOT_EVALUATED, reason=str(_("the printed target is flagged as doubtful")), **base)
    if not applies:
        return Assessment(Status.NOT_EVALUATED, reason=str(_("the target is set for the whole city")), **base)
    if target.kind in (TargetKind.QUALITATIVE, TargetKind.NONE):
        return Assessment(Status.NOT_EVALUATED, reason=str(_("the target is not a number")), **base)
    if target.kind == TargetKind.PROVINCIAL_AVERAGE and reference is None:
        return Assessment(Status.NOT_EVALUATED, reason=str(_("no provincial average has been entered")), **base)
    if target.kind == TargetKind.RAISE_BY and target.threshold is None:
        return Assessment(Status.NOT_EVALUATED, reason=str(_("the base value is missing")), **base)
    if len(known) < MIN_PERIODS:
        return Assessment(Status.NOT_ENOUGH_DATA, reason=str(_("fewer than three periods")), **base)
    monthly = known[-1][0].is_month
    points = [(p.x, float(v)) for p, v in known]
    slope, intercept = least_squares(points)
    projected = intercept + slope * target_x(target_year, monthly=monthly)
    if target.kind == TargetKind.INCREASE:
        on_track = slope > 0
    else:
        on_track = bool(target.met_by(Decimal(str(round(projected, 6))), reference=reference))
    return Assessment(Status.ON_TRACK if on_track else Status.OFF_TRACK, projected=projected, slope=slope, **base)
