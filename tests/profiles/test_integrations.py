"""The optional integrations behind their interfaces: R2 storage, FCM push, Rekognition.

What leaves the machine is stubbed at the client library's edge (botocore Stubber, the
firebase_admin send call); everything else runs for real.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.stub import Stubber
from storages.backends.s3 import S3Storage

from profiles import push as push_module
from profiles import storage
from profiles.faces import (
    FaceComparisonFailed,
    RekognitionComparer,
    UnavailableComparer,
    face_comparer,
    set_face_comparer,
)
from profiles.models import FcmToken
from profiles.push import (
    FirebaseBackend,
    NoopBackend,
    PushMessage,
    match_message,
    push_backend,
    push_send_to_user,
    set_push_backend,
)
from tests.profiles.conftest import add_token, make_user


@pytest.fixture
def r2(settings, monkeypatch):
    settings.R2_ACCOUNT_ID = "acct123"
    settings.R2_ACCESS_KEY_ID = "AKIDEXAMPLE"
    settings.R2_SECRET_ACCESS_KEY = "secret/example"
    settings.R2_BUCKET_NAME = "vlvt-images"
    settings.R2_URL_EXPIRY_SECONDS = 3600
    yield
    storage.photo_storage.cache_clear()


def test_local_storage_is_the_default():
    assert isinstance(storage.photo_storage(), storage.LocalPhotoStorage)
    assert storage.r2_configured() is False


def test_r2_storage_presigns_keys_and_passes_legacy_values_through(r2):
    backend = storage.photo_storage()
    assert isinstance(backend, S3Storage)
    url = storage.resolve_url("photos/alice/abc.jpg")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.scheme == "https"
    assert parts.netloc.endswith("acct123.r2.cloudflarestorage.com")
    assert parts.path.endswith("photos/alice/abc.jpg")
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["3600"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert "/auto/s3/aws4_request" in query["X-Amz-Credential"][0]
    assert storage.resolve_urls(
        ["/uploads/x.jpg", "http://a.example.com/y.jpg", "https://b.example.com/z.jpg"], owner="alice"
    ) == [
        "/uploads/x.jpg",
        "http://a.example.com/y.jpg",
        "https://b.example.com/z.jpg",
    ]


def test_r2_delete_removes_the_key_and_its_thumbnail(r2):
    backend = storage.photo_storage()
    assert isinstance(backend, S3Storage)
    client = backend.connection.meta.client
    photo = "photos/alice/5d0f3c8e-8a51-4c1e-9d2b-0c6f1f3e2a10"
    with Stubber(client) as stub:
        for key in (f"{photo}.jpg", f"{photo}_thumb.jpg"):
            stub.add_response("delete_object", {}, {"Bucket": "vlvt-images", "Key": key})
        storage.delete_photo(
            f"https://vlvt-images.acct123.r2.cloudflarestorage.com/{photo}.jpg?X-Amz-Signature=1",
            owner="alice",
        )
        stub.assert_no_pending_responses()


def test_r2_delete_failure_is_logged_not_raised(r2):
    backend = storage.photo_storage()
    assert isinstance(backend, S3Storage)
    client = backend.connection.meta.client
    with Stubber(client) as stub:
        stub.add_client_error("delete_object", service_error_code="InternalError", http_status_code=500)
        assert storage.delete_key("photos/alice/abc.jpg") is False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.jpg",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:8000/a.jpg",
        "https://10.0.0.5/p.jpg",
    ],
)
def test_reading_a_photo_url_never_reaches_internal_addresses(url):
    with pytest.raises(PermissionError):
        storage.read_bytes(url, owner="mallory")


def test_key_helpers():
    assert storage.thumbnail_key("photos/u/p.jpg") == "photos/u/p_thumb.jpg"
    own = "photos/u/5d0f3c8e-8a51-4c1e-9d2b-0c6f1f3e2a10.jpg"
    assert storage.key_from_value(own, owner="u") == own
    assert storage.key_from_value(own, owner="v") is None
    assert storage.key_from_value("/uploads/a.jpg", owner="u") is None
    # A URL of another host is opaque, whatever its path looks like.
    assert storage.key_from_value(f"https://x.example.com/{own}?sig=1", owner="u") is None
    assert storage.key_from_value("photos/u/../v/5d0f3c8e-8a51-4c1e-9d2b-0c6f1f3e2a10.jpg", owner="u") is None
    assert storage.key_from_value("photos/u/p.jpg", owner="u") is None
    key, thumb = storage.photo_keys("u1")
    assert key.startswith("photos/u1/") and thumb == key.replace(".jpg", "_thumb.jpg")
    assert storage.after_hours_photo_key("u1").startswith("after-hours-photos/u1/")
    assert storage.selfie_key("u1").startswith("verifications/u1/")


# --- push -------------------------------------------------------------------------------


def test_push_without_firebase_is_a_logged_noop(settings, caplog):
    set_push_backend(None)
    settings.FIREBASE_PROJECT_ID = ""
    backend = push_backend()
    assert isinstance(backend, NoopBackend)
    with caplog.at_level("INFO", logger="profiles.push"):
        assert backend.send(["t1", "t2"], match_message(match_id="match_1", matched_user_name="Bob")) == [
            "skipped",
            "skipped",
        ]
    assert "push skipped: Firebase is not configured" in caplog.text


@pytest.mark.django_db
def test_push_send_deactivates_invalid_tokens_only(push):
    make_user("alice")
    add_token("alice", "good")
    add_token("alice", "gone")
    push.invalid.add("gone")
    result = push_send_to_user(user_id="alice", message=PushMessage(title="t", body="b"))
    assert result == {"sent": 1, "invalid": 1, "failed": 0}
    assert dict(FcmToken.objects.values_list("token", "is_active")) == {"good": True, "gone": False}
    assert push_send_to_user(user_id="alice", message=PushMessage(title="t", body="b")) == {
        "sent": 1,
        "invalid": 0,
        "failed": 0,
    }


@pytest.mark.django_db
def test_push_to_user_without_tokens_sends_nothing(push):
    make_user("alice")
    assert push_send_to_user(user_id="alice", message=PushMessage(title="t", body="b")) == {
        "sent": 0,
        "invalid": 0,
        "failed": 0,
    }
    assert push.sent == []


@pytest.fixture
def firebase(settings):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.FIREBASE_PROJECT_ID = "vlvt-test"
    settings.FIREBASE_CLIENT_EMAIL = "push@vlvt-test.iam.gserviceaccount.com"
    settings.FIREBASE_PRIVATE_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    set_push_backend(None)
    yield
    set_push_backend(None)


def test_malformed_firebase_key_disables_push_loudly(settings, caplog):
    settings.FIREBASE_PROJECT_ID = "p"
    settings.FIREBASE_CLIENT_EMAIL = "e@p.iam.gserviceaccount.com"
    settings.FIREBASE_PRIVATE_KEY = "not a key"
    set_push_backend(None)
    with caplog.at_level("ERROR", logger="profiles.push"):
        assert isinstance(push_backend(), NoopBackend)
    assert "Firebase initialisation failed" in caplog.text
    set_push_backend(None)


def test_firebase_backend_builds_the_match_message_and_maps_errors(firebase, monkeypatch):
    from firebase_admin import exceptions, messaging

    backend = push_backend()
    assert isinstance(backend, FirebaseBackend)
    captured = {}

    def fake_send(multicast, app=None):
        captured["message"] = multicast
        return SimpleNamespace(
            responses=[
                SimpleNamespace(success=True, exception=None),
                SimpleNamespace(success=False, exception=messaging.UnregisteredError("gone")),
                SimpleNamespace(
                    success=False,
                    exception=exceptions.InvalidArgumentError(
                        "The registration token is not a valid FCM registration token"
                    ),
                ),
                SimpleNamespace(success=False, exception=exceptions.UnavailableError("try later")),
            ]
        )

    monkeypatch.setattr(messaging, "send_each_for_multicast", fake_send)
    outcomes = backend.send(["a", "b", "c", "d"], match_message(match_id="match_9", matched_user_name="Bob"))

    assert outcomes == ["sent", "invalid_token", "invalid_token", "failed"]
    message = captured["message"]
    assert message.tokens == ["a", "b", "c", "d"]
    assert (message.notification.title, message.notification.body) == (
        "🎉 It's a match!",
        "You and Bob liked each other!",
    )
    assert message.data == {
        "type": "match",
        "matchId": "match_9",
        "matchedUserName": "Bob",
        "click_action": "FLUTTER_NOTIFICATION_CLICK",
    }
    assert (
        message.apns.payload.aps.sound,
        message.apns.payload.aps.badge,
        message.apns.payload.aps.content_available,
    ) == ("default", 1, True)
    assert (
        message.android.priority,
        message.android.notification.channel_id,
        message.android.notification.sound,
        message.android.notification.priority,
    ) == (
        "high",
        "matches",
        "default",
        "high",
    )


def test_push_notify_waits_for_commit(push, django_capture_on_commit_callbacks, db):
    make_user("alice")
    add_token("alice", "tok")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        push_module.push_notify(user_id="alice", message=PushMessage(title="t", body="b"))
    assert push.sent == []
    for callback in callbacks:
        callback()
    assert [tokens for tokens, _ in push.sent] == [["tok"]]


# --- face comparison -----------------------------------------------------------------------


def test_face_comparer_defaults_to_unavailable(settings):
    set_face_comparer(None)
    settings.REKOGNITION_ENABLED = False
    assert isinstance(face_comparer(), UnavailableComparer)


def test_rekognition_comparer(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    settings.REKOGNITION_ENABLED = True
    set_face_comparer(None)
    comparer = face_comparer()
    assert isinstance(comparer, RekognitionComparer)
    with Stubber(comparer.client) as stub:
        stub.add_response(
            "compare_faces",
            {"FaceMatches": [{"Similarity": 88.1}, {"Similarity": 93.4}], "UnmatchedFaces": []},
            {
                "SourceImage": {"Bytes": b"selfie"},
                "TargetImage": {"Bytes": b"ref"},
                "SimilarityThreshold": 90.0,
            },
        )
        stub.add_response("compare_faces", {"FaceMatches": []}, None)
        stub.add_client_error("compare_faces", service_error_code="InvalidParameterException")
        first = comparer.compare(source=b"selfie", target=b"ref", threshold=90.0)
        none = comparer.compare(source=b"s", target=b"r", threshold=90.0)
        with pytest.raises(FaceComparisonFailed):
            comparer.compare(source=b"s", target=b"r", threshold=90.0)
    assert first.similarity == 93.4
    assert first.raw == {"FaceMatches": [{"Similarity": 88.1}, {"Similarity": 93.4}], "UnmatchedFaces": []}
    assert none.similarity == 0.0
    set_face_comparer(None)


def test_r2_save_puts_the_object_with_its_content_type(r2):
    from botocore.stub import ANY

    backend = storage.photo_storage()
    assert isinstance(backend, S3Storage)
    client = backend.connection.meta.client
    with Stubber(client) as stub:
        stub.add_response(
            "put_object",
            {"ETag": '"abc"'},
            {
                "Bucket": "vlvt-images",
                "Key": "photos/alice/new.jpg",
                "Body": ANY,
                "ContentType": "image/jpeg",
            },
        )
        assert storage.save("photos/alice/new.jpg", b"\xff\xd8\xffjpeg") == "photos/alice/new.jpg"
        stub.assert_no_pending_responses()
