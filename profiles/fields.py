"""Model fields that reproduce column types of the original VLVT schema exactly.

Django's defaults differ from the original migrations in two places: a ForeignKey column always
takes its target's type (VARCHAR(255) for users.id) while some original tables declare `TEXT`, and
AutoField is an identity column while `fcm_tokens.id` is a `SERIAL`. An existing VLVT database has
the original types, so the models declare them. `db_owned_fk` is how both apps' models declare a
foreign key the migrations' SQL constrains.
"""

from __future__ import annotations

from django.db import models


class TextForeignKey(models.ForeignKey):
    """A foreign key stored in a `TEXT` column (swipes, user_subscriptions reference users so)."""

    def db_type(self, connection):
        return "text"

    def cast_db_type(self, connection):
        return "text"


class SerialAutoField(models.AutoField):
    """`SERIAL` (integer with a sequence default), as the original `fcm_tokens.id`."""

    def db_type(self, connection):
        return "serial"

    def db_type_suffix(self, connection):
        return None

    def rel_db_type(self, connection):
        return "integer"

    def cast_db_type(self, connection):
        return "integer"


class VarCharField(models.CharField):
    """A VARCHAR(n) primary key without Django's extra `<name>_like` index.

    For a unique VARCHAR column Django's PostgreSQL backend adds a second index with
    varchar_pattern_ops (for LIKE 'x%'); it does so only when the type is spelled `varchar`. The
    original schema has no such indexes, and nothing here filters ids by prefix, so the type is
    spelled the long way (same type: `character varying(n)`), which keeps a fresh database
    identical to an adopted one.
    """

    def db_type(self, connection):
        return f"character varying({self.max_length})"


def db_owned_fk(
    to, column: str, *, null: bool = False, related_name: str = "+", cls=models.ForeignKey, **kwargs
):
    """A foreign key whose constraint (and ON DELETE rule) is owned by the migrations' RunSQL."""
    return cls(
        to,
        db_column=column,
        on_delete=models.DO_NOTHING,  # the database applies CASCADE / SET NULL itself
        db_constraint=False,
        db_index=False,  # indexes are declared explicitly, as the original has them
        null=null,
        blank=null,
        related_name=related_name,
        **kwargs,
    )
