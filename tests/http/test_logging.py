"""Structured logs (docs/contract.md, D6): one JSON object a line on stdout, the correlation id on every line
of a request, and never a token, a secret or a body."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest

from tests.support.servers import ROOT, server_env
from vlvt.logs import ContextFilter, JsonFormatter, TextFormatter, correlation_id, scrub

_REQUESTS = r"""
import json, sys, django
django.setup()
from django.test import Client, override_settings

token = sys.argv[1]
bearer = "Bearer " + token
out = {}
with override_settings(ROOT_URLCONF="tests.http.urls"):
    api = Client(raise_request_exception=False)
    r = api.get("/csrf-token")
    out["csrf"] = json.loads(r.content)["csrfToken"]
    r = api.get("/t/describe?token=query-secret-value", HTTP_AUTHORIZATION=bearer, HTTP_USER_AGENT="vlvt-app/1.0")
    out["describe"] = r["X-Correlation-ID"]
    r = api.post(
        "/t/echo",
        json.dumps({"password": "pw-secret", "text": "hello private message"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer,
        HTTP_X_CORRELATION_ID="trace-abc",
    )
    out["echo_status"] = r.status_code
    r = api.get("/t/boom", HTTP_AUTHORIZATION=bearer)
    out["boom"] = r["X-Correlation-ID"]
    out["boom_status"] = r.status_code
    r = api.get("/t/log")
    out["log"] = r["X-Correlation-ID"]
sys.stderr.write("RESULT " + json.dumps(out) + "\n")
"""


@pytest.fixture(scope="module")
def json_run(django_db_blocker) -> dict:
    from vlvt.http.auth import mint_token

    with django_db_blocker.unblock():
        env = server_env(LOG_FORMAT="json", LOG_LEVEL="INFO")
    token = mint_token("user_log_1")
    result = subprocess.run(
        [sys.executable, "-c", _REQUESTS, token],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    [marker] = [line for line in result.stderr.splitlines() if line.startswith("RESULT ")]
    return {"token": token, "stdout": result.stdout, "out": json.loads(marker[len("RESULT ") :])}


def _lines(run: dict) -> list[dict]:
    return [json.loads(line) for line in run["stdout"].splitlines() if line.strip()]


def test_every_stdout_line_is_one_json_object(json_run):
    raw_lines = [line for line in json_run["stdout"].splitlines() if line.strip()]

    assert len(raw_lines) >= 10
    for line in raw_lines:
        record = json.loads(line)
        assert isinstance(record, dict)
        assert {"ts", "level", "logger", "msg"} <= set(record)


def test_request_started_and_completed_lines(json_run):
    cid = json_run["out"]["describe"]
    mine = [line for line in _lines(json_run) if line.get("correlationId") == cid]

    assert [line["msg"] for line in mine] == ["Request started", "Request completed"]
    started, completed = mine
    assert {k: started[k] for k in ("level", "logger", "method", "path", "userAgent")} == {
        "level": "info",
        "logger": "vlvt.request",
        "method": "GET",
        "path": "/t/describe",
        "userAgent": "vlvt-app/1.0",
    }
    assert {k: completed[k] for k in ("method", "path", "status")} == {
        "method": "GET",
        "path": "/t/describe",
        "status": 200,
    }
    assert isinstance(completed["durationMs"], int | float) and completed["durationMs"] >= 0


def test_incoming_correlation_id_is_on_the_lines_of_its_request(json_run):
    mine = [line for line in _lines(json_run) if line.get("correlationId") == "trace-abc"]

    assert json_run["out"]["echo_status"] == 200
    assert [(line["msg"], line.get("status")) for line in mine] == [
        ("Request started", None),
        ("Request completed", 200),
    ]


def test_unhandled_exception_is_logged_with_traceback_and_correlation_id(json_run):
    cid = json_run["out"]["boom"]
    errors = [
        line for line in _lines(json_run) if line["level"] == "error" and line["logger"] == "django.request"
    ]

    assert json_run["out"]["boom_status"] == 500
    [error] = [line for line in errors if line.get("correlationId") == cid]
    assert error["msg"] == "Internal Server Error: /t/boom"
    assert error["status_code"] == 500
    assert error["request"] == "GET /t/boom"
    assert "Traceback" in error["exc"]
    assert "RuntimeError: boom with [REDACTED]" in error["exc"]


def test_lines_logged_by_a_view_carry_the_correlation_id_and_redact_secret_fields(json_run):
    cid = json_run["out"]["log"]
    [line] = [line for line in _lines(json_run) if line["msg"] == "view log line"]

    assert line["correlationId"] == cid
    assert line["accessToken"] == "[REDACTED]"
    assert line["matchId"] == "match_1"


def test_no_token_secret_or_body_reaches_the_log(json_run):
    stdout = json_run["stdout"]

    assert json_run["token"] not in stdout
    assert json_run["token"].split(".")[2] not in stdout  # not even the signature part
    assert json_run["out"]["csrf"] not in stdout
    assert "Bearer" not in stdout and "bearer" not in stdout
    assert "query-secret-value" not in stdout
    assert "pw-secret" not in stdout
    assert "hello private message" not in stdout
    assert "tok-123-secret" not in stdout


# --- the pieces, in process -----------------------------------------------------------------------


def _record(msg: str, **extra) -> logging.LogRecord:
    record = logging.LogRecord("tests.http", logging.INFO, __file__, 1, msg, None, None)
    record.__dict__.update(extra)
    return record


def test_scrub_masks_bearer_tokens_and_jwts(jwt_for):
    token = jwt_for("u1")

    assert scrub(f"auth Bearer {token} end") == "auth [REDACTED] end"
    assert scrub("header=bearer abc.def") == "header=[REDACTED]"
    assert scrub(f"jwt {token} inside") == "jwt [REDACTED] inside"
    assert scrub("nothing to hide here") == "nothing to hide here"


def test_json_formatter_redacts_fields_by_name_and_value(jwt_for):
    token = jwt_for("u1")
    record = _record(
        "msg",
        password="p",
        refreshToken="r",
        apiKey="k",
        headers={"Authorization": "x", "Accept": "y"},
        note=f"got {token}",
        code="CSRF_TOKEN_INVALID",
    )

    line = json.loads(JsonFormatter().format(record))

    assert {k: line[k] for k in ("password", "refreshToken", "apiKey", "headers", "note", "code")} == {
        "password": "[REDACTED]",
        "refreshToken": "[REDACTED]",
        "apiKey": "[REDACTED]",
        "headers": {"Authorization": "[REDACTED]", "Accept": "y"},
        "note": "got [REDACTED]",
        "code": "CSRF_TOKEN_INVALID",
    }


def test_context_filter_adds_the_current_correlation_id():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("tests.http.context")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("outside a request")
        token = correlation_id.set("err-1-abcdef01")
        try:
            logger.warning("inside a request", extra={"matchId": "m1"})
        finally:
            correlation_id.reset(token)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    outside, inside = stream.getvalue().splitlines()
    assert outside.endswith("WARNING tests.http.context outside a request")
    assert inside.endswith(
        'WARNING tests.http.context inside a request matchId="m1" correlationId="err-1-abcdef01"'
    )
