"""Sentry error reporting for every process type (web, worker, beat), when SENTRY_DSN is set.

`vlvt/settings.py` calls `init_sentry` once per process (settings load in Daphne, Celery workers
and beat alike), with the Django and Celery integrations.

What leaves the machine follows the logging rule (docs/contract.md, D6: no token, no secret, no
message text): `before_send` drops request bodies, query strings (a token or a signed URL can sit
there), cookies and the Authorization / Cookie / X-CSRF-Token headers, strips query strings from
URLs in breadcrumbs, drops Celery task arguments, and masks tokens in messages and exception texts
the way log lines are masked. Stack frames carry no local variables (a message being sent is a local
variable somewhere), and the SDK never reads a request body in the first place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import sentry_sdk
from sentry_sdk.integrations.asgi import SentryAsgiMiddleware
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from vlvt.logs import clean as clean_log_value  # the log redaction, so Sentry sees what a log line would
from vlvt.logs import scrub
from vlvt.server import upstream
from vlvt.server.handlers import PooledThreadASGIHandler

if TYPE_CHECKING:
    from sentry_sdk.types import Event as SentryEvent
    from sentry_sdk.types import Hint

Event = dict[str, Any]

DROPPED_REQUEST_KEYS = ("data", "query_string", "cookies")
DROPPED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrf-token"})


def init_sentry(
    dsn: str, *, environment: str, traces_sample_rate: float = 0.0, release: str | None = None
) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=traces_sample_rate,
        before_send=_before_send,
        before_send_transaction=_before_send,
    )
    _wrap_request_handler()


def _wrap_request_handler() -> None:
    """The Django integration wraps `ASGIHandler.__call__` to attach the request (URL, method,
    headers) to events; the project's handler (vlvt/server/handlers.py) defines its own `__call__`, so it
    gets the same wrapper here."""
    inner = PooledThreadASGIHandler.__call__

    async def call(self: PooledThreadASGIHandler, scope: Any, receive: Any, send: Any) -> None:
        app = SentryAsgiMiddleware(inner.__get__(self, PooledThreadASGIHandler), unsafe_context_data=True)
        await upstream.run_sentry_asgi(app, scope, receive, send)

    # The same replacement of the class's __call__ that the Django integration makes on ASGIHandler.
    PooledThreadASGIHandler.__call__ = call  # type: ignore[method-assign]  # wrapped on the class on purpose


def _before_send(event: SentryEvent, hint: Hint) -> SentryEvent:
    """`before_send` with the SDK's types: the SDK's event is the plain dict it scrubs."""
    before_send(cast(Event, event), hint)
    return event


def before_send(event: Event, hint: dict[str, Any] | None = None) -> Event:
    """Scrub an event in place (and return it) before the SDK sends it."""
    request = event.get("request")
    if isinstance(request, dict):
        _scrub_request(request)
    celery_job = (event.get("extra") or {}).get("celery-job")
    if isinstance(celery_job, dict):
        celery_job.pop("args", None)  # task arguments: ids by convention, but a push payload has text
        celery_job.pop("kwargs", None)
    _scrub_messages(event)
    _scrub_breadcrumbs(event)
    return event


def _without_query(url: Any) -> Any:
    return url.split("?", 1)[0].split("#", 1)[0] if isinstance(url, str) else url


def _scrub_request(request: dict[str, Any]) -> None:
    for key in DROPPED_REQUEST_KEYS:
        request.pop(key, None)
    if "url" in request:
        request["url"] = _without_query(request["url"])
    headers = request.get("headers")
    if isinstance(headers, dict):
        request["headers"] = {
            name: value for name, value in headers.items() if name.lower() not in DROPPED_HEADERS
        }
    elif isinstance(headers, list):  # the protocol also allows [[name, value], ...]
        request["headers"] = [pair for pair in headers if str(pair[0]).lower() not in DROPPED_HEADERS]
    env = request.get("env")
    if isinstance(env, dict):
        env.pop("QUERY_STRING", None)


def _scrub_messages(event: Event) -> None:
    if isinstance(event.get("message"), str):
        event["message"] = scrub(event["message"])
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        for key in ("message", "formatted"):
            if isinstance(logentry.get(key), str):
                logentry[key] = scrub(logentry[key])
        if "params" in logentry:
            logentry["params"] = clean_log_value(logentry["params"])
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = scrub(exception["value"])
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    if isinstance(event.get("extra"), dict):
        event["extra"] = clean_log_value(event["extra"])


def _scrub_breadcrumbs(event: Event) -> None:
    crumbs = event.get("breadcrumbs")
    values = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
    for crumb in values or []:
        if isinstance(crumb.get("message"), str):
            crumb["message"] = scrub(crumb["message"])
        data = crumb.get("data")
        if isinstance(data, dict):
            data.pop("http.query", None)
            data.pop("http.fragment", None)
            if "url" in data:
                data["url"] = _without_query(data["url"])
            crumb["data"] = clean_log_value(data)
