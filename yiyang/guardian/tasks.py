"""Guardian background work: escalation timers, outbox delivery, periodic checks (`yiyang crontask` schedules them)."""

from crontask import cron
from django.tasks import task


@task
def alert_escalate(alert_id: int, step: int) -> str:
    from yiyang.guardian.operations import alert_escalate_step

    return alert_escalate_step(alert_id=alert_id, step=step)


@task
def notification_deliver(notification_id: int) -> str:
    from yiyang.guardian.operations import notification_deliver_once

    return notification_deliver_once(notification_id=notification_id)


@cron("* * * * *")
@task
def guardian_minutely() -> dict:
    """Offline devices, self-watch (ingestion silence) and stuck outbox rows."""
    from yiyang.guardian.operations import devices_check_offline, guardian_selfwatch, notifications_sweep

    # The worker cannot see its own stall; the listener and the console check that (check_worker there).
    return {
        "offline": devices_check_offline(),
        "selfwatch": guardian_selfwatch(check_worker=False),
        "requeued": notifications_sweep(),
    }


@cron("*/10 * * * *")
@task
def guardian_inactivity() -> int:
    from yiyang.guardian.operations import elders_check_inactivity

    return elders_check_inactivity()


@cron("41 3 * * *")
@task
def guardian_purge() -> dict:
    from yiyang.guardian.operations import positions_purge

    return positions_purge()
