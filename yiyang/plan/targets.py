"""Targets read from the plan's own wording, never guessed.

The forms (shared/plan/README.md): a plain number ("95": reach 95), "45以上" / "50及以上" (at least),
"8.5以下" (at most), "提高5" (raise by 5 points over the base value), "逐步增加" (increase year on
year), "达到全省平均水平以上" (at least the entered provincial average), "应援尽援" (qualitative),
"5个以上" / "全市3个以上" (at least N; "全市" makes it a city-wide count).
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _


class TargetKind:
    REACH = "reach"  # a plain number; direction from the base value
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    RAISE_BY = "raise_by"
    INCREASE = "increase"
    PROVINCIAL_AVERAGE = "provincial_average"
    QUALITATIVE = "qualitative"
    NONE = "none"


@dataclass(frozen=True)
class Target:
    kind: str
    text: str
    number: Decimal | None = None  # as written (for RAISE_BY: the increment)
    baseline: Decimal | None = None
    city_wide: bool = False

    @property
    def threshold(self) -> Decimal | None:
        """The number a value is compared with, when the wording gives one."""
        if self.kind == TargetKind.RAISE_BY:
            return None if self.baseline is None or self.number is None else self.baseline + self.number
        if self.kind in (TargetKind.REACH, TargetKind.AT_LEAST, TargetKind.AT_MOST):
            return self.number
        return None

    @property
    def direction(self) -> int:
        """+1 when higher is better, -1 when lower is better, 0 when the wording gives no direction."""
        if self.kind in (TargetKind.AT_LEAST, TargetKind.RAISE_BY, TargetKind.INCREASE, TargetKind.PROVINCIAL_AVERAGE):
            return 1
        if self.kind == TargetKind.AT_MOST:
            return -1
        if self.kind == TargetKind.REACH and self.number is not None:
            # "Reach 95" from a base of 90 means at least 95; a printed number below the base means at most.
            if self.baseline is None or self.number >= self.baseline:
                return 1
            return -1
        return 0

    def met_by(self, value: Decimal | float | None, *, reference: Decimal | None = None) -> bool | None:
        """Whether a value meets the target; None when it cannot be told (qualitative, no reference)."""
        if value is None:
            return None
        value = Decimal(str(value))
        if self.kind == TargetKind.PROVINCIAL_AVERAGE:
            return None if reference is None else value >= reference
        threshold = self.threshold
        if threshold is None:
            return None
        return value >= threshold if self.direction > 0 else value <= threshold

    def describe(self) -> str:
        n = fmt_number(self.number)
        match self.kind:
            case TargetKind.REACH:
                return _("reach %(n)s") % {"n": n}
            case TargetKind.AT_LEAST:
                return (_("at least %(n)s across the city") if self.city_wide else _("at least %(n)s")) % {"n": n}
            case TargetKind.AT_MOST:
                return _("at most %(n)s") % {"n": n}
            case TargetKind.RAISE_BY:
                t = self.threshold
                if t is None:
                    return _("raise by %(n)s points over the base value") % {"n": n}
                return _("raise by %(n)s points over the base value, to %(t)s") % {"n": n, "t": fmt_number(t)}
            case TargetKind.INCREASE:
                return _("increase year on year")
            case TargetKind.PROVINCIAL_AVERAGE:
                return _("at least the provincial average")
            case TargetKind.QUALITATIVE:
                return _("qualitative: everyone eligible is served")
        return _("no target")


def fmt_number(number: Decimal | float | None, places: int | None = None) -> str:
    if number is None:
        return ""
    number = Decimal(str(number))
    if places is not None:
        number = round(number, places)
    return format(number.normalize(), "f")


def _number(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}")


_AT_LEAST = re.compile(r"^(全市)?(\d+(?:\.\d+)?)(?:个|家|张|人|%)?及?以上$")
_AT_MOST = re.compile(r"^(\d+(?:\.\d+)?)及?以下$")
_RAISE = re.compile(r"^提高(\d+(?:\.\d+)?)(?:个百分点)?$")
_PLAIN = re.compile(r"^\d+(?:\.\d+)?$")


def parse_target(text: str, *, baseline: Decimal | None = None) -> Target:
    """Read one target as written. Unknown wording is an error: software must not guess."""
    raw = (text or "").strip()
    if raw in ("", "/"):
        return Target(TargetKind.NONE, raw, baseline=baseline)
    if _PLAIN.match(raw):
        return Target(TargetKind.REACH, raw, _number(raw), baseline)
    if m := _AT_LEAST.match(raw):
        return Target(TargetKind.AT_LEAST, raw, _number(m.group(2)), baseline, city_wide=bool(m.group(1)))
    if m := _AT_MOST.match(raw):
        return Target(TargetKind.AT_MOST, raw, _number(m.group(1)), baseline)
    if m := _RAISE.match(raw):
        return Target(TargetKind.RAISE_BY, raw, _number(m.group(1)), baseline)
    if raw == "逐步增加":
        return Target(TargetKind.INCREASE, raw, baseline=baseline)
    if raw == "达到全省平均水平以上":
        return Target(TargetKind.PROVINCIAL_AVERAGE, raw, baseline=baseline)
    if raw == "应援尽援":
        return Target(TargetKind.QUALITATIVE, raw, baseline=baseline)
    raise ValueError(f"target wording not understood: {raw!r}")


def parse_number_as_printed(text: str) -> Decimal | None:
    """A printed value ("81.04", "/", "50以上") as a number when it is one."""
    raw = (text or "").strip()
    return _number(raw) if _PLAIN.match(raw) else None


COUNT_UNITS = {"个", "家"}


def doubtful_target_reason(*, unit: str, baseline: Decimal | None, target: Target) -> str:
    """A printed target that contradicts itself, to be shown as printed and flagged (not fixed).

    A count of things that are built or recognised (units 个/家) only grows; a plain-number
    target below its base value (indicator 26: base 39, target 10) cannot be what was meant.
    """
    counts_up = unit in COUNT_UNITS and target.kind == TargetKind.REACH
    if counts_up and baseline is not None and target.number is not None and target.number < baseline:
        return _(
            "The target as printed (%(t)s) is below the base value (%(b)s) of a count that only grows; shown as printed, to be checked."
        ) % {"t": fmt_number(target.number), "b": fmt_number(baseline)}
    return ""
