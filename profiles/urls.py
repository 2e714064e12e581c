"""Profile-service routes, each at `/x` (the versioning middleware maps `/api/v1/x` here).

Specific paths come before the `<user_id>` patterns so `/profile/photos/...` never reads as a user.
"""

from django.urls import path

from profiles.views import discovery, internal, media, photos, profiles, swipes, verification
from vlvt.http.api import route

urlpatterns = [
    path("api/internal/cleanup-photos", internal.cleanup_photos),
    path("profile", profiles.create),
    path("profile/photos/upload", photos.upload),
    path("profile/photos/reorder", photos.reorder),
    path("profile/photos/<str:photo_id>", photos.delete),
    path("profile/<str:user_id>/location", profiles.location),
    path("profile/<str:user_id>", route(GET=profiles.detail, PUT=profiles.update, DELETE=profiles.delete)),
    path("profiles/discover", discovery.discover_view),
    path("profiles/search/count", discovery.search_count_view),
    path("verification/prompt", verification.prompt),
    path("verification/submit", verification.submit),
    path("verification/status", verification.status),
    path("swipes", swipes.swipe),
    path("swipes/received", swipes.received),
    path("swipes/sent", swipes.sent),
    path("uploads/<path:key>", media.serve),
]
