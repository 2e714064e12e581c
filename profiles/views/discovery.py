"""Discovery and search count (docs/contract.md, "Discovery")."""

from __future__ import annotations

from django.http import HttpResponse

from profiles import limits
from profiles.selectors.discovery import DiscoveryFilters, SearchFilters, discover, search_count
from profiles.storage import resolve_urls
from profiles.validation import DISCOVERY, SEARCH
from vlvt.http.api import endpoint, json_body, ok
from vlvt.http.errors import on_error
from vlvt.http.openapi.declare import Operation, ref
from vlvt.http.request import ApiRequest


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
        query=DISCOVERY,
    ),
)
@on_error("Failed to retrieve profiles")
def discover_view(request: ApiRequest) -> HttpResponse:
    query = DISCOVERY.parse(request.GET)
    filters = DiscoveryFilters(
        min_age=query["minAge"],
        max_age=query["maxAge"],
        max_distance_km=query["maxDistance"],
        interests=query["interests"],
        exclude=query["exclude"] or [],
        verified_only=query["verifiedOnly"],
    )
    result = discover(user_id=request.user_id, filters=filters)
    profiles = [_discovered(row, result.expanded, result.original_radius_km) for row in result.rows]
    return ok(profiles=profiles, expandedSearch=result.expanded)


@endpoint(
    "POST",
    limiters=[limits.general],
    spec=Operation(
        "How many profiles match (maxDistance in miles)",
        ok=ref("Count"),
        errors=(400, 403),
        body=SEARCH,
    ),
)
@on_error("Failed to search")
def search_count_view(request: ApiRequest) -> HttpResponse:
    body = SEARCH.parse(json_body(request))
    filters = SearchFilters(
        max_distance_miles=body["maxDistance"],
        genders=body["genders"],
        sexual_preferences=body["sexualPreferences"],
        intents=body["intents"],
    )
    return ok(count=search_count(user_id=request.user_id, filters=filters))
