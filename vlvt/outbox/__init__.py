"""Celery tasks survive a broker outage: a task that cannot be published waits in PostgreSQL.

The broker is Redis, the same Redis as the realtime layer; while it is stopped, restarting or hung,
`task.delay()` could only fail (the push of a message sent meanwhile was logged and lost). Every
task of the project is an `OutboxTask` (`vlvt.celery`): it publishes as usual, without kombu's
retries; when the broker does not take the message it is written to the `task_outbox` table
instead (a PostgreSQL row: it survives this process), and from then on this process writes every
new task there too, in order, until its relay (`vlvt.outbox.relay`) has published the table's rows
again. The relay is a thread of the process that diverted, trying the broker every
`RELAY_POLL` seconds; a process that died with rows in the table leaves them to the worker, which
relays the table every `OUTBOX_RELAY_SWEEP_SECONDS` (a setting; beat).

Delivery is at least once: a publish that timed out may have reached the broker after all, and
then the relayed copy runs too (the tasks are written to be safe to re-run).
"""
