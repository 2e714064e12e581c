"""The two After Hours save pushes, queued after commit through profiles.push (docs/contract.md,
"Push notifications")."""

from __future__ import annotations

from profiles.push import PushMessage, app_push, push_notify, push_notify_pair


def partner_saved_message(*, after_hours_match_id: str, partner_name: str) -> PushMessage:
    """To the partner of the first saver; `partner_name` is the saver's."""
    return app_push(
        title="Someone wants to save your chat!",
        body=f"{partner_name} wants to keep chatting after After Hours ends. Save them back to create a match!",
        kind="after_hours_partner_saved",
        channel="after_hours",
        afterHoursMatchId=after_hours_match_id,
        partnerName=partner_name,
    )


def match_saved_message(*, permanent_match_id: str, partner_name: str) -> PushMessage:
    """To each of the two users on a mutual save; `partner_name` is the other person's."""
    return app_push(
        title="Your After Hours chat is saved!",
        body=f"You and {partner_name} both saved each other. You can now chat anytime!",
        kind="after_hours_match_saved",
        channel="matches",
        permanentMatchId=permanent_match_id,
        partnerName=partner_name,
    )


def partner_saved(*, recipient_id: str, after_hours_match_id: str, saver_name: str) -> None:
    push_notify(
        user_id=recipient_id,
        message=partner_saved_message(after_hours_match_id=after_hours_match_id, partner_name=saver_name),
    )


def match_saved(*, permanent_match_id: str, names: dict[str, str]) -> None:
    """`names` maps each of the two users to their name; each hears the other's."""
    push_notify_pair(
        names=names,
        message=lambda name: match_saved_message(permanent_match_id=permanent_match_id, partner_name=name),
    )
