from decimal import Decimal

import pytest
from django.utils import timezone

from yiyang.plan.models import IndicatorValue
from yiyang.plan.periods import Period

pytestmark = pytest.mark.django_db


def test_the_scheduled_job_snapshots_this_month_and_last(tekun_population, settings, plan_indicator):
    from crontask import scheduler  # noqa: F401  (the job is registered with the scheduler on import)

    from yiyang.plan.tasks import plan_snapshot

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    result = plan_snapshot.enqueue()
    this_month = Period.month_of(timezone.localdate())
    assert set(result.return_value) == {str(this_month), str(this_month.previous())}
    row = IndicatorValue.objects.get(indicator=plan_indicator(5), region__code="331102", period=str(this_month))
    assert row.value == Decimal("60.0000") and row.final is False
    assert any(job.name.endswith("plan_snapshot") or "plan_snapshot" in str(job.func) for job in scheduler.get_jobs())
