"""The project's routes plus test-only ones (slow and lock-blocked requests for shutdown tests)."""

import asyncio
import logging

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from vlvt.http.api import endpoint, json_body, ok
from vlvt.urls import urlpatterns as project_urlpatterns


async def sleep_view(request: HttpRequest) -> HttpResponse:
    seconds = float(request.GET.get("seconds", "1"))
    logging.getLogger("tests").info("test sleep started (%ss)", seconds)
    await asyncio.sleep(seconds)
    return ok(slept=seconds)


@endpoint("POST", auth=False)
def write_view(request: HttpRequest) -> HttpResponse:
    """UPDATE one row of `shutdown_probe` (blocks while a test holds its lock) and echo the body."""
    body = json_body(request)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE shutdown_probe SET value = %s WHERE id = 1", [body.get("value", "")])
        updated = cursor.rowcount
    return ok(updated=updated)


@endpoint("POST", auth=False)
def upload_view(request: HttpRequest) -> HttpResponse:
    return ok(received=len(request.body))


urlpatterns = [
    path("__test__/sleep", sleep_view),
    path("__test__/write", write_view),
    path("__test__/upload", upload_view),
    *project_urlpatterns,
]
