"""The two After Hours save pushes, queued after commit through profiles.push (docs/contract.md,
"Push notifications")."""

from __future__ import annotations

from profiles.push import PushMessage, push_notify

CLICK = "FLUTTER_NOTIFICATION_CLICK"


def partner_saved_message(*, after_hours_match_id: str, partner_name: str) -> PushMessage:
    """To the partner of the first saver; `partner_name` is the saver's."""
    return PushMessage(
        title="Someone wants to save your chat!",
        body=f"{partner_name} wants to keep chatting after After Hours ends. Save them back to create a match!",
        data={
            "type": "after_hours_partner_saved",
            "afterHoursMatchId": after_hours_match_id,
            "partnerName": partner_name,
            "click_action": CLICK,
        },
        android_channel_id="after_hours",
        badge=1,
    )


def match_saved_message(*, permanent_match_id: str, partner_name: str) -> PushMessage:
    """To each of the two users on a mutual save; `partner_name` is the other person's."""
    return PushMessage(
        title="Your After Hours chat is saved!",
        body=f"You and {partner_name} both saved each other. You can now chat anytime!",
        data={
            "type": "after_hours_match_saved",
            "permanentMatchId": permanent_match_id,
            "partnerName": partner_name,
            "click_action": CLICK,
        },
        android_channel_id="matches",
        badge=1,
    )


def partner_saved(*, recipient_id: str, after_hours_match_id: str, saver_name: str) -> None:
    push_notify(
        user_id=recipient_id,
        message=partner_saved_message(after_hours_match_id=after_hours_match_id, partner_name=saver_name),
    )


def match_saved(*, permanent_match_id: str, names: dict[str, str]) -> None:
    """`names` maps each of the two users to their name; each hears the other's."""
    (a, name_a), (b, name_b) = names.items()
    push_notify(
        user_id=a, message=match_saved_message(permanent_match_id=permanent_match_id, partner_name=name_b)
    )
    push_notify(
        user_id=b, message=match_saved_message(permanent_match_id=permanent_match_id, partner_name=name_a)
    )
