"""The After Hours bridge: Redis channel `after_hours:events` -> this process's sockets.

The After Hours schedulers publish `{type, targetUserId, payload, timestamp}` envelopes
(profiles.after_hours.events). Every server process runs ONE subscriber, started on its event loop
when its first socket connects, and relays each whitelisted event (named after its type, payload
unchanged) to the target user's sockets *in this process only*, straight from the process's socket
registry (`chat.realtime.registry`). Every process hears every event and each
delivers to its own sockets, so each socket gets each event exactly once however many processes
run (docs/contract.md, D26). The original relayed through the Socket.IO Redis adapter instead, so with N
instances every event arrived N times; a `group_send` to `user.<id>` here would do the same.

Robustness:
* Reads block without a read timeout (`get_message(timeout=None)`, which redis-py 8 reads with no
  timeout at all rather than its default 5 s socket timeout), so an idle channel is not an error.
  A per-read timeout would cost a timer per message and halve the throughput of a burst. A
  watchdog instead PINGs an idle connection every 15 s; no reply within 10 s (a half-open
  connection, a hung server) drops the connection.
* Any Redis error drops the connection; the bridge reconnects and subscribes again with a
  backoff (0.1 s doubling to 0.25 s: with 2 s, as before, the bridge came back up to 2 s after
  Redis; a failed attempt costs a refused connection), so events flow again once Redis is back.
  Events published while it is down are lost, as pub/sub is fire-and-forget (clients also poll).
* RESP2 on its connection: redis-py's pure-Python RESP3 parser is slower for pub/sub pushes.
* Malformed envelopes (not JSON, not an object, missing or mistyped fields, over 64 KB) and types
  outside the whitelist are dropped and counted; their content is never logged.
* Shutdown: `close()` is registered with the shutdown coordinator at `Stage.BRIDGE`, so it runs
  before the channel layer, Redis clients and database are closed: UNSUBSCRIBE, let the reader
  finish on the confirmation, then close the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from chat.realtime import registry
from chat.realtime.groups import emit_message
from vlvt.server.shutdown import Stage, coordinator, register_closer

logger = logging.getLogger("vlvt.realtime.after_hours_bridge")

CLOSER_NAME = "after hours bridge"
WHITELIST = frozenset(
    {
        "after_hours:match",
        "after_hours:no_matches",
        "after_hours:match_expired",
        "after_hours:session_expiring",
        "after_hours:session_expired",
    }
)
MAX_ENVELOPE_BYTES = 64 * 1024
PING_INTERVAL = 15.0  # seconds of silence before the watchdog asks the server
PONG_TIMEOUT = 10.0
RECONNECT_MIN = 0.1
RECONNECT_MAX = 0.25
CLOSE_TIMEOUT = 2.0

Deliver = Callable[[str, str, dict[str, Any]], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Envelope:
    type: str
    target_user_id: str
    payload: dict[str, Any]


def parse_envelope(raw: bytes | str) -> Envelope | None:
    """The envelope of a published message, or None when it is malformed (any type allowed)."""
    if len(raw) > MAX_ENVELOPE_BYTES:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    kind, target, payload = data.get("type"), data.get("targetUserId"), data.get("payload")
    if (
        not isinstance(kind, str)
        or not isinstance(target, str)
        or not target
        or not isinstance(payload, dict)
    ):
        return None
    return Envelope(kind, target, payload)


async def deliver_to_local_sockets(user_id: str, event: str, payload: dict[str, Any]) -> int:
    """Emit to each socket of `user_id` served by this process; returns how many got it."""
    message = emit_message(event, payload)
    delivered = 0
    for consumer in registry.sockets_of(user_id):
        try:
            await consumer.socket_emit(message)
            delivered += 1
        except Exception:  # one broken socket must not cost the others their event
            logger.exception("after hours bridge: delivery to a socket failed")
    return delivered


class AfterHoursBridge:
    def __init__(self, *, url: str, channel: str, deliver: Deliver = deliver_to_local_sockets) -> None:
        self.url = url
        self.channel = channel
        self._deliver = deliver
        self._client: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._delay = RECONNECT_MIN
        self._failures = 0
        self._heard_at = 0.0  # loop time of the last reply on the connection
        self.loop: asyncio.AbstractEventLoop | None = None
        self.subscriptions = 0  # confirmed SUBSCRIBEs (1 + resubscriptions)
        self.relayed = 0
        self.dropped = 0

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._task = self.loop.create_task(self._run(), name="after-hours-bridge")

    # -- the subscriber loop ------------------------------------------------------------------
    async def _run(self) -> None:
        while not self.stopping:
            try:
                await self._subscribe()
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self.stopping:
                    self._lost(exc)
            finally:
                await self._disconnect()
            if not self.stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._delay)
                self._delay = min(self._delay * 2, RECONNECT_MAX)

    def _lost(self, exc: Exception) -> None:
        self._failures += 1
        level = logging.WARNING if self._failures == 1 else logging.DEBUG
        logger.log(
            level,
            "after hours bridge: Redis unavailable (%s); resubscribing in %.1f s",
            type(exc).__name__,
            self._delay,
        )

    async def _subscribe(self) -> None:
        self._client = aioredis.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0),  # errors come straight here; _run owns reconnecting
            socket_connect_timeout=5,
            socket_timeout=5,  # for commands; the reads below opt out of it
            protocol=2,
        )
        self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(self.channel)

    async def _read(self) -> None:
        pubsub = self._pubsub
        loop = asyncio.get_running_loop()
        self._heard_at = loop.time()
        watchdog = loop.create_task(self._watch(pubsub), name="after-hours-bridge-watchdog")
        try:
            while not self.stopping:
                message = await pubsub.get_message(timeout=None)
                self._heard_at = loop.time()
                if message is None or self.stopping:
                    continue
                if message["type"] == "message":
                    await self._relay(message["data"])
                elif message["type"] == "subscribe":
                    self._subscribed()
        finally:
            watchdog.cancel()

    async def _watch(self, pubsub: Any) -> None:
        """PING a silent connection; drop it when the answer does not come (the read then fails)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(PING_INTERVAL)
            if loop.time() - self._heard_at < PING_INTERVAL:
                continue
            asked_at = loop.time()
            try:
                await asyncio.wait_for(pubsub.ping(), PONG_TIMEOUT)
                await asyncio.sleep(PONG_TIMEOUT)
            except Exception:
                pass
            if self._heard_at < asked_at:
                logger.warning("after hours bridge: no answer to PING in %.0f s; reconnecting", PONG_TIMEOUT)
                connection = pubsub.connection
                if connection is not None:
                    await connection.disconnect(nowait=True)
                return

    def _subscribed(self) -> None:
        self.subscriptions += 1
        self._delay = RECONNECT_MIN
        if self.subscriptions > 1:
            # Said whether or not a reconnect attempt failed first: a Redis back before the bridge
            # noticed it was gone is still a resubscription.
            logger.info(
                "after hours bridge: resubscribed to %s after %d failed attempt(s)",
                self.channel,
                self._failures,
            )
        else:
            logger.info("after hours bridge: subscribed to %s", self.channel)
        self._failures = 0

    async def _relay(self, raw: bytes | str) -> None:
        envelope = parse_envelope(raw)
        if envelope is None:
            self.dropped += 1
            logger.warning("after hours bridge: malformed event dropped (%d bytes)", len(raw))
            return
        if envelope.type not in WHITELIST:
            self.dropped += 1
            logger.info("after hours bridge: event type not relayed", extra={"event": envelope.type[:100]})
            return
        try:
            await self._deliver(envelope.target_user_id, envelope.type, envelope.payload)
        except Exception:  # a delivery bug must not cost the subscription
            logger.exception("after hours bridge: relay failed")
            return
        self.relayed += 1

    async def _disconnect(self) -> None:
        pubsub, client = self._pubsub, self._client
        self._pubsub = self._client = None
        for close in (getattr(pubsub, "aclose", None), getattr(client, "aclose", None)):
            if close is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(close(), CLOSE_TIMEOUT)

    # -- shutdown -----------------------------------------------------------------------------
    async def close(self) -> None:
        """Unsubscribe, let the reader finish, then close the connection (bounded in time)."""
        self._stop.set()
        if self._pubsub is not None and self.subscriptions:
            try:
                await asyncio.wait_for(self._pubsub.unsubscribe(self.channel), CLOSE_TIMEOUT)
            except Exception as exc:  # Redis may be gone; closing the connection ends it anyway
                logger.warning("after hours bridge: UNSUBSCRIBE failed (%s)", type(exc).__name__)
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), CLOSE_TIMEOUT)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            except Exception:
                pass
        await self._disconnect()
        logger.info(
            "after hours bridge: unsubscribed and closed (%d relayed, %d dropped)", self.relayed, self.dropped
        )


_bridge: AfterHoursBridge | None = None


def current() -> AfterHoursBridge | None:
    return _bridge


def ensure_started() -> AfterHoursBridge | None:
    """Start this process's bridge on the running loop unless it runs already (cheap to call on
    every connect). Not while the process is shutting down."""
    global _bridge
    loop = asyncio.get_running_loop()
    running = _bridge
    if running is not None and running.loop is loop and not running.stopping:
        return running
    if not coordinator().accepting:
        return None
    bridge = AfterHoursBridge(url=settings.REDIS_URL, channel=settings.AFTER_HOURS_EVENTS_CHANNEL)
    bridge.start()
    register_closer(CLOSER_NAME, bridge.close, stage=Stage.BRIDGE)
    _bridge = bridge
    return bridge
