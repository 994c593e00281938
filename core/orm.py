"""Small ORM helpers shared by the apps' services."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Model


def prefetched(instance: Model, relation: str, rows: Iterable[Model]) -> None:
    """Make `instance.<relation>.all()` answer `rows` without a query, as prefetch_related would have.

    For a service that has just written the rows and hands the instance on (an API answer), so nothing is
    read back. Other queries on the relation (`filter`, `values_list`, ...) still go to the database.
    """
    queryset = getattr(instance, relation).all()
    # What prefetch_related stores for a relation: the relation's queryset, already evaluated.
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[relation] = queryset
