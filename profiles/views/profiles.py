"""Main profile routes (docs/contract.md, "Profile")."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.http import HttpResponse

from profiles import limits
from profiles.models import Profile
from profiles.selectors.profiles import PublicProfile, profile_get
from profiles.services.profiles import (
    LocationTooSoon,
    profile_create,
    profile_delete,
    profile_set_location,
    profile_update,
)
from profiles.storage import resolve_urls
from profiles.validation import LOCATION, ProfileInput, storable, validate_profile
from vlvt.http.api import ApiError, any_user, caller_only, endpoint, fail, iso, json_body, ok
from vlvt.http.errors import on_error
from vlvt.http.openapi.declare import Operation, ref
from vlvt.http.request import ApiRequest

log = logging.getLogger(__name__)


def profile_json(profile: Profile | PublicProfile) -> dict:
    return {
        "userId": profile.user_id,
        "name": profile.name,
        "age": profile.age,
        "bio": profile.bio,
        "photos": resolve_urls(profile.photos, owner=profile.user_id),
        "interests": profile.interests,
    }


@endpoint(
    "POST",
    limiters=[limits.profile_creation],
    spec=Operation(
        "Create the caller's profile (200, not 201)",
        ok=ref("ProfileResult"),
        errors=(400, 403, 409),
        body=ref("ProfileInput"),
    ),
)
@on_error("Failed to save profile")
def create(request: ApiRequest) -> HttpResponse:
    data = validate_profile(json_body(request), partial=False, owner=request.user_id)
    profile = profile_create(user_id=request.user_id, data=data)
    return ok(profile=profile_json(profile))


@endpoint(
    "GET",
    limiters=[limits.general],
    spec=Operation("Read any profile", ok=ref("ProfileResult"), errors=(404,)),
)
@on_error("Failed to retrieve profile")
@any_user
def detail(request: ApiRequest, user_id: str) -> HttpResponse:
    profile = profile_get(user_id=user_id) if storable(user_id) else None
    if profile is None:
        raise ApiError(404, "Profile not found")
    body = profile_json(profile) | {
        "isVerified": bool(profile.is_verified),
        "verifiedAt": iso(profile.verified_at),
    }
    return ok(profile=body, isOwnProfile=user_id == request.user_id)


def _stored_photos(user_id: str) -> list[str]:
    if not storable(user_id):
        return []
    return Profile.objects.filter(pk=user_id).values_list("photos", flat=True).first() or []


def _profile_changes(request: ApiRequest) -> ProfileInput:
    """The update's validated fields; validated before the ownership check, as the original."""
    body = json_body(request)
    # Values already stored (legacy `/uploads/...` ones) may come back as they were shown.
    current = _stored_photos(request.user_id) if isinstance(body.get("photos"), list) else ()
    return validate_profile(body, partial=True, owner=request.user_id, current_photos=current)


@endpoint(
    "PUT",
    limiters=[limits.profile_update],
    spec=Operation(
        "Update the caller's own profile (absent fields keep their value)",
        ok=ref("ProfileResult"),
        errors=(400, 403, 404),
        body=ref("ProfileInput"),
    ),
)
@on_error("Failed to update profile")
@caller_only("Forbidden: Cannot modify other users' profiles", validate_first=_profile_changes)
def update(request: ApiRequest, user_id: str, data: ProfileInput) -> HttpResponse:
    profile = profile_update(user_id=user_id, data=data) if storable(user_id) else None
    if profile is None:
        raise ApiError(404, "Profile not found")
    return ok(profile=profile_json(profile))


@endpoint(
    "DELETE",
    limiters=[limits.sensitive_action],
    spec=Operation("Delete the caller's own profile and its photos", ok=ref("Done"), errors=(403, 404)),
)
@on_error("Failed to delete profile")
@caller_only("Forbidden: Cannot delete other users' profiles")
def delete(request: ApiRequest, user_id: str) -> HttpResponse:
    if not storable(user_id) or not profile_delete(user_id=user_id):
        raise ApiError(404, "Profile not found")
    return ok(message="Profile deleted")


LOCATION_TOO_SOON = "Location updated too often or moved too far too quickly, please try again later"


def _decimal8(value: Decimal) -> str:
    """node-pg's rendering of DECIMAL(x,8): a plain string with 8 places."""
    return f"{value:.8f}"


@endpoint(
    "PUT",
    limiters=[limits.general],
    spec=Operation(
        "Set the caller's location (429 with Retry-After: at most one a minute, and a jump must be "
        "plausible within 15 minutes of the last one)",
        ok=ref("LocationResult"),
        errors=(400, 403, 404),
        body=LOCATION,
    ),
)
@on_error("Failed to update location")
@caller_only("Forbidden: Cannot update other users' location")
def location(request: ApiRequest, user_id: str) -> HttpResponse:
    body = LOCATION.parse(json_body(request))
    latitude, longitude = body["latitude"], body["longitude"]
    try:
        saved = (
            profile_set_location(user_id=user_id, latitude=latitude, longitude=longitude)
            if storable(user_id)
            else None
        )
    except LocationTooSoon as exc:  # how often and how far a location may move (docs/security.md)
        response = fail(429, LOCATION_TOO_SOON)
        response["Retry-After"] = str(exc.retry_after)
        return response
    if saved is None:
        raise ApiError(404, "Profile not found")
    # City-level precision only in logs (docs/contract.md, "Logging").
    log.info("location updated", extra={"latitude": round(latitude, 2), "longitude": round(longitude, 2)})
    return ok(
        location={
            "userId": saved.user_id,
            "latitude": _decimal8(saved.latitude),
            "longitude": _decimal8(saved.longitude),
            "updatedAt": iso(saved.updated_at),
        }
    )
