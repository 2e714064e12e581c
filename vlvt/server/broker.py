"""kombu's Redis transport, publishing through one redis-py client per channel.

kombu 5.7 builds a new `redis.Redis` for every command a channel sends outside its consumer
(`Channel.conn_or_acquire`), among them every published message: each one fills a table of some
two hundred response callbacks, 18% of a `task.delay()`, which a REST send makes for every push
it queues. redis-py clients are thread-safe and share the channel's connection pool either way,
so one per channel is enough. Everything else is kombu's.

Selected for `redis://` broker URLs by `CELERY_BROKER_TRANSPORT` (vlvt.settings); other URLs
keep kombu's own transports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis as kombu_redis

from vlvt.server import upstream


class Channel(kombu_redis.Channel):
    _command_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        if self._command_client is None:
            self._command_client = upstream.new_redis_client(self)
        yield self._command_client

    def close(self) -> None:
        self._command_client = None
        super().close()


class Transport(kombu_redis.Transport):
    Channel = Channel
