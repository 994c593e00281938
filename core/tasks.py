from celery import shared_task

from core.idempotency import idempotency_purge
from core.queueing import task_options


@shared_task(**task_options(120, 180))
def purge_idempotency_keys() -> int:
    return idempotency_purge()
