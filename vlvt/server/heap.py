"""The web process's garbage collector, set for a server that keeps what it loads for its life.

A Daphne process holds some 160,000 objects once Django, the URLconf and every view module are
loaded, and they stay for as long as it runs. With CPython's default thresholds (700, 10, 10) a
process under load collected the youngest generation every few milliseconds and ran a full
collection over all of them several times a minute: 7% of its CPU, and full collections of 70 to
140 ms (500 ms on a busy machine) with every request of the process waiting, which was the
longest part of the latency tail. So, once everything is loaded, the heap is frozen (those
objects are never scanned again) and collections run after 10,000 new container objects instead
of 700: a request's short-lived objects are mostly freed by reference counting before the next
collection and no longer get promoted on to the full collection's generation. Cycles are still
collected; the full collection, now over what was made since start-up, comes far less often.
"""

from __future__ import annotations

import gc

from django.urls import get_resolver

# (youngest generation, collections of it per middle one, of the middle one per full collection)
THRESHOLDS = (10_000, 20, 100)


def settle_heap() -> None:
    """Load what the first requests would load, collect once, freeze the rest, raise thresholds.
    Called once, at the end of building the ASGI application (vlvt/asgi.py)."""
    get_resolver().url_patterns  # noqa: B018 - imports every view module of the URLconf
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
