"""After Hours routes, included at `after-hours/` and `api/after-hours/` (docs/contract.md, D7; the
versioning middleware maps `/api/v1/after-hours/...` onto the first)."""

from django.urls import path, re_path

from profiles.after_hours import views

urlpatterns = [
    path("profile", views.profile),
    path("profile/photo", views.photo_upload),
    path("preferences", views.preferences_route),
    path("session/start", views.session_start),
    path("session/end", views.session_end),
    path("session/extend", views.session_extend),
    path("session", views.session_get),
    path("match/decline", views.match_decline),
    path("match/current", views.match_current),
    path("nearby/count", views.nearby_count),
    re_path(r"^(?P<rest>.*)$", views.unknown),
]
