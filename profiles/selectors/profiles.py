"""Profile and verification-status reads (reference §2.2, §2.4)."""
from __future__ import annotations

from profiles.models import Profile, Verification


def profile_get(*, user_id: str) -> Profile | None:
    return (
        Profile.objects.filter(pk=user_id)
        .only("user_id", "name", "age", "bio", "photos", "interests", "is_verified", "verified_at")
        .first()
    )


def verification_state(*, user_id: str) -> tuple[Profile, list[Verification]] | None:
    """The profile's verification flags and its 5 newest attempts; None without a profile."""
    profile = Profile.objects.filter(pk=user_id).only("user_id", "is_verified", "verified_at").first()
    if profile is None:
        return None
    attempts = list(
        Verification.objects.filter(user_id=user_id)
        .only("id", "status", "rejection_reason", "similarity_score", "created_at", "processed_at")
        .order_by("-created_at")[:5]
    )
    return profile, attempts
