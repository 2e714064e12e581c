"""Each Daphne process on one CPU, and the processes of one socket spread over the CPUs.

A Daphne process runs Python on two kinds of thread: the event loop (Twisted, the sockets, the
channel layer) and the request threads (every view is synchronous), and every request hands the
GIL from one to the other and back. When the kernel puts those threads on different CPUs, each
hand-off wakes a thread on the other CPU (on a virtual machine an inter-processor interrupt, which
exits to the hypervisor) and the caches follow the data back and forth. Measured on a 2-vCPU
machine, one Daphne under `wrk -t2 -c50` on `GET /matches/:userId` served 500-700 requests per
second of its own CPU unpinned, and 896-968 with all its threads on one CPU (docs/performance.md).
Python runs one thread at a time per process anyway, so one CPU costs a process nothing it could
use, except C code that runs beside the GIL (image decoding: pyvips' threads, which then share
the process's CPU).

With `CPU_AFFINITY=auto` (the default) a process allowed more than one CPU keeps every thread on
one of them (threads started later inherit it). Which one is decided in the table the processes
accepting on one listening socket share (`vlvt.server.balance`): the allowed CPU with the fewest
live peers, ties broken by the process id (so lone processes, each in a table of its own, spread
at random). A process whose CPU holds two more peers than another (a rolling restart can leave
two replacements on one CPU) moves to the emptier one, under the table's lock so that only one of
them moves. `CPU_AFFINITY=off` leaves placement to the kernel.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence


def allowed_cpus() -> list[int]:
    """The CPUs this process may run on (a container's cpuset included), in order."""
    return sorted(os.sched_getaffinity(0))


def choose(allowed: Sequence[int], peers: Iterable[int], pid: int) -> int:
    """The allowed CPU with the fewest of `peers` (the CPUs of the live peers) on it; among those
    with as few, the one `pid` picks."""
    counts = Counter(cpu for cpu in peers if cpu in allowed)
    fewest = min(counts[cpu] for cpu in allowed)
    emptiest = [cpu for cpu in allowed if counts[cpu] == fewest]
    return emptiest[pid % len(emptiest)]


def crowded(allowed: Sequence[int], mine: int, peers: Iterable[int]) -> bool:
    """True when moving from `mine` to the emptiest allowed CPU leaves the processes more even:
    `mine` holds (with this process) at least two more than that CPU does."""
    counts = Counter(cpu for cpu in peers if cpu in allowed)
    return counts[mine] + 1 - min(counts[cpu] for cpu in allowed) >= 2


def pin(cpus: Iterable[int]) -> None:
    """Every thread of this process on `cpus`; a thread started later inherits its starter's."""
    wanted = set(cpus)
    for name in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(name), wanted)
        except ProcessLookupError:  # the thread ended meanwhile
            continue
