"""The typed rejection every chat service raises.

It is an `ApiError`, so a view lets it propagate and the HTTP layer answers with `status` and
`{success:false, error, **extra}`. The socket consumer answers with `exc.ack()`, which carries the
socket wording where the original's two transports differ ("Unauthorized" on the socket,
"Forbidden: You are not part of this match" over HTTP).
"""

from __future__ import annotations

from typing import Any

from vlvt.http.api import ApiError


class ChatError(ApiError):
    def __init__(self, status: int, error: str, *, ack_error: str | None = None, **extra: Any) -> None:
        super().__init__(status, error, **extra)
        self.ack_error = ack_error or error

    def ack(self) -> dict[str, Any]:
        return {"success": False, "error": self.ack_error, **self.extra}


NOT_PART_OF_MATCH = "Forbidden: You are not part of this match"


def not_found_match() -> ChatError:
    """A missing match: the HTTP routes answer as for a foreign one (no existence oracle)."""
    return ChatError(403, NOT_PART_OF_MATCH, ack_error="Match not found")


def not_participant() -> ChatError:
    return ChatError(403, NOT_PART_OF_MATCH, ack_error="Unauthorized")
