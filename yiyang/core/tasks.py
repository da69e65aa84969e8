"""Periodic housekeeping, scheduled by `yiyang crontask` and run by `yiyang db_worker`."""

from datetime import timedelta

from crontask import cron
from django.contrib.sessions.models import Session
from django.tasks import task
from django.utils import timezone


@cron("17 3 * * *")
@task
def housekeeping() -> dict:
    """Drop expired sessions and finished task results older than a week."""
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    results, _ = DBTaskResult.objects.finished().filter(finished_at__lt=now - timedelta(days=7)).delete()
    return {"sessions": sessions, "task_results": results}
