"""Discovery and search count (docs/contract.md, "Discovery")."""

from __future__ import annotations

import math
import re
from typing import Any

from django.http import HttpResponse

from profiles import limits
from profiles.selectors.discovery import DiscoveryFilters, SearchFilters, discover, search_count
from profiles.storage import resolve_urls
from profiles.validation import storable
from vlvt.http.api import ValidationFailed, endpoint, json_body, ok
from vlvt.http.errors import on_error
from vlvt.http.openapi.declare import STR, STR_LIST, Operation, obj, query, ref
from vlvt.http.request import ApiRequest

_INT_PREFIX = re.compile(r"^\s*([+-]?\d+)")
_FLOAT_PREFIX = re.compile(r"^\s*([+-]?(?:Infinity|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")


def _query_number(request: ApiRequest, name: str, pattern: re.Pattern[str], errors: list) -> Any:
    """parseInt/parseFloat of a query value (an empty value is absent); garbage is a 400
    (docs/contract.md, D1)."""
    raw = request.GET.get(name)
    if not raw:
        return None
    match = pattern.match(raw)
    if match is None:
        errors.append((name, f"{name} must be a number"))
        return None
    return int(match.group(1)) if pattern is _INT_PREFIX else float(match.group(1))


def _csv(request: ApiRequest, name: str, errors: list) -> list[str] | None:
    raw = request.GET.get(name)
    if raw and not storable(raw):
        errors.append((name, f"{name} contains invalid characters"))
        return None
    return raw.split(",") if raw else None


def _discovered(row: dict, expanded: bool, original_radius: float | None) -> dict:
    item = {
        "userId": row["user_id"],
        "name": row["name"],
        "age": row["age"],
        "bio": row["bio"],
        "photos": resolve_urls(row["photos"], owner=row["user_id"]),
        "interests": row["interests"],
        "isNewUser": bool(row["is_new"]),
        "isVerified": bool(row["is_verified"]),
    }
    if "distance" in row:
        item["distance"] = row["distance"]  # whole km, at least 1 (profiles.location)
        if expanded and original_radius and row["distance"] > original_radius:
            item["expandedSearch"] = True
    return item


@endpoint(
    "GET",
    limiters=[limits.discovery],
    spec=Operation(
        "Profiles to discover (new users first, then distance, then random; 20 at most)",
        ok=ref("Discovery"),
        errors=(400,),
        params=(
            query("minAge", {"type": "integer"}, "minimum age"),
            query("maxAge", {"type": "integer"}, "maximum age"),
            query("maxDistance", {"type": "number"}, "radius in km; expanded to 200 km below 5 results"),
            query("interests", STR, "comma-separated; any overlap"),
            query("exclude", STR, "comma-separated user ids"),
            query("verifiedOnly", {"enum": ["true", "false"]}, "only verified profiles"),
        ),
    ),
)
@on_error("Failed to retrieve profiles")
def discover_view(request: ApiRequest) -> HttpResponse:
    errors: list[tuple[str, str]] = []
    filters = DiscoveryFilters(
        min_age=_query_number(request, "minAge", _INT_PREFIX, errors),
        max_age=_query_number(request, "maxAge", _INT_PREFIX, errors),
        max_distance_km=_query_number(request, "maxDistance", _FLOAT_PREFIX, errors),
        interests=_csv(request, "interests", errors),
        exclude=_csv(request, "exclude", errors) or [],
        verified_only=request.GET.get("verifiedOnly") == "true",
    )
    if errors:
        raise ValidationFailed(errors)
    result = discover(user_id=request.user_id, filters=filters)
    profiles = [_discovered(row, result.expanded, result.original_radius_km) for row in result.rows]
    return ok(profiles=profiles, expandedSearch=result.expanded)


def _string_list(body: dict, name: str, errors: list) -> list[str] | None:
    value = body.get(name)
    if not isinstance(value, list) or not value:
        return None  # applied only when a non-empty array, as the original
    if not all(isinstance(v, str) and storable(v) for v in value):
        errors.append((name, f"{name} must be an array of strings"))
        return None
    return value


def _miles(body: dict, errors: list) -> float | None:
    value = body.get("maxDistance")
    if value is None or value == "" or value is False or value == 0:
        return None
    try:
        miles = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        miles = None
    if miles is None or math.isnan(miles):
        errors.append(("maxDistance", "maxDistance must be a number"))
    return miles


@endpoint(
    "POST",
    limiters=[limits.general],
    spec=Operation(
        "How many profiles match (maxDistance in miles)",
        ok=ref("Count"),
        errors=(400, 403),
        body=obj(
            maxDistance={"type": "number"},
            genders=STR_LIST,
            sexualPreferences=STR_LIST,
            intents=STR_LIST,
        ),
    ),
)
@on_error("Failed to search")
def search_count_view(request: ApiRequest) -> HttpResponse:
    body = json_body(request)
    errors: list[tuple[str, str]] = []
    filters = SearchFilters(
        max_distance_miles=_miles(body, errors),
        genders=_string_list(body, "genders", errors),
        sexual_preferences=_string_list(body, "sexualPreferences", errors),
        intents=_string_list(body, "intents", errors),
    )
    if errors:
        raise ValidationFailed(errors)
    return ok(count=search_count(user_id=request.user_id, filters=filters))
