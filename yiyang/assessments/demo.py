"""Demo data: submitted assessments for some elders of 莲都区, a few of them due for re-assessment."""

import random
from datetime import timedelta

from django.utils import timezone

from yiyang.assessments.models import Assessment
from yiyang.assessments.operations import add_months, assessment_start, assessment_submit, assessment_update
from yiyang.assessments.scale import get_scale
from yiyang.people.models import Elder


def demo_assessments(*, assessor, count: int = 40) -> int:
    """Idempotent: does nothing when assessments exist."""
    if Assessment.objects.exists():
        return 0
    rng = random.Random(4219)
    scale = get_scale()
    today = timezone.localdate()
    elders = list(Elder.objects.filter(status="active", residence_region__path__startswith="330000/331100/331102/").order_by("pk")[:count])
    for n, elder in enumerate(elders):
        # Spread the abilities from intact to completely dependent; every fifth one was assessed
        # almost a year ago, so the due list has rows.
        weakness = rng.random() ** 1.5
        answers = {i.code: max(0, round(i.max_score * (1 - weakness) + rng.uniform(-0.6, 0.6))) for i in scale.items}
        answers = {code: min(score, scale.item(code).max_score) for code, score in answers.items()}
        assessed_on = (
            add_months(today, -12) + timedelta(days=rng.randint(3, 25)) if n % 5 == 0 else today - timedelta(days=rng.randint(1, 200))
        )
        a = assessment_start(elder=elder, actor=assessor, assessed_on=assessed_on)
        assessment_update(assessment=a, actor=assessor, answers=answers, dementia=rng.random() < 0.08)
        assessment_submit(assessment=a, actor=assessor)
    return len(elders)
