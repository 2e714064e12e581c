"""Root URLconf: the infrastructure routes and JSON error handlers; each app includes its own urls.

Every route answers at /x and, through ApiVersionMiddleware, at /api/v1/x.
"""

from django.contrib import admin
from django.contrib.staticfiles.views import serve as static_serve
from django.urls import include, path, re_path

from chat import urls as chat_urls
from chat.realtime.http import engineio_http
from profiles import urls as profiles_urls
from vlvt.http import views
from vlvt.http.admin_login import ThrottledAdminAuthenticationForm
from vlvt.http.openapi.views import docs_page, openapi_json

admin.site.login_form = ThrottledAdminAuthenticationForm  # per account and per address

urlpatterns = [
    path("health", views.health),
    path("ready", views.ready),
    path("csrf-token", views.csrf_token),
    path(".well-known/security.txt", views.security_txt),
    path("openapi.json", openapi_json),  # the API description (vlvt/http/openapi/), and browsable:
    path("docs", docs_page),
    path("admin/", admin.site.urls),
    # The admin's CSS and JS straight from the installed apps (no collectstatic step needed).
    re_path(r"^static/(?P<path>.+)$", static_serve, {"insecure": True}),
    path("socket.io/", engineio_http),  # Engine.IO errors for HTTP (WebSocket only)
    path("after-hours/", include("chat.after_hours.urls")),  # After Hours chat, before the catch-all below
    path("api/after-hours/", include("chat.after_hours.urls")),
    path("after-hours/", include("profiles.after_hours.urls")),
    path("api/after-hours/", include("profiles.after_hours.urls")),
    # The two services' routes inline rather than under include(""): a nested resolver that misses
    # lists every pattern it tried, which cost a chat request a tenth of its CPU.
    *profiles_urls.urlpatterns,
    *chat_urls.urlpatterns,
]

handler400 = "vlvt.http.views.bad_request"
handler403 = "vlvt.http.views.permission_denied"
handler404 = "vlvt.http.views.not_found"
handler500 = "vlvt.http.views.server_error"
