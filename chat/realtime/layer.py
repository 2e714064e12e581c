"""channels_redis's channel layer with a faster `group_send`.

channels_redis 4.3 spends four Redis round trips on every `group_send` (trim the group, read it,
trim each member's queue, then an EVAL that ships the whole script text), and a member on this
very process then takes its message back out of Redis through the receive loop. This subclass:

- reads the group in one round trip (trim and read pipelined);
- hands the message to this process's sockets in the group first (those registered with the
  layer pump, `chat.realtime.pump`, which learns their groups from `group_add` and
  `group_discard` here), before any Redis round trip, as socket.io's Redis adapter broadcasts
  locally before publishing: no serialising, no Redis write, no receive loop;
- writes what is left, for other processes, in one round trip: the queue trim moves into the
  script, which runs by its SHA (`EVALSHA`, loaded once).

And the process's sockets read what other processes sent them with `receive_local`: up to 100
messages per `BZMPOP` (Redis 7; `BZPOPMIN` before it), without channels_redis's in-flight backup
(a `ZADD` before and a `ZPOPMIN` after every message, and a script before every read). That
backup lets a cancelled `receive()` hand its message to the next one; the pump
(`chat.realtime.pump`) is only cancelled when the process's last socket has gone, and a message
for a socket that has gone is dropped either way.

A message reaches each member channel exactly as before: capacity and expiry still hold on the
Redis path, members on other processes read it as before, and a member of this process that is
not a pump socket (a plain `receive()` caller) still gets it through Redis. A local member gets a
shallow copy of the message, so what is published must not be changed afterwards (the chat
publishers build a fresh payload for every publication).
"""
from __future__ import annotations

import time
from typing import Any

from channels_redis.core import RedisChannelLayer
from channels_redis.core import logger as channels_redis_logger
from redis.exceptions import ResponseError

from chat.realtime import pump

# channels_redis's group_send script, with the expiry trim of each queue done in it.
_GROUP_SEND = """
local over_capacity = 0
local current_time = ARGV[#ARGV - 1]
local expiry = ARGV[#ARGV]
local stale = math.floor(tonumber(current_time)) - tonumber(expiry)
for i=1,#KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, stale)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


RECEIVE_BATCH = 100


class ChannelLayer(RedisChannelLayer):
    _bzmpop = True  # until Redis says it does not know it (before 7.0)
    _group_send_script: Any = None  # one redis-py Script (its SHA computed once), run on any connection

    async def group_add(self, group: str, channel: str) -> None:
        pump.join(self, group, channel)
        await super().group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        pump.leave(self, group, channel)
        await super().group_discard(group, channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert self.require_valid_group_name(group), "Group name not valid"
        pump.deliver_to_group(self, group, message)
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        async with connection.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
            pipe.zrange(key, 0, -1)
            _, members = await pipe.execute()
        remote = [name for name in (m.decode("utf8") for m in members) if not pump.is_local(self, name)]
        if remote:
            await self._send_to_channels(group, remote, message)

    async def _send_to_channels(self, group: str, channel_names: list[str], message: dict[str, Any]) -> None:
        by_connection, messages, capacities = self._map_channel_keys_to_connection(channel_names, message)
        for index, keys in by_connection.items():
            args = [*(messages[k] for k in keys), *(capacities[k] for k in keys), time.time(), self.expiry]
            connection = self.connection(index)
            if self._group_send_script is None:
                self._group_send_script = connection.register_script(_GROUP_SEND)
            over = await self._group_send_script(keys=keys, args=args, client=connection)
            if over > 0:  # channels_redis's own logger and words
                channels_redis_logger.info("%s of %s channels over capacity in group %s", over, len(channel_names), group)

    async def receive_local(self) -> list[tuple[list[str], dict[str, Any]]]:
        """The next messages for this process's channels (`new_channel()`'s, which share one Redis
        key), oldest first, each with the channels it is for; waits up to `brpop_timeout` seconds
        for the first, and returns none when none came."""
        name = f"specific.{self.client_prefix}!"
        key = self.prefix + name
        connection = self.connection(self.consistent_hash(name))
        if self._bzmpop:
            try:
                popped = await connection.bzmpop(self.brpop_timeout, 1, [key], min=True, count=RECEIVE_BATCH)
            except ResponseError as exc:
                if "unknown command" not in str(exc).lower():
                    raise
                self._bzmpop = False
                return []
            contents = [content for content, _ in popped[1]] if popped else []
        else:
            popped = await connection.bzpopmin(key, timeout=self.brpop_timeout)
            contents = [popped[1]] if popped else []
        received = []
        for content in contents:
            try:
                message = self.deserialize(content)
            except Exception:
                channels_redis_logger.exception("undecodable channel layer message dropped")
                continue
            channels = message.pop("__asgi_channel__", None)
            if channels:  # a list from group_send, one name from send()
                received.append((channels if isinstance(channels, list) else [channels], message))
        return received
