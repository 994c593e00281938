"""Small ORM helpers shared by the apps' services."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Model

from core.errors import InvalidInput


def parse_pk(value: object) -> int | None:
    """A primary key from a path or a body ("12", 12), or None for anything no row can have ("abc", 0, 2**63):
    the caller answers 404 rather than let the database raise on an out-of-range integer."""
    try:
        pk = int(str(value))
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk < 2**63 else None


def full_clean_or_invalid(instance: Model, *, exclude: Iterable[str] = (), validate_unique: bool = True) -> None:
    """`instance.full_clean()` (field checks and the model's own `clean()` invariants) for a service:
    a broken rule becomes InvalidInput naming the first field, as every other service error does."""
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=validate_unique)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(" ".join(messages), field=None if field == NON_FIELD_ERRORS else field) from None


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
