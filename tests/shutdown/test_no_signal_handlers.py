"""Importing the project installs no signal handler (issue 3, acceptance 7).

The whole test run is checked too: tests/conftest.py compares the handlers at session start and end.
"""

import subprocess
import sys

from tests.support.servers import ROOT

SCRIPT = """
import signal, os, importlib, pkgutil
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vlvt.settings")
before = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
import django
django.setup()
import vlvt.settings, vlvt.asgi, vlvt.celery, vlvt.urls
for app in ("vlvt", "profiles", "chat"):
    package = importlib.import_module(app)
    for info in pkgutil.walk_packages(package.__path__, app + "."):
        if ".migrations" in info.name or info.name.endswith(".management.commands"):
            continue
        importlib.import_module(info.name)
after = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
print("SAME" if before == after else f"CHANGED {before} -> {after}")
"""


def test_importing_every_module_leaves_sigterm_and_sigint_alone():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "SAME"
