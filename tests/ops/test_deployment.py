"""What docs/deployment.md relies on."""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_OF_A_PROCESS = (
    "import json, os, django; django.setup(); from django.conf import settings;"
    "print(json.dumps({'pid': os.getpid(), 'name': settings.DB_APPLICATION_NAME}))"
)


def test_default_database_application_name_is_unique_per_process_and_host():
    """The shutdown watchdog ends the PostgreSQL sessions carrying this process's application name;
    in containers every server may be PID 1, so the host (pod) name is part of it."""
    env = {k: v for k, v in os.environ.items() if k != "DB_APPLICATION_NAME"}
    env["DJANGO_SETTINGS_MODULE"] = "vlvt.settings"
    out = subprocess.run(
        [sys.executable, "-c", SETTINGS_OF_A_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["name"] == f"vlvt-{seen['pid']}-{socket.gethostname()[-40:]}"
    assert len(seen["name"]) <= 63  # PostgreSQL's limit; nothing unique is cut off


def _listen_args(**env: str) -> subprocess.CompletedProcess[str]:
    """What scripts/run passes to Daphne to listen (scripts/listen.sh), for this environment."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DEV_PORTS", "PORT", "HOST")}
    command = "source scripts/listen.sh && daphne_listen_args"
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


@pytest.mark.django_db(transaction=True)
def test_dev_ports_serve_the_apps_profile_and_chat_base_urls_from_one_daphne():
    """DEV_PORTS=3002,3003 (here two free ports): the app's two development base URLs reach one
    Daphne, which answers the profile host's and the chat host's routes on either port."""
    from tests.chat.rest_support import make_user
    from tests.support.servers import BIN, ServerProcess, free_port, server_env
    from tests.support.wait import wait_until
    from vlvt.http.auth import mint_token

    profile_port, chat_port = free_port(), free_port()
    listen = _listen_args(DEV_PORTS=f"{profile_port}, {chat_port}")
    assert listen.returncode == 0, listen.stderr
    args = listen.stdout.split()
    assert args == [
        "-e",
        f"tcp:port={profile_port}:interface=127.0.0.1",
        "-e",
        f"tcp:port={chat_port}:interface=127.0.0.1",
    ]
    user = make_user(name="Ada")
    server = ServerProcess(
        [str(BIN / "daphne"), *args, "vlvt.asgi:application"], server_env(), name="daphne-dev-ports"
    )
    try:
        headers = {"Authorization": f"Bearer {mint_token(user)}"}

        def get(port: int, path: str) -> requests.Response | None:
            try:
                return requests.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=5)
            except requests.ConnectionError:
                return None

        def get_json(port: int, path: str) -> Any:
            response = get(port, path)
            assert response is not None
            return response.json()

        for port in (profile_port, chat_port):
            wait_until(functools.partial(get, port, "/health"), timeout=30, what=f"daphne on {port}")
            assert get_json(port, f"/api/v1/profile/{user}")["profile"]["name"] == "Ada"
            assert get_json(port, f"/api/v1/matches/{user}") == {"success": True, "matches": []}
    finally:
        server.stop()


def test_dev_ports_default_and_bad_values():
    assert _listen_args().stdout.split() == ["-e", "tcp:port=8000:interface=127.0.0.1"]
    assert _listen_args(PORT="9000", HOST="0.0.0.0").stdout.split() == [
        "-e",
        "tcp:port=9000:interface=0.0.0.0",
    ]
    bad = _listen_args(DEV_PORTS="3002,chat")
    assert (bad.returncode, bad.stdout, bad.stderr.strip()) == (
        1,
        "",
        "DEV_PORTS: 'chat' is not a port number",
    )
