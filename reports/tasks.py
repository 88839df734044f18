"""Celery beat keeps the reports' daily rows up to date (`reports.cube.refresh`)."""

from celery import shared_task

from reports import cube


@shared_task(name="reports.tasks.refresh", ignore_result=True, time_limit=900, soft_time_limit=840)
def refresh() -> dict:
    """Rebuild the days that changed since the last run; a run queued while one works waits for its lock."""
    return cube.refresh()
