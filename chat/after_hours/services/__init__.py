"""Writes of After Hours chat. Synchronous (the socket handlers call them through
`database_sync_to_async`), keyword-only, raising `ChatError` (`exc.ack()` is the socket ack)."""

from chat.after_hours.services.cleanup import PurgeStats, expired_matches_purge
from chat.after_hours.services.conversion import SaveResult, save_vote
from chat.after_hours.services.messages import (
    ABSENT,
    Relay,
    SentMessage,
    join_check,
    message_send,
    read_relay,
    typing_relay,
)
from chat.after_hours.services.safety import REPORT_REASONS, match_block, match_report

__all__ = [
    "ABSENT",
    "REPORT_REASONS",
    "PurgeStats",
    "Relay",
    "SaveResult",
    "SentMessage",
    "expired_matches_purge",
    "join_check",
    "match_block",
    "match_report",
    "message_send",
    "read_relay",
    "save_vote",
    "typing_relay",
]
