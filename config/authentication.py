"""API authentication. Kept out of config.auth_api: DRF imports these while defining APIView."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Field, Model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from centers.models import StaffProfile


def _models() -> tuple[type[Model], type[Model], type[Model]]:
    """The three models of the join, in the order of its columns."""
    return Token, get_user_model(), StaffProfile


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)  # noqa: S101 - a concrete column, never a reverse relation
    return connection.ops.quote_name(str(field.column))


@functools.cache
def _token_join_sql(vendor: str) -> str | None:
    """Token, user and staff profile in one hand-written join: every concrete column of the three models,
    in `_models()` order. None where a column needs a backend converter (SQLite's datetimes and booleans):
    there the ORM's select_related does the conversion."""
    token, user, staff = _models()
    columns = []
    for model, alias in ((token, "t"), (user, "u"), (staff, "s")):
        for field in model._meta.concrete_fields:
            col = field.get_col(alias)
            if connection.ops.get_db_converters(col) or col.get_db_converters(connection):
                return None
            columns.append(f"{alias}.{_column(model, field.name)}")
    t_table, u_table, s_table = (connection.ops.quote_name(m._meta.db_table) for m in (token, user, staff))
    user_pk = _column(user, user._meta.pk.name)  # type: ignore[union-attr]
    joins = (
        f"JOIN {u_table} u ON u.{user_pk} = t.{_column(token, 'user')} "
        f"LEFT JOIN {s_table} s ON s.{_column(staff, 'user')} = u.{user_pk}"
    )
    # Identifiers only, from the models' metadata and quoted; the key is a parameter.
    return f"SELECT {', '.join(columns)} FROM {t_table} t {joins} WHERE t.{_column(token, 'key')} = %s"  # noqa: S608


def _token_with_user_and_staff(key: str) -> Any | None:
    """The token with `token.user` and `token.user.staff` loaded, or None for an unknown key.

    The ORM's `select_related("user", "user__staff")` builds and compiles a three-table join on every
    API request (~0.5 ms of CPU, about a tenth of an intake's web-tier CPU); the SQL is the same every
    time, so it is written once per process from the models' own columns and the rows become model
    instances through `Model.from_db`, as the ORM makes them.
    """
    sql = _token_join_sql(connection.vendor)
    if sql is None:
        return Token.objects.select_related("user", "user__staff").filter(key=key).first()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    instances: list[Any] = []
    start = 0
    for model in _models():
        fields = model._meta.concrete_fields
        instances.append(model.from_db(connection.alias, [f.attname for f in fields], row[start : start + len(fields)]))
        start += len(fields)
    token, user, staff = instances
    token.user = user
    if staff.pk is None:
        # No profile (an admin): cached as absent, as select_related would, so `user.staff` raises without a query.
        type(user).staff.related.set_cached_value(user, None)
    else:
        user.staff = staff
    return token


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token check with the staff profile joined in: one query per API request instead of two.

    (Every API view asks `actor_for(user)`, which reads `user.staff`.) No password hashing here: a
    token is compared by its key; argon2 runs only for password logins.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        token = _token_with_user_and_staff(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
