"""Server answers the fuzzer found wrong, kept as regression tests (against a real Daphne)."""

from __future__ import annotations

import httpx
import pytest

from tests.chat.rest_support import make_user
from tests.support.servers import start_daphne
from vlvt.http.auth import mint_token

BOUNDARY = "c637e12e2b1a998d80d1b087531af51c"


@pytest.fixture
def server():
    daphne = start_daphne(LOG_LEVEL="WARNING", RATE_LIMITS_ENABLED="false")
    yield daphne
    daphne.stop()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("body", "error"),
    [
        (f"--{BOUNDARY}--\r\n", "No file uploaded"),  # a multipart body without any part
        ("not multipart at all", "No file uploaded"),
    ],
)
def test_a_malformed_multipart_body_reaches_the_application_and_gets_its_json_answer(server, body, error):
    """Twisted used to parse multipart bodies itself and answer a malformed one with an empty 400."""
    make_user("alice")
    response = httpx.post(
        f"{server.base_url}/profile/photos/upload",
        content=body.encode(),
        headers={
            "Authorization": f"Bearer {mint_token('alice')}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
        timeout=30,
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"success": False, "error": error}
