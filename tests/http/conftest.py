from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def api() -> Client:
    """A test client that returns the 500 response instead of re-raising the view's exception."""
    return Client(raise_request_exception=False)
