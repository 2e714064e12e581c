"""`mint_token` and `seed_demo`."""

from __future__ import annotations

import io
import time
from decimal import Decimal

import jwt
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from chat.management.commands.seed_demo import user_id
from chat.models import Message
from profiles.models import Match, Profile, Swipe, User, UserSubscription
from vlvt.http.auth import TokenError, decode_token


@pytest.fixture(autouse=True)
def _photos_in_a_temporary_directory(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # seed_demo stores photo files


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_mint_token_prints_a_token_decode_token_accepts():
    token = run("mint_token", "google_12345", "--expires-in", "120").strip()
    assert "\n" not in token
    user = decode_token(token)
    assert (user.user_id, user.provider, user.email) == ("google_12345", "email", None)
    claims = jwt.decode(token, settings.JWT_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 120
    assert abs(claims["iat"] - time.time()) < 60


def test_mint_token_provider_email_and_default_lifetime():
    token = run("mint_token", "apple_1", "--provider", "apple", "--email", "a@example.com").strip()
    user = decode_token(token)
    assert (user.user_id, user.provider, user.email) == ("apple_1", "apple", "a@example.com")
    claims = jwt.decode(token, settings.JWT_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 900


def test_mint_token_rejects_a_non_positive_lifetime():
    with pytest.raises(CommandError, match="--expires-in must be a positive number of seconds"):
        run("mint_token", "google_1", "--expires-in", "0")


def test_an_expired_minted_token_is_rejected_as_expired():
    token = jwt.encode(
        {
            **jwt.decode(run("mint_token", "google_1").strip(), settings.JWT_SECRET, algorithms=["HS256"]),
            "exp": 1,
        },
        settings.JWT_SECRET,
        algorithm="HS256",
    )
    with pytest.raises(TokenError) as info:
        decode_token(token)
    assert info.value.reason == "expired"


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "profiles": Profile.objects.count(),
        "subscriptions": UserSubscription.objects.count(),
        "swipes": Swipe.objects.count(),
        "matches": Match.objects.count(),
        "messages": Message.objects.count(),
    }


def message_digest() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT md5(string_agg(m::text, '|' ORDER BY m.id)) FROM messages m")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_realistic():
    out = run("seed_demo", "--users", "40", "--matches", "60", "--messages", "700", "--no-progress")
    first = counts()
    assert first["users"] == 40 and first["profiles"] == 40 and first["matches"] == 60
    assert first["messages"] == 700 and first["subscriptions"] == 8  # every fifth user
    assert out.strip() == (
        f"Seeded: 40 users, 40 profiles, 8 subscriptions, {first['swipes']} swipes, 60 matches, 700 messages"
    )
    digest = message_digest()

    run("seed_demo", "--users", "40", "--matches", "60", "--messages", "700", "--no-progress")
    assert counts() == first
    assert message_digest() == digest

    # Realistic: profiles around the city, every match a mutual like, messages by the pair only.
    assert set(Profile.objects.values_list("gender", flat=True)) <= {"Male", "Female", "Non-Binary"}
    for p in Profile.objects.all():
        assert p.latitude is not None and p.longitude is not None and p.age is not None
        assert Decimal("40.48") < p.latitude < Decimal("40.95") and Decimal("-74.31") < p.longitude < Decimal(
            "-73.70"
        )
        assert (
            18 <= p.age <= 55
            and 3 <= len(p.interests or ()) <= 5
            and 1 <= len(p.photos or ()) <= 4
            and p.name
            and p.bio
        )
    for m in Match.objects.all():
        assert Swipe.objects.filter(user_id=m.user_1_id, target_user_id=m.user_2_id, action="like").exists()
        assert Swipe.objects.filter(user_id=m.user_2_id, target_user_id=m.user_1_id, action="like").exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM messages msg JOIN matches m ON m.id = msg.match_id "
            "WHERE msg.sender_id NOT IN (m.user_id_1, m.user_id_2) OR msg.created_at < m.created_at "
            "OR msg.created_at::date >= CURRENT_DATE"
        )
        assert cursor.fetchone()[0] == 0
    assert User.objects.filter(id=user_id(0)).exists()
    assert Match.objects.filter(id__startswith="match_").count() == 60
    assert Message.objects.filter(id__startswith="msg_").count() == 700


@pytest.mark.django_db
def test_seed_demo_defaults_and_growth():
    run("seed_demo", "--users", "10", "--no-progress")  # matches default to users, 20 messages each
    assert (User.objects.count(), Match.objects.count(), Message.objects.count()) == (10, 10, 200)
    run("seed_demo", "--users", "12", "--matches", "10", "--messages", "200", "--no-progress")
    assert (User.objects.count(), Profile.objects.count()) == (12, 12)


@pytest.mark.django_db
def test_seed_demo_rejects_impossible_numbers_and_writes_nothing():
    with pytest.raises(CommandError, match="--matches 11 is more than the 10 pairs 5 users allow"):
        run("seed_demo", "--users", "5", "--matches", "11", "--no-progress")
    assert counts() == dict.fromkeys(counts(), 0)


@pytest.mark.django_db
def test_mint_token_output_is_accepted_by_an_authenticated_endpoint(client):
    User.objects.create(id="email_1_minted", provider="email")
    token = run("mint_token", "email_1_minted").strip()
    response = client.get("/api/v1/matches/email_1_minted", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json() == {"success": True, "matches": []}
    rejected = client.get("/api/v1/matches/email_1_minted", HTTP_AUTHORIZATION=f"Bearer {token}x")
    assert rejected.status_code == 401
    assert rejected.json() == {"success": False, "error": "Invalid token"}


@pytest.mark.django_db
def test_seed_demo_photos_are_real_images_their_urls_serve(client, settings, tmp_path):
    import pyvips

    settings.MEDIA_ROOT = tmp_path
    run("seed_demo", "--users", "6", "--matches", "3", "--messages", "0", "--no-progress")
    uid = user_id(1)
    stored = Profile.objects.get(user_id=uid).photos
    token = run("mint_token", uid).strip()
    response = client.get(f"/profile/{uid}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    urls = response.json()["profile"]["photos"]
    assert stored is not None
    assert len(urls) == len(stored) >= 1
    for url in urls:
        photo = client.get(url)
        assert (photo.status_code, photo["Content-Type"]) == (200, "image/jpeg")
        image = pyvips.Image.new_from_buffer(b"".join(photo.streaming_content), "")
        assert (image.width, image.height, image.bands) == (300, 400, 3)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.jpg"))
    everyone = Profile.objects.values_list("photos", flat=True)
    assert files == sorted(key for photos in everyone for key in photos or ())

    # Seeding again keeps the files it wrote; --no-photos writes none.
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.jpg")}
    run("seed_demo", "--users", "6", "--matches", "3", "--messages", "0", "--no-progress")
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.jpg")} == before
    settings.MEDIA_ROOT = tmp_path / "none"
    run("seed_demo", "--users", "8", "--matches", "3", "--messages", "0", "--no-progress", "--no-photos")
    assert not (tmp_path / "none").exists()
