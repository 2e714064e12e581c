from django.contrib import admin
from django.urls import include, path

from vlvt import views

urlpatterns = [
    path("health", views.health),
    path("admin/", admin.site.urls),
    path("", include("profiles.urls")),
    path("", include("chat.urls")),
]
