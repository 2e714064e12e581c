"""Django's PostgreSQL backend, failing fast while the pool knows PostgreSQL is unreachable
(`vlvt.dbpool`); the ENGINE of the default database."""
