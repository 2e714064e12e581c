"""A process-wide value made on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from django.core.signals import setting_changed

T = TypeVar("T")


class Lazy(Generic[T]):
    """`make()`'s value, made on the first `get()` and only once even when threads race for it;
    `set()` replaces it (None: made again on the next use). With `made_from`, a test's change of a
    setting it names (`made_from(name)` true) makes it again on the next use."""

    def __init__(self, make: Callable[[], T], *, made_from: Callable[[str], bool] | None = None) -> None:
        self._make = make
        self._value: T | None = None
        self._lock = threading.Lock()
        self._made_from = made_from
        if made_from is not None:
            setting_changed.connect(self._setting_changed, weak=False)

    def _setting_changed(self, *, setting: str, **_: object) -> None:
        if self._made_from is not None and self._made_from(setting):
            self.set(None)

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                value = self._value
                if value is None:
                    value = self._value = self._make()
        return value

    def set(self, value: T | None) -> None:
        self._value = value
