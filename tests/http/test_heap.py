"""The web process's heap once the ASGI application is built (vlvt/server/heap.py): what start-up loaded
is frozen, the view modules included, and collections run on the raised thresholds."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.servers import ROOT, server_env

PROBE = """
import gc, json
import vlvt.asgi
import chat.views, profiles.views.discovery
tracked = {id(o) for o in gc.get_objects()}
print(json.dumps({
    "threshold": gc.get_threshold(),
    "views_tracked": [id(f) in tracked for f in (chat.views.messages_history, profiles.views.discovery.discover_view)],
}))
"""


def test_start_up_objects_are_frozen_and_thresholds_raised():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=server_env(), capture_output=True, text=True, check=True
    )
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state == {"threshold": [10_000, 20, 100], "views_tracked": [False, False]}
