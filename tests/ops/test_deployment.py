"""What docs/deployment.md relies on."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

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
    out = subprocess.run([sys.executable, "-c", SETTINGS_OF_A_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["name"] == f"vlvt-{seen['pid']}-{socket.gethostname()[-40:]}"
    assert len(seen["name"]) <= 63  # PostgreSQL's limit; nothing unique is cut off
