"""POST /api/internal/cleanup-photos: HMAC-SHA256 signature, ±5 min window, erasure of every image."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from profiles import storage
from profiles.signing import EMPTY_SHA256

pytestmark = pytest.mark.django_db

PATH = "/api/internal/cleanup-photos"
SECRET = "test-internal-secret"


@pytest.fixture(autouse=True)
def secret(settings):
    settings.INTERNAL_SERVICE_SECRET = SECRET


def signature(
    timestamp: str, body_text: str | None, method: str = "POST", path: str = PATH, secret: str = SECRET
) -> str:
    body_hash = hashlib.sha256(body_text.encode()).hexdigest() if body_text else EMPTY_SHA256
    return hmac.new(
        secret.encode(), f"{method}{path}{timestamp}{body_hash}".encode(), hashlib.sha256
    ).hexdigest()


def call(
    client,
    body_text: str | None,
    *,
    timestamp: str | None = None,
    sig: str | None = None,
    headers: dict | None = None,
):
    ts = timestamp if timestamp is not None else str(int(time.time() * 1000))
    all_headers = {
        "X-Internal-Timestamp": ts,
        "X-Internal-Signature": sig if sig is not None else signature(ts, body_text),
        "X-Internal-Service": "auth-service",
        **(headers or {}),
    }
    all_headers = {k: v for k, v in all_headers.items() if v != ""}
    return client.post(PATH, data=body_text or "", content_type="application/json", headers=all_headers)


def put_files(*keys: str) -> None:
    for key in keys:
        storage.save(key, b"\xff\xd8\xffdata")


def remaining(media_root) -> list[str]:
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())


def test_cleanup_deletes_photos_thumbnails_after_hours_photos_and_selfies(client, media_root):
    put_files(
        "photos/alice/p1.jpg",
        "photos/alice/p1_thumb.jpg",
        "photos/alice/p2.jpg",
        "photos/alice/p2_thumb.jpg",
        "after-hours-photos/alice/ah1.jpg",
        "after-hours-photos/alice/ah-old.jpg",
        "verifications/alice/1700000000000.jpg",
        "photos/bob/b1.jpg",
        "photos/bob/b1_thumb.jpg",
        "verifications/bob/1.jpg",
    )
    body = json.dumps(
        {
            "userId": "alice",
            "photoKeys": [
                "photos/alice/p1.jpg",
                "https://bucket.example.com/photos/alice/p2.jpg",
                "/uploads/legacy.jpg",
            ],
        },
        separators=(",", ":"),
    )

    response = call(client, body)

    assert response.status_code == 200
    assert response.json() == {"success": True, "deleted": 7, "failed": 0}
    assert remaining(media_root) == [
        "photos/bob/b1.jpg",
        "photos/bob/b1_thumb.jpg",
        "verifications/bob/1.jpg",
    ]


def test_cleanup_of_a_user_with_nothing_stored(client):
    response = call(client, '{"userId":"ghost","photoKeys":[]}')
    assert response.json() == {"success": True, "deleted": 0, "failed": 0}


def test_signature_over_raw_bytes_with_other_spacing_is_accepted(client):
    raw = '{"userId": "ghost", "photoKeys": []}'
    assert call(client, raw).status_code == 200


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"X-Internal-Signature": ""}, "INTERNAL_SIGNATURE_MISSING"),
        ({"X-Internal-Timestamp": ""}, "INTERNAL_TIMESTAMP_MISSING"),
        ({"X-Internal-Timestamp": "soon"}, "INTERNAL_TIMESTAMP_INVALID"),
        ({"X-Internal-Timestamp": -(5 * 60 * 1000 + 5000)}, "INTERNAL_TIMESTAMP_EXPIRED"),
        ({"X-Internal-Timestamp": 5 * 60 * 1000 + 5000}, "INTERNAL_TIMESTAMP_EXPIRED"),
        ({"X-Internal-Signature": "ab" * 32}, "INTERNAL_SIGNATURE_INVALID"),
        ({"X-Internal-Signature": "abc"}, "INTERNAL_SIGNATURE_INVALID"),
    ],
)
def test_authentication_failures(client, media_root, headers, code):
    put_files("photos/alice/p1.jpg")
    body = '{"userId":"alice","photoKeys":["photos/alice/p1.jpg"]}'
    ts = headers.get("X-Internal-Timestamp")
    if isinstance(ts, int):  # an offset from now, in ms
        ts = str(int(time.time() * 1000) + ts)
    sig = headers.get("X-Internal-Signature")
    if sig is None and ts not in (None, ""):
        sig = signature(ts, body)  # a correct signature over a bad timestamp
    response = call(client, body, timestamp=ts, sig=sig)
    assert response.status_code == 403
    assert response.json() == {
        "success": False,
        "error": "Internal endpoint authentication failed",
        "code": code,
    }
    assert remaining(media_root) == ["photos/alice/p1.jpg"]


def test_signature_with_another_secret_or_tampered_body_is_refused(client, media_root):
    put_files("photos/alice/p1.jpg")
    ts = str(int(time.time() * 1000))
    body = '{"userId":"alice","photoKeys":["photos/alice/p1.jpg"]}'
    wrong_secret = call(client, body, timestamp=ts, sig=signature(ts, body, secret="other"))
    tampered = call(client, body.replace("alice", "bob"), timestamp=ts, sig=signature(ts, body))
    for response in (wrong_secret, tampered):
        assert response.json()["code"] == "INTERNAL_SIGNATURE_INVALID"
    assert remaining(media_root) == ["photos/alice/p1.jpg"]


@pytest.mark.parametrize(
    "body",
    [
        None,
        '{"photoKeys":[]}',
        '{"userId":"alice"}',
        '{"userId":"alice","photoKeys":"photos/alice/p1.jpg"}',
        '{"userId":"","photoKeys":[]}',
        '{"userId":"../x","photoKeys":[]}',
        '{"userId":"..","photoKeys":[]}',
        '{"userId":7,"photoKeys":[]}',
        "[1]",
    ],
)
def test_invalid_bodies(client, media_root, body):
    put_files("photos/alice/p1.jpg")
    response = call(client, body)
    assert (response.status_code, response.json()) == (
        400,
        {"success": False, "error": "Invalid request body"},
    )
    assert remaining(media_root) == ["photos/alice/p1.jpg"]


def test_other_methods_are_refused(client):
    response = client.get(PATH)
    assert response.status_code == 405


def test_a_replayed_signature_is_refused_within_its_window(client, media_root):
    from vlvt.redis import sync_redis

    put_files("photos/alice/p1.jpg")
    body = json.dumps({"userId": "alice", "photoKeys": []}, separators=(",", ":"))
    ts = str(int(time.time() * 1000))

    first = call(client, body, timestamp=ts)
    put_files("photos/alice/p1.jpg")  # stored again: the replay must not delete it
    replay = call(client, body, timestamp=ts)

    assert (first.status_code, first.json()) == (200, {"success": True, "deleted": 1, "failed": 0})
    assert (replay.status_code, replay.json()) == (
        403,
        {
            "success": False,
            "error": "Internal endpoint authentication failed",
            "code": "INTERNAL_SIGNATURE_REPLAYED",
        },
    )
    assert remaining(media_root) == ["photos/alice/p1.jpg"]
    # The nonce lives for the window (10 minutes: 5 either side of the timestamp), no longer.
    assert 0 < sync_redis().pttl(f"internal-signature:{signature(ts, body)}") <= 10 * 60 * 1000
    # A new request (a new timestamp, so a new signature) is served.
    fresh = call(client, body, timestamp=str(int(ts) + 1))
    assert (fresh.status_code, fresh.json()) == (200, {"success": True, "deleted": 1, "failed": 0})
