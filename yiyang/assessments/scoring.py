"""Scoring an answered GB/T 42195 form: item scores -> dimension scores -> total -> band -> final level.

Pure functions over the loaded scale (scale.py); the operations store their result.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from yiyang.assessments.scale import Scale, ScaleConfig, get_config, get_scale
from yiyang.core.errors import DomainError


@dataclass(frozen=True)
class Facts:
    """What the form records besides the 26 items, used by the level-change rules."""

    coma: bool = False
    dementia: bool = False
    mental_disorder: bool = False
    care_risk_events_30d: int = 0


@dataclass(frozen=True)
class Result:
    dimension_scores: dict[str, int]
    total: int
    preliminary_grade: int
    grade: int
    level_key: str
    level_name: str
    reasons: list[str] = field(default_factory=list)


def validate_answers(answers: dict, *, scale: Scale | None = None, complete: bool = False) -> dict[str, int]:
    """Check every answered item against its options; with complete=True every item must be answered.

    Raises DomainError naming the first field at fault (`answers.B.1.1`).
    """
    scale = scale or get_scale()
    if not isinstance(answers, dict):
        raise DomainError(_("Answers must be an object of item code to score."), field="answers")
    clean: dict[str, int] = {}
    for code, value in answers.items():
        item = scale.item(str(code))
        if item is None:
            raise DomainError(_("%(code)s is not an item of this scale.") % {"code": code}, field=f"answers.{code}", code="unknown_item")
        if value is None or value == "":
            continue
        try:
            score = int(value)
        except (TypeError, ValueError):
            raise DomainError(_("Enter a whole number."), field=f"answers.{code}")
        if isinstance(value, bool) or score != value and str(score) != str(value).strip():
            raise DomainError(_("Enter a whole number."), field=f"answers.{code}")
        if score not in item.scores:
            raise DomainError(
                _("%(item)s: %(score)s is not one of its options (%(options)s).")
                % {"item": f"{item.code} {item.name}", "score": score, "options": ", ".join(str(s) for s in sorted(item.scores))},
                field=f"answers.{item.code}",
                code="invalid_option",
            )
        clean[item.code] = score
    if complete:
        for item in scale.items:
            if item.code not in clean:
                raise DomainError(
                    _("%(item)s is not answered.") % {"item": f"{item.code} {item.name}"}, field=f"answers.{item.code}", code="incomplete"
                )
    return clean


def score(answers: dict, facts: Facts = Facts(), *, scale: Scale | None = None, config: ScaleConfig | None = None) -> Result:
    scale = scale or get_scale()
    config = config or get_config()
    if facts.care_risk_events_30d < 0:
        raise DomainError(_("Must be at least 0."), field="care_risk_events_30d")
    clean = validate_answers(answers, scale=scale, complete=True)
    dimension_scores = {d.key: sum(clean[i.code] for i in d.items) for d in scale.dimensions}
    total = sum(dimension_scores.values())
    preliminary = scale.band(total).grade
    reasons = [
        _("Total %(total)s of %(max)s: %(level)s.") % {"total": total, "max": scale.total_max, "level": scale.level(preliminary).name}
    ]
    grade = preliminary
    if facts.coma:
        grade = config.coma_target_grade
        reasons.append(_("In a coma: rated %(level)s directly.") % {"level": scale.level(grade).name})
    else:
        met = []
        conditions = {c.key: c for c in scale.raise_conditions}
        if facts.dementia and "dementia" in conditions:
            met.append(conditions["dementia"])
        if facts.mental_disorder and "mental_disorder" in conditions:
            met.append(conditions["mental_disorder"])
        if facts.care_risk_events_30d >= config.care_risk_events_threshold and "care_risk_events" in conditions:
            met.append(conditions["care_risk_events"])
        if met:
            steps = len(met) if config.raise_is_cumulative else 1
            grade = min(preliminary + steps, scale.cap_grade)
            for condition in met:
                reasons.append(_("Raised: %(condition)s.") % {"condition": condition.text})
    level = scale.level(grade)
    return Result(
        dimension_scores=dimension_scores,
        total=total,
        preliminary_grade=preliminary,
        grade=grade,
        level_key=level.key,
        level_name=level.name,
        reasons=reasons,
    )
