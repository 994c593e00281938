from celery import shared_task

from core.idempotency import idempotency_purge


@shared_task(soft_time_limit=120, time_limit=180)
def purge_idempotency_keys() -> int:
    return idempotency_purge()
