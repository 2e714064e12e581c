"""The FCM stand-in of the tests (FCM is what leaves the machine): every send recorded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from profiles.push import Outcome, PushMessage, set_push_backend


@dataclass
class RecordingPush:
    """Records every send; tokens listed in `invalid` are reported unregistered."""

    sent: list[tuple[list[str], PushMessage]] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)

    def send(self, tokens: list[str], message: PushMessage) -> list[Outcome]:
        self.sent.append((list(tokens), message))
        return ["invalid_token" if t in self.invalid else "sent" for t in tokens]

    def by_token(self) -> dict[str, tuple[str, str, dict[str, str], str]]:
        """Each send by its first token: (title, body, data, Android channel)."""
        return {tokens[0]: (m.title, m.body, m.data, m.android_channel_id) for tokens, m in self.sent}


@contextmanager
def push_recorder() -> Iterator[RecordingPush]:
    """The push backend replaced by a recorder while the block runs."""
    recorder = RecordingPush()
    set_push_backend(recorder)
    try:
        yield recorder
    finally:
        set_push_backend(None)
