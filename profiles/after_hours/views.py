"""After Hours HTTP routes: thin views behind the gate and a per-user limit (docs/contract.md, "After
Hours")."""

from __future__ import annotations

import math

from django.http import Http404, HttpResponse
from django.utils import timezone

from profiles import images
from profiles.after_hours import limits, selectors, validation
from profiles.after_hours.gate import after_hours
from profiles.after_hours.matching import haversine_km, round1
from profiles.after_hours.services import matches, preferences, profiles, sessions
from profiles.models import AfterHoursPreferences, AfterHoursProfile
from profiles.views.photos import PHOTO
from profiles.views.uploads import read_all
from vlvt.http.api import ApiError, iso, json_body, json_response, ok, route
from vlvt.http.openapi.declare import Operation, ref
from vlvt.http.request import ApiRequest

# --- profile --------------------------------------------------------------------------------------


def _profile_json(
    profile: AfterHoursProfile, photo_url: str | None, name: str | None, age: int | None
) -> dict[str, object]:
    """The original's fields, the main profile's name and age, and the app's spellings (`id`,
    `bio`, `photo_url`), each always equal to its original field."""
    return {
        "userId": profile.user_id,
        "name": name,
        "age": age,
        "photoUrl": photo_url,
        "description": profile.description,
        "createdAt": iso(profile.created_at),
        "updatedAt": iso(profile.updated_at),
        "id": profile.user_id,
        "bio": profile.description,
        "photo_url": photo_url,
    }


def _description(request: ApiRequest) -> str | None:
    """The description sent (as `description` or `bio`), None when absent."""
    value = validation.DESCRIPTION.parse(json_body(request))["description"]
    return None if value is validation.MISSING else value


def _with_main_profile(profile: AfterHoursProfile, photo_url: str | None) -> dict[str, object]:
    main = selectors.main_profile_get(user_id=profile.user_id)
    return _profile_json(profile, photo_url, main.name, main.age)


@after_hours(
    "POST",
    spec=Operation(
        "Create the caller's After Hours profile",
        ok=ref("AfterHoursProfileResult"),
        status=201,
        errors=(400, 409),
        body=validation.DESCRIPTION,
    ),
)
def profile_create(request: ApiRequest) -> HttpResponse:
    description = _description(request)
    profile = profiles.profile_create(user_id=request.user_id, description=description)
    return ok(201, profile=_with_main_profile(profile, profile.photo_url or None))


@after_hours(
    "GET",
    spec=Operation(
        "Read the caller's After Hours profile with the main profile's name and age",
        ok=ref("AfterHoursProfileResult"),
        errors=(404,),
    ),
)
def profile_get(request: ApiRequest) -> HttpResponse:
    found = selectors.profile_get(user_id=request.user_id)
    if found is None:
        raise ApiError(404, "After Hours profile not found")
    return ok(
        profile=_profile_json(
            found.profile, selectors.photo_url(found.profile.photo_url), found.name, found.age
        )
    )


@after_hours(
    "PATCH",
    spec=Operation(
        "Update the description",
        ok=ref("AfterHoursProfileResult"),
        errors=(400, 404),
        body=validation.DESCRIPTION,
    ),
)
def profile_update(request: ApiRequest) -> HttpResponse:
    description = _description(request)
    profile = profiles.profile_update(user_id=request.user_id, description=description)
    if profile is None:
        raise ApiError(404, "After Hours profile not found")
    return ok(profile=_with_main_profile(profile, selectors.photo_url(profile.photo_url)))


@after_hours(
    "POST",
    limiters=(limits.general, limits.photo_upload),
    spec=Operation(
        "Upload (replace) the After Hours photo: one 1200 px JPEG without metadata; refused when it "
        "is within 9 bits (perceptual hash) of a banned photo",
        ok=ref("AfterHoursPhotoResult"),
        errors=(400, 404, 413),
        body=PHOTO.schema(),
        content_type="multipart/form-data",
    ),
)
def photo_upload(request: ApiRequest) -> HttpResponse:
    file, _ = PHOTO.parse(request)
    try:
        images.check_declared(file.content_type, file.size or 0)
        stored = profiles.photo_upload(user_id=request.user_id, data=read_all(file))
    except images.ImageRejected as exc:
        raise ApiError(400, exc.message) from None
    url = selectors.photo_url(stored.key)
    return ok(photo={"url": url, "key": stored.key}, photo_url=url)  # photo_url: the app's spelling


# --- preferences ----------------------------------------------------------------------------------


def _preferences_json(prefs: AfterHoursPreferences) -> dict[str, object]:
    """The original's camelCase fields, then the app's snake_case ones with the same values."""
    return {
        "seekingGender": prefs.seeking_gender,
        "maxDistanceKm": prefs.max_distance_km,
        "minAge": prefs.min_age,
        "maxAge": prefs.max_age,
        "sexualOrientation": prefs.sexual_orientation,
        "id": prefs.user_id,
        "gender_seeking": prefs.seeking_gender,
        "max_distance_km": prefs.max_distance_km,
        "min_age": prefs.min_age,
        "max_age": prefs.max_age,
    }


def _preferences_input(request: ApiRequest) -> validation.PreferencesInput:
    return validation.preferences(json_body(request))


@after_hours(
    "POST",
    spec=Operation(
        "Create matching preferences (defaults: Any, 10 km, 18-99)",
        ok=ref("AfterHoursPreferencesResult"),
        status=201,
        errors=(400, 409),
        body=validation.PREFERENCES,
    ),
)
def preferences_create(request: ApiRequest) -> HttpResponse:
    prefs = preferences.preferences_create(user_id=request.user_id, data=_preferences_input(request))
    return ok(201, preferences=_preferences_json(prefs))


@after_hours(
    "GET",
    spec=Operation("Read matching preferences", ok=ref("AfterHoursPreferencesResult"), errors=(404,)),
)
def preferences_get(request: ApiRequest) -> HttpResponse:
    prefs = selectors.preferences_get(user_id=request.user_id)
    if prefs is None:
        raise ApiError(404, "After Hours preferences not found")
    return ok(preferences=_preferences_json(prefs))


@after_hours(
    "PATCH",
    spec=Operation(
        "Update matching preferences (absent fields keep their value)",
        ok=ref("AfterHoursPreferencesResult"),
        errors=(400, 404),
        body=validation.PREFERENCES,
    ),
)
def preferences_update(request: ApiRequest) -> HttpResponse:
    prefs = preferences.preferences_update(user_id=request.user_id, data=_preferences_input(request))
    if prefs is None:
        raise ApiError(404, "After Hours preferences not found")
    return ok(preferences=_preferences_json(prefs))


# --- session --------------------------------------------------------------------------------------


@after_hours(
    "POST",
    spec=Operation(
        "Start a 15, 30 or 60 minute session at a fuzzed location",
        ok=ref("AfterHoursSessionStarted"),
        status=201,
        errors=(400, 409),
        body=validation.SESSION_START,
    ),
)
def session_start(request: ApiRequest) -> HttpResponse:
    data = validation.SESSION_START.parse(json_body(request))
    minutes, as_sent = data["duration"]
    session = sessions.session_start(
        user_id=request.user_id,
        duration_minutes=minutes,
        latitude=data["latitude"],
        longitude=data["longitude"],
        device_fingerprint=data["deviceFingerprint"],
    )
    body = {
        "id": str(session.id),
        "startedAt": iso(session.started_at),
        "expiresAt": iso(session.expires_at),
        "durationMinutes": as_sent,
    }
    return ok(201, session=body)


@after_hours(
    "POST",
    spec=Operation(
        "End the open session (its match ends; the partner is told)", ok=ref("AfterHoursDone"), errors=(404,)
    ),
)
def session_end(request: ApiRequest) -> HttpResponse:
    sessions.session_end(user_id=request.user_id)
    return ok(message="Session ended")


@after_hours(
    "POST",
    spec=Operation(
        "Add 15, 30 or 60 minutes to the open session",
        ok=ref("AfterHoursSessionExtended"),
        errors=(400, 404),
        body=validation.SESSION_EXTEND,
    ),
)
def session_extend(request: ApiRequest) -> HttpResponse:
    minutes, as_sent = validation.SESSION_EXTEND.parse(json_body(request))["additionalMinutes"]
    extended = sessions.session_extend(user_id=request.user_id, minutes=minutes)
    return ok(
        session={"id": str(extended.id), "expiresAt": iso(extended.expires_at), "extendedByMinutes": as_sent}
    )


@after_hours(
    "GET",
    spec=Operation("The open session and its remaining seconds", ok=ref("AfterHoursSessionStatus")),
)
def session_get(request: ApiRequest) -> HttpResponse:
    session = selectors.open_session_get(user_id=request.user_id)
    if session is None:
        return ok(active=False, session=None)
    remaining = max(0, math.floor((session.expires_at - timezone.now()).total_seconds()))
    body = {
        "id": str(session.id),
        "startedAt": iso(session.started_at),
        "expiresAt": iso(session.expires_at),
        "remainingSeconds": remaining,
    }
    return ok(active=remaining > 0, session=body)


# --- matches --------------------------------------------------------------------------------------


@after_hours(
    "POST",
    spec=Operation(
        "Decline a match (silently for the other user)",
        ok=ref("AfterHoursDone"),
        errors=(400, 404),
        body=validation.MATCH_DECLINE,
    ),
)
def match_decline(request: ApiRequest) -> HttpResponse:
    match_id = validation.MATCH_DECLINE.parse(json_body(request))["matchId"]
    matches.match_decline(user_id=request.user_id, match_id=match_id)
    return ok(message="Match declined")


@after_hours(
    "GET",
    spec=Operation("The current match, or searching / no session", ok=ref("AfterHoursCurrentMatch")),
)
def match_current(request: ApiRequest) -> HttpResponse:
    own = selectors.open_session_get(user_id=request.user_id)
    if own is None:
        return _match_status(active=False, status="no_session", match=None)
    match = selectors.current_match_get(user_id=request.user_id)
    if match is None:
        return _match_status(active=True, status="searching", match=None)
    distance = haversine_km(
        float(own.fuzzed_latitude), float(own.fuzzed_longitude), match.latitude, match.longitude
    )
    profile = {
        "name": match.name,
        "age": match.age,
        "photoUrl": selectors.photo_url(match.photo_url),
        "description": match.description,
        "distanceKm": round1(distance),
    }
    body = {
        "id": str(match.id),
        "expiresAt": iso(match.expires_at),
        "autoDeclineAt": iso(matches.auto_decline_at(match.created_at, match.expires_at)),
        "profile": profile,
    }
    return _match_status(active=True, status="matched", match=body)


def _match_status(**body: object) -> HttpResponse:
    # Not ok(): its `status` parameter is the HTTP status, and this body has a `status` key.
    return json_response({"success": True, **body})


@after_hours(
    "GET",
    spec=Operation(
        "How many other users have an active session within the caller's distance",
        ok=ref("AfterHoursNearbyCount"),
        errors=(400,),
    ),
)
def nearby_count(request: ApiRequest) -> HttpResponse:
    origin = selectors.nearby_origin_get(user_id=request.user_id)
    if origin is None:
        raise matches.NO_ACTIVE_SESSION()
    count = selectors.nearby_count(
        user_id=request.user_id,
        latitude=origin.latitude,
        longitude=origin.longitude,
        max_distance_km=origin.max_distance_km,
    )
    return ok(count=count, maxDistanceKm=origin.max_distance_km)


@after_hours("GET", "POST", "PUT", "PATCH", "DELETE")
def unknown(request: ApiRequest, rest: str = "") -> HttpResponse:
    """Unknown After Hours paths: the JWT check and the gate answer first, as the original's router."""
    raise Http404


profile = route(GET=profile_get, POST=profile_create, PATCH=profile_update)
preferences_route = route(GET=preferences_get, POST=preferences_create, PATCH=preferences_update)
