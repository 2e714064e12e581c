"""Profile and verification-status reads (docs/contract.md, "Profile", "Verification")."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.db import connection

from profiles.models import Profile, Verification


class PublicProfile(NamedTuple):
    user_id: str
    name: str | None
    age: int | None
    bio: str | None
    photos: list[str] | None
    interests: list[str] | None
    is_verified: bool | None
    verified_at: datetime | None


def profile_get(*, user_id: str) -> PublicProfile | None:
    """One indexed read; plain SQL because this is the hottest route (no ORM compile per call)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id, name, age, bio, photos, interests, is_verified, verified_at"
            " FROM profiles WHERE user_id = %s",
            [user_id],
        )
        row = cursor.fetchone()
    return PublicProfile(*row) if row else None


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
