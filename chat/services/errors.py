"""Re-export: the error type lives in chat.errors (selectors raise it too)."""

from chat.errors import ChatError, not_found_match, not_participant

__all__ = ["ChatError", "not_found_match", "not_participant"]
