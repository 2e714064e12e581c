"""The After Hours client events, registered with the transport's `@handler` when ChatConfig.ready()
imports this module (docs/contract.md, "After Hours socket events").

Each parses the payload (a null, a list or a wrong type gets an error ack, docs/contract.md, D19), calls
one service, acks, and fans out after the ack (`ctx.defer`). Acks and their wording are the
original's; the shape errors have no original wording:

| event | payload not an object or matchId not a UUID | other shape errors |
|---|---|---|
| join_chat, leave_chat | `Invalid match ID format` | |
| send_message | `Invalid match ID` | tempId neither string nor integer: `Invalid message data` |
| typing | `Invalid match ID` | isTyping not a boolean: `Invalid typing data` |
| mark_read | `Invalid match ID` | messageIds not a list of strings: `Invalid read receipt data` |

Match rooms are the Channels groups `ah_match.<uuid>`; the consumer leaves them on disconnect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chat.after_hours import events, services
from chat.after_hours.selectors import parse_uuid
from chat.realtime.handlers import Ack, EventContext, error, handler
from chat.socket_handlers import call


def _field(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, dict) else None


@handler("after_hours:join_chat", failure="Failed to join chat room")
async def join_chat(ctx: EventContext, data: Any) -> Ack:
    match_id = _field(data, "matchId")
    result = await call(services.join_check, user_id=ctx.user_id, match_id=match_id)
    if isinstance(result, dict):
        return result
    await ctx.join(events.match_group(result))
    return {"success": True, "matchId": match_id}


@handler("after_hours:leave_chat", failure="Failed to leave chat room")
async def leave_chat(ctx: EventContext, data: Any) -> Ack:
    match_id = _field(data, "matchId")
    canonical = parse_uuid(match_id)
    if canonical is None:
        return error("Invalid match ID format")
    await ctx.leave(events.match_group(canonical))
    return {"success": True, "matchId": match_id}


@handler("after_hours:send_message", failure="Failed to send message")
async def send_message(ctx: EventContext, data: Any) -> Ack:
    if not isinstance(data, dict):
        return error("Invalid match ID")
    result = await call(
        services.message_send,
        sender_id=ctx.user_id,
        match_id=data.get("matchId"),
        text=data.get("text"),
        temp_id=data.get("tempId", services.ABSENT),
    )
    if isinstance(result, dict):
        return result
    sender_channel = ctx.consumer.channel_name
    ctx.defer(
        lambda: events.new_message(
            message=result.message, recipient_id=result.recipient_id, sender_channel=sender_channel
        )
    )
    return result.ack()


@handler("after_hours:typing", failure="Failed to update typing status")
async def typing(ctx: EventContext, data: Any) -> Ack:
    is_typing = _field(data, "isTyping")
    result = await _relay(ctx, data, services.typing_relay, events.user_typing, is_typing=is_typing)
    return result if isinstance(result, dict) else {"success": True}


@handler("after_hours:mark_read", failure="Failed to mark messages as read")
async def mark_read(ctx: EventContext, data: Any) -> Ack:
    ids = _field(data, "messageIds")
    result = await _relay(ctx, data, services.read_relay, events.messages_read, message_ids=ids)
    return result if isinstance(result, dict) else {"success": True, "readAt": result.payload["readAt"]}


async def _relay(
    ctx: EventContext, data: Any, relay: Callable[..., Any], tell: Callable[..., Any], **fields: Any
) -> Any:
    """A relay service on the payload's matchId; its event goes to the partner after the ack (not
    when the service found no one to tell). Returns the result, or the error ack."""
    result = await call(relay, user_id=ctx.user_id, match_id=_field(data, "matchId"), **fields)
    if not isinstance(result, dict) and result.recipient_id is not None:
        ctx.defer(lambda: tell(recipient_id=result.recipient_id, payload=result.payload))
    return result
