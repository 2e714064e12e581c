"""Connections shared evenly between the processes that accept on one listening socket.

Several Daphne processes serving one socket (`--fd`) are all woken when a connection arrives, and
whichever calls accept() first takes it. Keep-alive clients connect once and stay, so an early
uneven split (17/33 of wrk's 50 connections was seen) lasts as long as they do: one process's core
queues twice the requests while the other idles, and the tail doubles. A node cluster's primary
deals connections round-robin instead.

Here each process publishes how many connections it holds in a small table shared by every
process on the same listening socket (a file in /dev/shm named after the socket's inode, which all
holders of the socket see alike), and accepts only while no live peer holds fewer: a process
ahead of its share steps back from the socket for a few milliseconds and lets the others take
the connection. Two processes therefore never differ by more than one connection.

A peer counts as live while its process exists and its event loop beats (every 0.25 s); one that
is gone, or stopped beating for `STALE_SECONDS` (stuck), is ignored, so connections are never held back for a peer that
cannot take them. A draining process leaves the table when it stops listening.

The same table places the processes on CPUs (`vlvt.server.affinity`, `CPU_AFFINITY`): after the
slots comes one CPU per slot, so a process joining, or one moving on a later beat, sees where its
peers run. (Kept apart from the slots so that a table written by a process of an earlier release,
which has only the slots, is read alike by both.)

A process killed outright (SIGKILL, the OOM killer) never leaves, and a table whose processes were
all killed would stay in /dev/shm for good; each process therefore sweeps such tables when it
starts listening (`sweep_orphans`). A table is only ever removed under its lock and while its name
still points at it, and a joining process checks, once it holds the lock, that the file it opened
is still the one the name points at (else it opens the name again): so a process joining while its
table is swept, or while the table's last process leaves, never ends up alone in a removed file.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import socket
import struct
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from twisted.internet import task, tcp

from vlvt.server import affinity, upstream

logger = logging.getLogger("vlvt.shutdown")

SLOTS = 32
# pid, connections held, last beat (time.monotonic(): one clock for every process of a machine)
_SLOT = struct.Struct("=iid")
_PID = struct.Struct("=i")
_COUNT = struct.Struct("=i")
_BEAT = struct.Struct("=d")
# After the slots: each slot's CPU plus one (0: not placed).
_CPU = struct.Struct("=i")
_CPUS_AT = SLOTS * _SLOT.size
TABLE_BYTES = _CPUS_AT + SLOTS * _CPU.size
STALE_SECONDS = 2.0
BEAT_SECONDS = 0.25
# How long a process ahead of its share stays off the socket before it looks again.
_STEP_BACK_SECONDS = 0.005


_TABLE_PREFIX = "vlvt-accept-"


def _table_dir() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def table_path(sock: socket.socket) -> Path:
    """The table of the processes sharing `sock` (its inode is the same through every holder)."""
    info = os.fstat(sock.fileno())
    return _table_dir() / f"{_TABLE_PREFIX}{info.st_dev}-{info.st_ino}"


class AcceptBalance:
    """This process's slot in the table of one listening socket."""

    def __init__(self, path: Path, table: mmap.mmap, slot: int, cpus: list[int] | None = None) -> None:
        self.path = path
        self._table = table
        self._slot = slot
        self._offset = slot * _SLOT.size
        self.connections = 0
        # The CPUs this process may be placed on; None: placement is left to the kernel.
        self.cpus = cpus
        self.cpu: int | None = None

    @classmethod
    def join(cls, sock: socket.socket, *, place: bool = False) -> AcceptBalance:
        """A slot in `sock`'s table; with `place`, this process pinned to the CPU it chose there."""
        path = table_path(sock)
        allowed = affinity.allowed_cpus() if place else []
        with _locked(path, create=True) as fd:
            if fd is None:  # (only a lock taken without waiting is given up)
                raise OSError(f"{path} could not be opened")
            if os.fstat(fd).st_size < TABLE_BYTES:
                os.ftruncate(fd, TABLE_BYTES)
            table = mmap.mmap(fd, TABLE_BYTES)
            slot = _free_slot(table, time.monotonic())
            _SLOT.pack_into(table, slot * _SLOT.size, os.getpid(), 0, time.monotonic())
            joined = cls(path, table, slot, allowed if len(allowed) > 1 else None)
            joined._place()
        return joined

    def _peer_cpus(self) -> list[int]:
        """The CPUs of the peers that own a slot and were placed."""
        cpus = []
        for slot in _owned_slots(self._table, time.monotonic()):
            (cpu,) = _CPU.unpack_from(self._table, _CPUS_AT + slot * _CPU.size)
            if slot != self._slot and cpu:
                cpus.append(cpu - 1)
        return cpus

    def _place(self) -> None:
        """Pinned to the emptiest allowed CPU, published (under the table's lock)."""
        if self.cpus is None:
            return
        cpu = affinity.choose(self.cpus, self._peer_cpus(), os.getpid())
        if cpu == self.cpu:
            return
        affinity.pin({cpu})
        _CPU.pack_into(self._table, _CPUS_AT + self._slot * _CPU.size, cpu + 1)
        if self.cpu is not None:
            logger.info("cpu placement: moved from CPU %d to CPU %d, which fewer peers share", self.cpu, cpu)
        self.cpu = cpu

    def rebalance(self) -> None:
        """Move to an emptier CPU when this one holds two more peers (checked without the lock,
        decided under it: of two processes on one crowded CPU only the first moves)."""
        if self.cpus is None or self.cpu is None or self._table.closed:
            return
        if not affinity.crowded(self.cpus, self.cpu, self._peer_cpus()):
            return
        with _locked(self.path, wait=False) as fd:
            if fd is not None and affinity.crowded(self.cpus, self.cpu, self._peer_cpus()):
                self._place()

    def opened(self) -> None:
        self.connections += 1
        if not self._table.closed:  # (closed once listening stopped: nobody reads it then)
            _COUNT.pack_into(self._table, self._offset + 4, self.connections)

    def closed(self) -> None:
        self.connections -= 1
        if not self._table.closed:
            _COUNT.pack_into(self._table, self._offset + 4, self.connections)

    def beat(self) -> None:
        _BEAT.pack_into(self._table, self._offset + 8, time.monotonic())
        self.rebalance()

    def my_turn(self) -> bool:
        """True unless a live peer holds fewer connections than this process."""
        now = time.monotonic()
        mine = self.connections
        for offset in range(0, SLOTS * _SLOT.size, _SLOT.size):
            if offset == self._offset:
                continue
            pid, held, beat = _SLOT.unpack_from(self._table, offset)
            if pid and held < mine and now - beat < STALE_SECONDS and _alive(pid):
                return False
        return True

    def leave(self) -> None:
        """Out of the table (listening stopped); the table's file goes with its last process."""
        if self._table.closed:
            return
        _SLOT.pack_into(self._table, self._offset, 0, 0, 0.0)
        _CPU.pack_into(self._table, _CPUS_AT + self._slot * _CPU.size, 0)
        try:
            with _locked(self.path) as fd:
                if fd is not None and not _owned_slots(self._table, time.monotonic()):
                    self.path.unlink()
        except OSError as exc:  # the slot is empty already; the sweep removes the file later
            logger.warning("accept balance: could not check %s on leaving: %r", self.path.name, exc)
        finally:
            self._table.close()


@contextmanager
def _locked(path: Path, *, create: bool = False, wait: bool = True) -> Iterator[int | None]:
    """The table's file open and locked, and still the file `path` names; None when there is none
    (or, with `wait` false, when another process holds the lock). `create` makes a missing one.

    Removing a table happens under its lock; a process that opened the file just before must not
    then write its slot into the removed file, where its peers never look: it opens the name again.
    """
    fd = _open_locked(path, create=create, wait=wait)
    try:
        yield fd
    finally:
        if fd is not None:
            # Unlocked explicitly: a mapping keeps a duplicate of `fd`, which would hold the lock.
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _open_locked(path: Path, *, create: bool, wait: bool) -> int | None:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o600)
        except FileNotFoundError:
            if create:  # the directory itself is missing
                raise
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        if _named_by(path, fd):
            return fd
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        if not create:
            return None


def _named_by(path: Path, fd: int) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def sweep_orphans(directory: Path | None = None) -> list[Path]:
    """Remove the tables none of whose processes is left, and return them.

    A table stays while one of its slots is owned (`_owned_slots`), and while another process
    holds it locked (joining or leaving: it is in use)."""
    removed = []
    for path in sorted((directory or _table_dir()).glob(_TABLE_PREFIX + "*")):
        try:
            with _locked(path, wait=False) as fd:
                if fd is not None and not _owned_slots(os.pread(fd, SLOTS * _SLOT.size, 0), time.monotonic()):
                    path.unlink()
                    removed.append(path)
        except OSError as exc:  # another user's table, say: not ours to judge
            logger.debug("accept balance: %s not swept: %r", path.name, exc)
    return removed


def _alive(pid: int) -> bool:
    """False once the process is gone: a peer killed outright would otherwise be waited for until
    its last beat is stale."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _owned_slots(table: mmap.mmap | bytes, now: float) -> list[int]:
    """The slots that still belong to a process: one that exists (a stuck one too: it may carry
    on), or one that beat within `STALE_SECONDS` (a process in another PID namespace sharing
    /dev/shm, which `_alive` cannot see, still beats)."""
    owned = []
    for slot in range(min(SLOTS, len(table) // _SLOT.size)):
        pid, _held, beat = _SLOT.unpack_from(table, slot * _SLOT.size)
        if pid and (now - beat < STALE_SECONDS or _alive(pid)):
            owned.append(slot)
    return owned


def _free_slot(table: mmap.mmap, now: float) -> int:
    owned = set(_owned_slots(table, now))
    for slot in range(SLOTS):
        if slot not in owned:
            return slot
    raise RuntimeError(f"more than {SLOTS} processes accept on one socket")


class _CountedServer(tcp.Server):
    """Twisted's accepted-connection transport, counted in its port's table while it is open."""

    def __init__(self, sock: socket.socket, protocol: Any, client: Any, server: Any, *args: Any) -> None:
        super().__init__(sock, protocol, client, server, *args)
        self._balance: AcceptBalance | None = getattr(server, "balance", None)
        if self._balance is not None:
            self._balance.opened()

    def connectionLost(self, reason: Any) -> None:  # noqa: N802 (Twisted's name)
        balance, self._balance = self._balance, None
        try:
            super().connectionLost(reason)
        finally:
            if balance is not None:
                balance.closed()


def accept_evenly(port: Any, reactor: Any, *, place: bool = False) -> None:
    """Make a listening `tcp.Port` take one connection per wake-up, and only when no live peer on
    the same socket holds fewer (see the module's docstring). `port.accept_backlog()` still takes
    everything waiting (for when listening stops); `port.balance.leave()` quits the table. With
    `place`, the process is pinned to a CPU chosen in the same table (`vlvt.server.affinity`)."""
    accept = port.doRead
    port.accept_backlog = accept
    port.balance = None
    if port.transport is tcp.Server:
        _sweep()
        try:
            port.balance = AcceptBalance.join(port.socket, place=place)
        except (OSError, RuntimeError) as exc:  # takes connections as they come instead
            logger.warning("accept balance unavailable: %r", exc)
            if place:  # placed alone, without its peers' view
                allowed = affinity.allowed_cpus()
                affinity.pin({affinity.choose(allowed, [], os.getpid())})
    if port.balance is not None:
        port.transport = _CountedServer
        beats = task.LoopingCall(port.balance.beat)
        beats.clock = reactor
        beats.start(BEAT_SECONDS)
        port.balance_beats = beats

    def resume() -> None:
        if port.connected and not port.disconnecting:
            port.startReading()

    def accept_one() -> Any:
        if port.balance is not None and not port.balance.my_turn():
            port.stopReading()  # a peer with fewer connections takes this one
            reactor.callLater(_STEP_BACK_SECONDS, resume)
            return None
        upstream.limit_accepts(port, 1)  # Twisted raises it again after every accept
        return accept()

    port.doRead = accept_one


def _sweep() -> None:
    try:
        removed = sweep_orphans()
    except OSError as exc:  # the tables stay; balancing does not depend on it
        logger.warning("accept balance: sweep failed: %r", exc)
        return
    for path in removed:
        logger.info("accept balance: removed %s, left by processes that are gone", path.name)


def leave(port: Any) -> None:
    beats = getattr(port, "balance_beats", None)
    if beats is not None and beats.running:
        beats.stop()
    balance = getattr(port, "balance", None)
    if balance is not None:
        port.balance = None
        balance.leave()
