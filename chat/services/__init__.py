"""Writes of the chat domain, for the REST views and the socket consumer alike.

Every function is synchronous (the consumer calls them through `database_sync_to_async`), takes
keyword-only arguments and raises `ChatError` (an `ApiError`; `exc.ack()` is the socket ack).
"""

from chat.errors import ChatError
from chat.selectors import match_partner_ids, online_statuses
from chat.services.dates import (
    Place,
    date_proposal_cancel,
    date_proposal_confirm,
    date_proposal_create,
    date_proposal_respond,
    date_proposals_list,
)
from chat.services.delivery import messages_mark_delivered
from chat.services.devices import fcm_token_register, fcm_token_unregister
from chat.services.matches import match_confirm, match_delete
from chat.services.messages import (
    ReadResult,
    SendResult,
    TypingResult,
    message_fan_out,
    message_send,
    messages_mark_read,
    typing_set,
)
from chat.services.safety import block_create, block_delete, report_create

__all__ = [
    "ChatError",
    "Place",
    "ReadResult",
    "SendResult",
    "TypingResult",
    "block_create",
    "block_delete",
    "date_proposal_cancel",
    "date_proposal_confirm",
    "date_proposal_create",
    "date_proposal_respond",
    "date_proposals_list",
    "fcm_token_register",
    "fcm_token_unregister",
    "match_confirm",
    "match_delete",
    "match_partner_ids",
    "messages_mark_delivered",
    "message_fan_out",
    "message_send",
    "messages_mark_read",
    "online_statuses",
    "report_create",
    "typing_set",
]
