"""Production settings and the admin login: hosts must be named, the admin's cookies are Secure,
and the login is throttled per account and per address (Redis, the project's limiter)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.contrib.auth.models import User as StaffUser
from django.test import Client

from tests.support.servers import ROOT, server_env
from vlvt.http import admin_login
from vlvt.http.ratelimit import limiter_redis

_SETTINGS = (
    "import json; from django.conf import settings; print(json.dumps([settings.ALLOWED_HOSTS, "
    "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE]))"
)
PRODUCTION = {
    "APP_ENV": "production",
    "JWT_SECRET": "j" * 32,
    "CORS_ORIGIN": "https://app.getvlvt.vip",
    "DJANGO_SECRET_KEY": "s" * 50,
    "INTERNAL_SERVICE_SECRET": "i" * 32,
}


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    environment = server_env(**PRODUCTION, **env)
    if "ALLOWED_HOSTS" not in env:
        environment.pop("ALLOWED_HOSTS", None)
    return subprocess.run(
        [sys.executable, "-c", _SETTINGS],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("hosts", "line"),
    [
        (None, "vlvt: required setting ALLOWED_HOSTS is not set\n"),
        ("*", "vlvt: required setting ALLOWED_HOSTS (a list of host names, not '*') is not set\n"),
        (
            "api.getvlvt.vip,*",
            "vlvt: required setting ALLOWED_HOSTS (a list of host names, not '*') is not set\n",
        ),
    ],
)
def test_production_refuses_to_start_without_named_hosts(hosts, line):
    result = load_settings(**({"ALLOWED_HOSTS": hosts} if hosts is not None else {}))
    assert (result.returncode, result.stderr, result.stdout) == (1, line, "")


def test_production_with_hosts_has_secure_admin_cookies():
    result = load_settings(ALLOWED_HOSTS="api.getvlvt.vip, admin.getvlvt.vip")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [["api.getvlvt.vip", "admin.getvlvt.vip"], True, True]


@pytest.mark.django_db
def test_probes_answer_whatever_the_host_when_hosts_are_named(client, settings):
    settings.ALLOWED_HOSTS = ["api.getvlvt.vip"]
    assert client.get("/ready", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/csrf-token", HTTP_HOST="10.1.2.3:8000").status_code == 400


@pytest.mark.django_db
def test_admin_cookies_are_secure_with_the_production_values(settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    StaffUser.objects.create_superuser(username="mod", password="right-pass-1")
    client = Client()
    page = client.get("/admin/login/")
    login = client.post("/admin/login/", {"username": "mod", "password": "right-pass-1", "next": "/admin/"})
    assert login.status_code == 302
    assert page.cookies["django-csrftoken"]["secure"] is True
    assert login.cookies["sessionid"]["secure"] is True


# --- the login throttle ---------------------------------------------------------------------------


def login(username: str, password: str, address: str) -> tuple[bool, str]:
    client = Client(REMOTE_ADDR=address)
    response = client.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"})
    return "_auth_user_id" in client.session, response.content.decode() if response.status_code == 200 else ""


def window_passes(key: str) -> None:
    """End the window now instead of waiting 15 minutes (Redis expires the key itself)."""
    redis = limiter_redis()
    assert 0 < redis.pttl(key) <= admin_login.LOGIN_WINDOW * 1000
    redis.pexpire(key, 1)
    while redis.exists(key):
        pass


@pytest.mark.django_db
def test_failed_logins_lock_the_account_even_with_the_right_password():
    StaffUser.objects.create_superuser(username="mod", password="right-pass-1")
    for n in range(admin_login.LOGIN_FAILURES):
        logged_in, page = login("mod", f"wrong-{n}", f"10.0.0.{n + 1}")  # a new address each time
        assert not logged_in and "Please enter the correct username and password" in page

    logged_in, page = login("MOD", "right-pass-1", "10.9.9.9")  # any spelling, any address
    assert not logged_in and admin_login.THROTTLED in page
    logged_in, page = login("mod", "right-pass-1", "10.9.9.9")
    assert not logged_in and admin_login.THROTTLED in page

    window_passes(admin_login.per_account.subject_key("mod"))
    assert login("mod", "right-pass-1", "10.9.9.9") == (True, "")


@pytest.mark.django_db
def test_failed_logins_lock_the_address_for_every_account():
    StaffUser.objects.create_superuser(username="mod", password="right-pass-1")
    for n in range(admin_login.LOGIN_FAILURES):
        logged_in, page = login(f"guess{n}", "wrong", "10.0.0.7")  # a new account name each time
        assert not logged_in and "Please enter the correct username and password" in page

    logged_in, page = login("mod", "right-pass-1", "10.0.0.7")
    assert not logged_in and admin_login.THROTTLED in page
    assert login("mod", "right-pass-1", "10.0.0.8") == (True, "")  # another address is served

    window_passes(admin_login.per_address.subject_key("10.0.0.7"))
    assert login("mod", "right-pass-1", "10.0.0.7") == (True, "")


@pytest.mark.parametrize("name", ["DATABASE_POOL_MAX", "DATABASE_LOOP_POOL_MAX"])
def test_a_pool_of_no_connection_stops_start_up_with_one_line(name):
    # A pool that can never give a connection would make every request wait for nothing.
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.DATABASES"],
        cwd=ROOT,
        env=server_env(**{name: "0"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr, result.stdout) == (
        1,
        f"vlvt: setting {name} must be an integer of at least 1, got 0\n",
        "",
    )
