"""Sentry: on with SENTRY_DSN (Django and Celery integrations), and nothing private leaves.

The end-to-end test runs `daphne vlvt.asgi:application` with SENTRY_DSN pointing at a local
receiver, makes a request that fails, and reads what the SDK really sent.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest

from tests.support.servers import start_daphne
from vlvt.sentry import before_send

ROOT = Path(__file__).resolve().parents[2]
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VySWQiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ24"
SECRETS = ("query-secret", "body-secret", "header-secret", "cookie-secret", "csrf-secret", JWT)

SENTRY_STATE = (
    "import json, django; django.setup(); import sentry_sdk; c = sentry_sdk.get_client();"
    "print(json.dumps({'active': c.is_active(), 'integrations': sorted(c.integrations)}))"
)


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        self.bodies.append(raw)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver():
    _Receiver.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def sentry_state(dsn: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vlvt.settings", "SENTRY_DSN": dsn}
    done = subprocess.run(
        [sys.executable, "-c", SENTRY_STATE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def sent_events(bodies: list[bytes]) -> list[dict]:
    events = []
    for body in bodies:
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


def test_with_a_dsn_every_process_reports_with_the_django_and_celery_integrations():
    state = sentry_state("http://public@127.0.0.1:9/1")
    assert state["active"] is True
    assert {"django", "celery", "logging"} <= set(state["integrations"])


def test_without_a_dsn_sentry_stays_off():
    assert sentry_state("") == {"active": False, "integrations": []}


@pytest.mark.django_db
def test_a_server_error_under_daphne_reaches_sentry_without_body_query_cookies_or_credentials(receiver):
    port = receiver.server_address[1]
    server = start_daphne(
        DJANGO_SETTINGS_MODULE="tests.support.settings", SENTRY_DSN=f"http://public@127.0.0.1:{port}/1"
    )
    try:
        # The test-only sleep route fails on a duration that is not a number: an unhandled 500.
        response = httpx.post(
            f"{server.base_url}/__test__/sleep",
            params={"seconds": JWT, "token": "query-secret"},
            json={"text": "body-secret"},
            headers={
                "Authorization": "Bearer header-secret",
                "Cookie": "sessionid=cookie-secret",
                "X-CSRF-Token": "csrf-secret",
                "User-Agent": "ops-test",
            },
            timeout=30,
        )
        assert response.status_code == 500
        deadline = time.monotonic() + 20
        while (
            not [e for e in sent_events(_Receiver.bodies) if e.get("exception")]
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
    finally:
        server.stop()

    raw = b"".join(_Receiver.bodies).decode()
    for secret in SECRETS:
        assert secret not in raw, secret
    [event] = [e for e in sent_events(_Receiver.bodies) if e.get("exception")]
    request = event["request"]
    assert request["url"] == f"{server.base_url}/__test__/sleep"
    assert request["method"] == "POST"
    assert not {"data", "query_string", "cookies"} & set(request)
    assert {name.lower() for name in request["headers"]} & {
        "authorization",
        "cookie",
        "x-csrf-token",
    } == set()
    assert request["headers"]["user-agent"] == "ops-test"
    [exception] = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == (
        "ValueError",
        "could not convert string to float: '[REDACTED]'",
    )
    assert all("vars" not in frame for frame in exception["stacktrace"]["frames"])


def test_before_send_scrubs_every_private_part_of_an_event():
    event = {
        "message": f"token {JWT}",
        "logentry": {
            "message": "login by %s",
            "params": [f"Bearer {JWT}"],
            "formatted": f"login by Bearer {JWT}",
        },
        "request": {
            "url": "https://api.example/messages/m1?token=query-secret#frag",
            "method": "POST",
            "query_string": "token=query-secret",
            "data": {"text": "body-secret"},
            "cookies": {"sessionid": "cookie-secret"},
            "headers": {
                "Authorization": "Bearer header-secret",
                "cookie": "sessionid=cookie-secret",
                "X-Csrf-Token": "csrf-secret",
                "Content-Type": "application/json",
            },
            "env": {"SERVER_NAME": "web-1", "QUERY_STRING": "token=query-secret"},
        },
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"bad Bearer {JWT}",
                    "stacktrace": {"frames": [{"function": "f", "vars": {"text": "body-secret"}}]},
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {
                    "category": "httplib",
                    "data": {
                        "url": "https://r2.example/k?X-Amz-Signature=query-secret",
                        "http.query": "X-Amz-Signature=query-secret",
                        "method": "GET",
                    },
                },
                {
                    "category": "vlvt.request",
                    "message": f"Request with {JWT}",
                    "data": {"password": "body-secret", "path": "/x"},
                },
            ]
        },
        "extra": {
            "celery-job": {
                "task_name": "chat.tasks.push_new_message",
                "args": ["body-secret"],
                "kwargs": {"text": "body-secret"},
            },
            "api_key": "header-secret",
        },
    }

    scrubbed = before_send(event, {})

    assert scrubbed["request"] == {
        "url": "https://api.example/messages/m1",
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "env": {"SERVER_NAME": "web-1"},
    }
    assert scrubbed["message"] == "token [REDACTED]"
    assert scrubbed["logentry"] == {
        "message": "login by %s",
        "params": ["[REDACTED]"],
        "formatted": "login by [REDACTED]",
    }
    assert scrubbed["exception"]["values"] == [
        {"type": "ValueError", "value": "bad [REDACTED]", "stacktrace": {"frames": [{"function": "f"}]}}
    ]
    assert scrubbed["breadcrumbs"]["values"] == [
        {"category": "httplib", "data": {"url": "https://r2.example/k", "method": "GET"}},
        {
            "category": "vlvt.request",
            "message": "Request with [REDACTED]",
            "data": {"password": "[REDACTED]", "path": "/x"},
        },
    ]
    assert scrubbed["extra"] == {
        "celery-job": {"task_name": "chat.tasks.push_new_message"},
        "api_key": "[REDACTED]",
    }
    assert not any(secret in json.dumps(scrubbed) for secret in SECRETS)


def test_before_send_accepts_headers_as_pairs_and_minimal_events():
    event = {"request": {"headers": [["Authorization", "Bearer x"], ["Accept", "*/*"]]}}
    assert before_send(event, None) == {"request": {"headers": [["Accept", "*/*"]]}}
    assert before_send({"level": "error"}, None) == {"level": "error"}
