from celery import shared_task

from sla.services import sla_sweep


@shared_task(name="sla.tasks.sweep", acks_late=True, time_limit=120, soft_time_limit=100, ignore_result=True)
def sweep() -> int:
    """Beat runs this every HELPDESK_SLA_SWEEP_SECONDS. Safe to run twice at once or again
    after a crash: each action is recorded once, in the transaction that performs it."""
    return sla_sweep()
