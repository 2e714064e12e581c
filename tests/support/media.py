"""Photos stored on the local filesystem in a fresh directory per test (no R2 settings: the
filesystem storage). A package whose tests all store photos imports the fixture into its conftest:

    from tests.support.media import media_root  # noqa: F401  (autouse in this package)
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.R2_ACCOUNT_ID = ""
    settings.R2_ACCESS_KEY_ID = ""
    settings.R2_SECRET_ACCESS_KEY = ""
    return settings.MEDIA_ROOT
