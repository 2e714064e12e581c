"""Infrastructure routes: /health, /ready, /.well-known/security.txt (docs/contract.md,
"Infrastructure routes" and D5)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

import vlvt.server.shutdown
from tests.http.helpers import body, closed_port
from tests.support.servers import ROOT, server_env
from vlvt.server.shutdown import ShutdownCoordinator

pytestmark = pytest.mark.urls("tests.http.urls")

API = {"currentVersion": 1, "minimumVersion": 1, "supportedVersions": [1], "deprecatedVersions": []}
SECURITY_TXT = """\
# VLVT Security Policy
# See https://securitytxt.org/ for format specification (RFC 9116)

Contact: mailto:security@getvlvt.vip
Expires: 2027-01-25T00:00:00.000Z
Preferred-Languages: en
Canonical: https://api.getvlvt.vip/.well-known/security.txt
Policy: https://vlvtapp.com/.well-known/security-policy

# Security Policy
# We take security seriously. If you discover a vulnerability, please report it
# responsibly using the contact information above.
#
# What to include in your report:
# - Description of the vulnerability
# - Steps to reproduce
# - Potential impact
# - Any suggested fixes (optional)
#
# We commit to:
# - Acknowledging receipt of your report within 48 hours
# - Providing regular updates on our progress
# - Notifying you when the issue is resolved
# - Crediting you (if desired) for responsible disclosure
"""


def _assert_recent_iso(value: str) -> None:
    assert len(value) == 24 and value.endswith("Z") and value[19] == "."
    moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=1)


def _latency(check: dict) -> int:
    value = check["latencyMs"]
    assert isinstance(value, int) and value >= 0
    return value


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health", "/api/v1/health"])
def test_health_checks_database_and_redis(api, path):
    response = api.get(path)

    assert response.status_code == 200
    data = body(response)
    _assert_recent_iso(data["timestamp"])
    assert data == {
        "status": "ok",
        "service": "vlvt",
        "timestamp": data["timestamp"],
        "checks": {
            "database": {"status": "ok", "latencyMs": _latency(data["checks"]["database"])},
            "redis": {"status": "ok", "latencyMs": _latency(data["checks"]["redis"])},
        },
        "api": API,
    }


@pytest.mark.django_db
def test_health_is_503_degraded_when_redis_is_unreachable(api, settings, caplog):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"

    response = api.get("/health")

    assert response.status_code == 503
    data = body(response)
    assert data == {
        "status": "degraded",
        "service": "vlvt",
        "timestamp": data["timestamp"],
        "checks": {
            "database": {"status": "ok", "latencyMs": _latency(data["checks"]["database"])},
            "redis": {"status": "error", "latencyMs": -1},
        },
        "api": API,
    }
    assert "Health check: redis connectivity failed" in caplog.text
    assert "Connection refused" not in response.content.decode()


_HEALTH_IN_A_FRESH_PROCESS = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/health")
print(json.dumps({"status": response.status_code, "body": json.loads(response.content)}))
"""


def _health_in_process(**env: str) -> dict:
    """GET /health in a fresh process whose settings come from `env` (a real misconfiguration)."""
    result = subprocess.run(
        [sys.executable, "-c", _HEALTH_IN_A_FRESH_PROCESS],
        cwd=ROOT,
        env=server_env(LOG_FORMAT="json", DATABASE_CONNECTION_TIMEOUT_MS="1000", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    return {"result": json.loads(lines[-1]), "log": lines[:-1]}


@pytest.mark.django_db
def test_health_is_503_degraded_when_the_database_is_unreachable():
    db = connection.settings_dict
    bad_url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/vlvt_no_such_database"
    )

    run = _health_in_process(DATABASE_URL=bad_url)

    assert run["result"]["status"] == 503
    data = run["result"]["body"]
    assert data == {
        "status": "degraded",
        "service": "vlvt",
        "timestamp": data["timestamp"],
        "checks": {
            "database": {"status": "error", "latencyMs": -1},
            "redis": {"status": "ok", "latencyMs": _latency(data["checks"]["redis"])},
        },
        "api": API,
    }
    lines = [json.loads(line) for line in run["log"]]
    health_errors = [line for line in lines if line["logger"] == "vlvt.health"]
    assert [(e["level"], e["msg"]) for e in health_errors] == [
        ("error", "Health check: database connectivity failed")
    ]
    assert "vlvt_no_such_database" not in json.dumps(data)


@pytest.mark.django_db
def test_health_reports_both_failures():
    db = connection.settings_dict
    run = _health_in_process(
        DATABASE_URL=f"postgres://{db['USER']}@127.0.0.1:{closed_port()}/vlvt",
        REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
    )

    assert run["result"]["status"] == 503
    assert run["result"]["body"]["status"] == "degraded"
    assert run["result"]["body"]["checks"] == {
        "database": {"status": "error", "latencyMs": -1},
        "redis": {"status": "error", "latencyMs": -1},
    }


def test_ready_while_accepting_then_draining(api, monkeypatch):
    process_coordinator = ShutdownCoordinator(timeout=0, exit_process=lambda code: None)
    monkeypatch.setattr(vlvt.server.shutdown, "_coordinator", process_coordinator)

    ready = api.get("/ready")
    versioned = api.get("/api/v1/ready")
    process_coordinator.request_shutdown("test")
    draining = api.get("/ready")

    assert ready.status_code == 200
    assert body(ready) == {"status": "ready"}
    assert versioned.status_code == 200
    assert draining.status_code == 503
    assert body(draining) == {"status": "draining"}


def test_security_txt(api):
    response = api.get("/.well-known/security.txt")
    versioned = api.get("/api/v1/.well-known/security.txt")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == SECURITY_TXT
    assert versioned.content == response.content


def test_infrastructure_routes_are_get_only(api):
    for path in ("/ready", "/.well-known/security.txt", "/csrf-token"):
        response = api.delete(path, HTTP_AUTHORIZATION="Bearer x")
        assert response.status_code == 405, path
        assert body(response) == {"success": False, "error": "Method not allowed"}
        assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_health_check_client_is_closed_at_shutdown():
    from vlvt.http.views import _health_redis

    _health_redis()

    assert "redis (health check client)" in vlvt.server.shutdown.coordinator().closers()
