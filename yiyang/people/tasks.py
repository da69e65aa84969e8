"""Background work of the registry, run by `yiyang db_worker`."""

from django.tasks import task


@task
def import_run_task(job_id: int) -> dict:
    from yiyang.people.imports import import_run

    job = import_run(job_id)
    return {"status": job.status, "created": job.created_count, "proposed": job.proposed_count, "errors": job.error_count}
