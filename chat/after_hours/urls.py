"""After Hours chat routes, included at `after-hours/` and `api/after-hours/` ahead of the After
Hours profile routes (whose catch-all would answer first); `/api/v1/after-hours/...` reaches the
first through the versioning middleware."""

from django.urls import path

from chat.after_hours import views

urlpatterns = [
    path("messages/<str:match_id>", views.history),
    path("matches/<str:match_id>/save", views.save),
    path("matches/<str:match_id>/block", views.block),
    path("matches/<str:match_id>/report", views.report),
]
