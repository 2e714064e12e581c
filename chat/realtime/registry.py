"""This process's connected sockets by user, for code that must reach only the local ones (the
After Hours bridge), and what happens when a socket joins it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

_SOCKETS: dict[str, set[Any]] = {}
# Called on every socket that completes its namespace CONNECT (set up in ChatConfig.ready()).
on_connect: list[Callable[[], object]] = []


def add(user_id: str, socket: Any) -> None:
    _SOCKETS.setdefault(user_id, set()).add(socket)
    for hook in on_connect:
        hook()


def discard(user_id: str, socket: Any) -> None:
    local = _SOCKETS.get(user_id)
    if local is not None:
        local.discard(socket)
        if not local:
            del _SOCKETS[user_id]


def sockets_of(user_id: str) -> list[Any]:
    """The user's sockets on this process, as a list (safe while sockets come and go)."""
    return list(_SOCKETS.get(user_id, ()))


def has_sockets(user_id: str) -> bool:
    """Whether the user has a socket on this process (one that completed its CONNECT and has not
    started leaving)."""
    return user_id in _SOCKETS


def all_sockets() -> Iterator[Any]:
    for sockets in list(_SOCKETS.values()):
        yield from list(sockets)
