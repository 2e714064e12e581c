"""chat-service routes; each also answers under /api/v1 (vlvt.http.middleware rewrites the prefix)."""

from __future__ import annotations

from functools import wraps

from django.urls import path

from chat import views
from vlvt.http.api import route


def _param(view, name: str):
    """Adapt the shared `<key>` of a path to the keyword a view expects (one path, two meanings)."""

    @wraps(view)  # keeps the view's declaration (`spec`) for the API description
    def call(request, key: str):
        return view(request, **{name: key})

    return call


urlpatterns = [
    path("matches", route(POST=views.match_create)),
    path("matches/<str:user_id>/unread-counts", route(GET=views.unread_counts)),
    path(
        "matches/<str:key>",
        route(GET=_param(views.matches_list, "user_id"), DELETE=_param(views.match_delete, "match_id")),
    ),
    path("messages", route(POST=views.message_create)),
    path("messages/<str:match_id>", route(GET=views.messages_history)),
    path("messages/<str:match_id>/mark-read", route(PUT=views.messages_mark_read)),
    path("blocks", route(POST=views.block_create)),
    path("blocks/<str:user_id>", route(GET=views.blocks_list)),
    path("blocks/<str:user_id>/<str:blocked_user_id>", route(DELETE=views.block_delete)),
    path("reports", route(POST=views.report_create, GET=views.reports_list)),
    path("fcm/register", route(POST=views.fcm_register)),
    path("fcm/unregister", route(POST=views.fcm_unregister)),
    path("dates", route(POST=views.date_create)),
    path(
        "dates/<str:key>",
        route(GET=_param(views.dates_list, "match_id"), DELETE=_param(views.date_cancel, "proposal_id")),
    ),
    path("dates/<str:proposal_id>/respond", route(PUT=views.date_respond)),
    path("dates/<str:proposal_id>/confirm", route(PUT=views.date_confirm)),
]
