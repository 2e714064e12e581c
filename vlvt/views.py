"""Infrastructure endpoints: health, readiness, csrf-token, security.txt (placeholder, issue 2)."""
from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse

from vlvt.api import endpoint, json_response


@endpoint("GET", auth=False)
def health(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return json_response({"status": "ok"})
