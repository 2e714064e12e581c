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

When the Redis part of a `group_send` fails (Redis stopped, restarting or hung past
`REMOTE_TIMEOUT`), the publication is not dropped: it waits in the process's retry queue
(`_Retries`), in order (later publications queue behind it, so a recipient never sees them
reordered), and goes out once Redis answers again. Only a group's own order matters: once Redis
answers and any restore barrier (below) is down, while the queue drains, a publication for a group
with nothing waiting goes out at once instead of behind the whole outage's backlog (which took a
second or two to drain under load, and every new message, to anyone, waited for it); after a loss of data, once the other processes
have put their sockets back (below), at most `RETRY_SETTLE_MAX` later; or `RETRY_SETTLE`
seconds later, which let the other processes put their sockets' group memberships back (a Redis that restarted empty has
lost them; their pumps re-assert them as soon as they notice, `chat.realtime.pump`). A Redis
that lost its data answers as if nothing happened, so each process with sockets keeps a marker
key in Redis (`assert_marker`), and a publication whose group read finds the process's marker
gone counts as failed too. Each of those processes also lists itself, every round, in a sorted set
of live processes (`peers_key`); after a loss of data it lists itself again only once its sockets
are back in their groups (`chat.realtime.pump`), so a process that saw the others listed before
the loss sends what waited as soon as they all are listed again (`until_restored`): a barrier,
not a guess at how long they take. A
publication still undelivered after `SOCKET_UNDELIVERED_PUSH_SECONDS` (by default channels_redis's
`expiry`, 60 s: what it lets a message wait) goes to the `undelivered` hook (chat.events sends a
`new_message` as a push instead) and is logged. The `queued` hook hears of each publication that
enters the queue and the `retried` hook of each sent from it (chat.events: the delivered-or-push
decision of a message whose publication waited is made then, so that it is pushed at most once).

A message reaches each member channel exactly as before: capacity and expiry still hold on the
Redis path, members on other processes read it as before, and a member of this process that is
not a pump socket (a plain `receive()` caller) still gets it through Redis. A local member gets a
shallow copy of the message, so what is published must not be changed afterwards (the chat
publishers build a fresh payload for every publication).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from channels_redis.core import RedisChannelLayer
from channels_redis.core import logger as channels_redis_logger
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chat.realtime import conf, pump
from vlvt.server import upstream

logger = logging.getLogger("vlvt.realtime")

# How long the Redis part of a publication may take before it is left to the retry queue.
REMOTE_TIMEOUT = 1.0
# Waits between retries while Redis does not answer; once it answers, the queue waits
# RETRY_SETTLE before sending, for other processes to re-assert their group memberships.
RETRY_POLL = 0.1
RETRY_SETTLE = 1.0
# After a loss of data, the longest wait for the processes listed before it to list themselves again
# (one that died meanwhile never does); RESTORE_POLL between looks.
RETRY_SETTLE_MAX = 3.0
RESTORE_POLL = 0.05
# A process not seen for this long is no longer waited for.
PEER_STALE_SECONDS = 5
# How often a process without sockets reads the list of live processes (with a publication).
PEERS_READ_SECONDS = 1.0
RETRY_QUEUE_MAX = 10_000
RETRY_BATCH = 500
RETRY_CONCURRENCY = 16
MARKER_TTL = 600


class RedisDataLost(RedisError):
    pass


_REDIS_FAILURES = (RedisError, OSError, TimeoutError)

Hook = Callable[[str, dict[str, Any]], Any]
_hook_tasks: set[asyncio.Future[Any]] = set()

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

# KEYS[1] this process's marker, KEYS[2] the live processes; ARGV: marker TTL, staleness (s), this
# process's name, "1" when this process had set its marker. Returns {1} when the marker had gone (Redis
# lost its data: the caller restores its groups, then calls again to be listed), else {0, names}.
_ASSERT_MARKER = """
local created = redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
if created and ARGV[4] == '1' then
    return {1, {}}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
return {0, redis.call('ZRANGE', KEYS[2], 0, -1)}
"""


def _refused(error: BaseException | None) -> bool:
    """Redis was not there (stopped, restarting), as opposed to slow (hung)."""
    return isinstance(error, (RedisConnectionError, ConnectionError)) and not isinstance(
        error, RedisTimeoutError
    )


class _Retries:
    """Publications whose Redis part failed, oldest first, retried on one task until sent or expired."""

    def __init__(self, layer: ChannelLayer) -> None:
        self.layer = layer
        self.items: collections.deque[tuple[float, str, dict[str, Any]]] = collections.deque()
        # Per group, its publications queued or being sent from the queue: a later one for that
        # group waits behind them, in order; one for another group need not, once the queue is
        # draining (Redis answers and the restore barrier is down).
        self.pending: collections.Counter[str] = collections.Counter()
        self.draining = False
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.given_up = 0
        # Redis refused connections since the last successful send: it may come back empty
        # (restarted), so the queue waits RETRY_SETTLE once it answers, whether or not this process
        # can tell (only processes with sockets keep a marker key).
        self.refused = False

    def add(self, group: str, message: dict[str, Any], error: BaseException | None = None) -> None:
        if _refused(error):
            self.refused = True
        if not self.items and error is not None:
            logger.warning("channel layer: publishing through Redis failed (%r); queued for retry", error)
        self.items.append((time.monotonic(), group, message))
        self.pending[group] += 1
        self._call(self.layer.queued, group, message)
        while len(self.items) > RETRY_QUEUE_MAX:
            _, old_group, old_message = self.items.popleft()
            self._give_up(old_group, old_message)
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def holds(self, group: str) -> bool:
        """Whether a new publication for `group` must queue: behind its group's, in order, or
        behind all of them while Redis does not answer yet or the groups are being restored."""
        return self.pending[group] > 0 or (bool(self.items) and not self.draining)

    async def _run(self) -> None:
        try:
            while self.items:
                self.draining = False
                await self._until_redis_answers()
                await self._settle()
                self.refused = False
                self.draining = True
                sent = 0
                while self.items:
                    self._expire()
                    batch = [self.items.popleft() for _ in range(min(RETRY_BATCH, len(self.items)))]
                    unsent = await self._send_batch(batch)
                    sent += len(batch) - len(unsent)
                    if unsent:  # back at the head, in their order
                        self.items.extendleft(reversed(unsent))
                        await asyncio.sleep(RETRY_POLL)
                        break
                self.sent += sent
                if sent:
                    logger.warning("channel layer: %d publication(s) sent after retrying", sent)
        finally:
            self._task = None
            self.draining = False

    async def _send_batch(
        self, batch: list[tuple[float, str, dict[str, Any]]]
    ) -> list[tuple[float, str, dict[str, Any]]]:
        """Each group's publications in order, the groups side by side (a backlog of thousands
        one after another took seconds); returns what was not sent, in the batch's order."""
        by_group: dict[str, list[tuple[float, str, dict[str, Any]]]] = {}
        for item in batch:
            by_group.setdefault(item[1], []).append(item)
        failed: set[int] = set()
        slots = asyncio.Semaphore(RETRY_CONCURRENCY)  # a few connections, not one per group

        async def send_group(items: list[tuple[float, str, dict[str, Any]]]) -> None:
            for index, item in enumerate(items):
                try:
                    async with slots, asyncio.timeout(REMOTE_TIMEOUT):
                        await self.layer._group_send_remote(item[1], item[2])
                except _REDIS_FAILURES as exc:
                    self.refused = self.refused or _refused(exc)
                    failed.update(id(rest) for rest in items[index:])
                    return
                self._sent(item[1])
                self._call(self.layer.retried, item[1], item[2])

        await asyncio.gather(*(send_group(items) for items in by_group.values()))
        return [item for item in batch if id(item) in failed]

    async def _settle(self) -> None:
        """After Redis refused connections it may be back empty: wait for the other processes
        listed before to be listed again (at once if Redis kept its data; once they have put their
        sockets back in their groups if it lost it); RETRY_SETTLE when this process does not know
        them. A process with a marker asks it first, which tells a loss of its own data too."""
        if self.refused:
            if self.layer.marker_set:
                with contextlib.suppress(*_REDIS_FAILURES):
                    async with asyncio.timeout(REMOTE_TIMEOUT):
                        await self.layer.assert_marker()
            self.layer.data_lost()
        await self.layer.until_restored()

    async def _until_redis_answers(self) -> None:
        while True:
            try:
                async with asyncio.timeout(REMOTE_TIMEOUT):
                    await self.layer.ping()
                return
            except _REDIS_FAILURES as exc:
                self.refused = self.refused or _refused(exc)
                self._expire()
                await asyncio.sleep(RETRY_POLL)

    def _expire(self) -> None:
        now = time.monotonic()
        limit = conf.undelivered_push_seconds()
        while self.items and now - self.items[0][0] > limit:
            _, group, message = self.items.popleft()
            self._give_up(group, message)

    def _sent(self, group: str) -> None:
        self.pending[group] -= 1
        if self.pending[group] <= 0:
            del self.pending[group]

    def _give_up(self, group: str, message: dict[str, Any]) -> None:
        self._sent(group)
        self.given_up += 1
        logger.error(
            "channel layer: publication to %s undelivered after %ss without Redis",
            group,
            conf.undelivered_push_seconds(),
        )
        self._call(self.layer.undelivered, group, message)

    @staticmethod
    def _call(hook: Hook | None, group: str, message: dict[str, Any]) -> None:
        if hook is None:
            return
        try:
            result = hook(group, message)
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                _hook_tasks.add(task)  # the loop keeps only a weak reference to a task
                task.add_done_callback(_hook_tasks.discard)
        except Exception:
            logger.exception("channel layer: a retry queue hook failed")


class ChannelLayer(RedisChannelLayer):
    _bzmpop = True  # until Redis says it does not know it (before 7.0)
    _group_send_script: Any = None  # one redis-py Script (its SHA computed once), run on any connection
    # Called with (group, message) for a publication that could not reach Redis within `expiry`;
    # for one that enters the retry queue; for one sent from it.
    undelivered: Hook | None = None
    queued: Hook | None = None
    retried: Hook | None = None
    _retries: _Retries | None = None

    def retries(self) -> _Retries:
        if self._retries is None:
            self._retries = _Retries(self)
        return self._retries

    marker_set = False
    settle_until = 0.0

    async def ping(self) -> None:
        """Raises unless Redis answers (the first host: the one every group hashes to when alone)."""
        await self.connection(0).ping()

    @property
    def marker_key(self) -> str:
        return f"{self.prefix}alive.{self.client_prefix}"

    @property
    def peers_key(self) -> str:
        return f"{self.prefix}processes"

    # The processes listed in the last round before a loss of data (None: this process keeps no
    # marker, so it does not know them), and those of them not listed again since the loss.
    peers: frozenset[str] | None = None
    awaited: frozenset[str] = frozenset()
    peers_known_at_loss = False
    _peers_read_at = 0.0
    _assert_script: Any = None

    async def assert_marker(self) -> bool:
        """Keep this process's marker key in Redis, and this process in the list of live ones;
        True when the marker was missing although this process had set it: Redis lost its data (a
        restart without persistence, a failover), and with it the group memberships of every
        process's sockets. This process is then not listed until it calls again (after putting
        its sockets back in their groups)."""
        connection = self.connection(0)
        if self._assert_script is None:
            self._assert_script = connection.register_script(_ASSERT_MARKER)
        lost, *rest = await self._assert_script(
            keys=[self.marker_key, self.peers_key],
            args=[MARKER_TTL, PEER_STALE_SECONDS, self.client_prefix, "1" if self.marker_set else "0"],
            client=connection,
        )
        self.marker_set = True
        if lost:
            self.data_lost()
            await pump.recover(self)
            return True
        self.peers = frozenset(name.decode() for name in rest[0])
        return False

    def data_lost(self) -> None:
        """Publications wait (in the retry queue) while every other process puts its sockets'
        group memberships back: until those listed before are listed again (`until_restored`),
        at most RETRY_SETTLE_MAX; RETRY_SETTLE when this process knows none."""
        if time.monotonic() < self.settle_until:
            return  # noticed already: the barrier stands
        awaited = (self.peers or frozenset()) - {self.client_prefix}
        if not awaited:
            # None known (this process keeps no marker, or its last round came before the others
            # listed themselves): the fixed wait, which their watches need far less than.
            self.peers_known_at_loss = False
            self.settle_until = time.monotonic() + RETRY_SETTLE
            return
        self.peers_known_at_loss = True
        self.awaited = awaited
        self.settle_until = time.monotonic() + RETRY_SETTLE_MAX

    async def until_restored(self) -> None:
        """Return once the processes awaited after a loss of data are listed again (or the
        barrier's time is up); at once when there is no barrier."""
        while time.monotonic() < self.settle_until:
            if self.peers_known_at_loss:
                if self.awaited:
                    try:
                        async with asyncio.timeout(REMOTE_TIMEOUT):
                            listed = await self.connection(0).zrange(self.peers_key, 0, -1)
                        self.awaited -= {name.decode() for name in listed}
                    except _REDIS_FAILURES:
                        pass  # asked again after RESTORE_POLL, until the barrier's time is up
                if not self.awaited:
                    self.settle_until = 0.0
                    return
            await asyncio.sleep(RESTORE_POLL)

    async def restore_groups(self, members: dict[str, list[str]]) -> None:
        """Put channels back in their groups, all at once (one round trip per Redis host), as
        `group_add` would one by one: after Redis lost its data, this process's sockets are
        members again before the other processes' retry queues send what waited
        (`RETRY_SETTLE`), whatever else each socket has queued."""
        now = time.time()
        by_host: dict[int, list[tuple[str, list[str]]]] = {}
        for group, channels in members.items():
            by_host.setdefault(self.consistent_hash(group), []).append((group, channels))
        for index, groups in by_host.items():
            async with self.connection(index).pipeline(transaction=False) as pipe:
                for group, channels in groups:
                    key = upstream.group_key(self, group)
                    pipe.zadd(key, dict.fromkeys(channels, now))
                    pipe.expire(key, self.group_expiry)
                await pipe.execute()

    async def group_add(self, group: str, channel: str) -> None:
        pump.join(self, group, channel)
        await super().group_add(group, channel)
        if not self.marker_set and pump.is_local(self, channel):
            # The first membership of this process's sockets: the marker goes with it, so that a
            # loss of Redis's data from now on is noticed (the watch's first round may come after).
            await self.assert_marker()

    async def group_discard(self, group: str, channel: str) -> None:
        pump.leave(self, group, channel)
        await super().group_discard(group, channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert self.require_valid_group_name(group), "Group name not valid"
        pump.deliver_to_group(self, group, message)
        retries = self._retries
        if retries is not None and retries.holds(group):  # behind the earlier ones that wait, in order
            retries.add(group, message)
            return
        if time.monotonic() < self.settle_until:  # Redis just lost its data: groups are refilling
            self.retries().add(group, message, RedisDataLost("Redis lost its data"))
            return
        try:
            async with asyncio.timeout(REMOTE_TIMEOUT):
                await self._group_send_remote(group, message)
        except _REDIS_FAILURES as exc:
            self.retries().add(group, message, exc)

    async def _group_send_remote(self, group: str, message: dict[str, Any]) -> None:
        """The members on other processes, through Redis."""
        key = upstream.group_key(self, group)
        index = self.consistent_hash(group)
        connection = self.connection(index)
        marker = self.marker_key if self.marker_set and index == 0 else None
        # A process without a marker (no sockets) learns the live processes here, now and then.
        read_peers = (
            not self.marker_set and index == 0 and time.monotonic() - self._peers_read_at > PEERS_READ_SECONDS
        )
        async with connection.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
            pipe.zrange(key, 0, -1)
            if marker is not None:
                pipe.exists(marker)
            if read_peers:
                pipe.zrange(self.peers_key, 0, -1)
            _, members, *rest = await pipe.execute()
        if read_peers:
            self.peers = frozenset(name.decode() for name in rest.pop())
            self._peers_read_at = time.monotonic()
        if rest and not rest[0]:
            # Redis lost its data (a restart): the group may lack members whose processes have
            # not put them back yet; the retry queue sends it once they have.
            self.data_lost()
            raise RedisDataLost("Redis lost its data")
        if time.monotonic() < self.settle_until:  # the loss was noticed while this read ran
            raise RedisDataLost("Redis lost its data")
        remote = [name for name in (m.decode("utf8") for m in members) if not pump.is_local(self, name)]
        if remote:
            await self._send_to_channels(group, remote, message)

    async def _send_to_channels(self, group: str, channel_names: list[str], message: dict[str, Any]) -> None:
        by_connection, messages, capacities = upstream.channel_keys_by_connection(
            self, channel_names, message
        )
        for index, keys in by_connection.items():
            args = [*(messages[k] for k in keys), *(capacities[k] for k in keys), time.time(), self.expiry]
            connection = self.connection(index)
            if self._group_send_script is None:
                self._group_send_script = connection.register_script(_GROUP_SEND)
            over = await self._group_send_script(keys=keys, args=args, client=connection)
            if over > 0:  # channels_redis's own logger and words
                channels_redis_logger.info(
                    "%s of %s channels over capacity in group %s", over, len(channel_names), group
                )

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
