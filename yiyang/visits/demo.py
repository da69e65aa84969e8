"""Demo data: last month's and this month's visit plans, with most of last month visited."""

import random
from datetime import timedelta

from django.utils import timezone

from yiyang.visits.models import ItemKind, Visit, VisitPlanItem
from yiyang.visits.operations import month_end, month_start, visit_plan_add_extra, visit_plan_generate, visit_record


def demo_visits(*, worker, officer) -> int:
    """Idempotent: does nothing when visits exist."""
    if Visit.objects.exists():
        return 0
    rng = random.Random(8)
    today = timezone.localdate()
    this_month = month_start(today)
    last_month = month_start(this_month - timedelta(days=1))
    visit_plan_generate(month=last_month, on=month_end(last_month), actor=officer)
    visit_plan_generate(month=this_month, actor=officer)
    made = 0
    for month, share in ((last_month, 0.85), (this_month, 0.35)):
        last_day = min(month_end(month), today)
        for item in VisitPlanItem.objects.filter(month=month, kind=ItemKind.RULE).select_related("elder").order_by("pk"):
            if rng.random() > share:
                continue
            day = month + timedelta(days=rng.randint(0, (last_day - month).days))
            visitor = worker if item.township.code == "331102001" else (item.plan.assignee or officer)
            visit_record(
                elder=item.elder,
                actor=visitor,
                visited_on=day,
                mode=rng.choice(["in_person", "in_person", "phone"]),
                health=rng.choice(["good", "good", "fair", "poor"]),
                mood=rng.choice(["good", "good", "low"]),
                home=rng.choice(["ok", "ok", "ok", "attention"]),
                needs=rng.sample(["meal", "cleaning", "medical", "company", "repair"], k=rng.choice([0, 0, 1, 2])),
            )
            made += 1
    first_due = VisitPlanItem.objects.filter(month=this_month, township__code="331102001", visit_count=0).select_related("elder").first()
    if first_due is not None:
        visit_plan_add_extra(elder=first_due.elder, reason="银龄卫士：24小时未检测到活动", source="guardian:demo", actor=None)
    return made
