"""Settings for server processes started by tests: the real project plus a few test-only routes."""

from vlvt.settings import *  # noqa: F403
from vlvt.settings import INSTALLED_APPS

ROOT_URLCONF = "tests.support.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "tests.support.apps.TestSupportConfig"]
