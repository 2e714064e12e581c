"""What one image may cost (profiles.images): a picture over 50 megapixels is refused from its
header (a real Daphne's peak memory does not move), and decodes per process are bounded (a decode
that finds every slot taken is a 503 with Retry-After and changes nothing) on the three routes
that decode: photo upload, verification submit, After Hours photo."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import pyvips
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from profiles import images
from profiles.models import AfterHoursProfile, Profile, Verification
from tests.after_hours.conftest import make_member
from tests.profiles import imagegen
from tests.profiles.conftest import make_user
from tests.support.servers import start_daphne
from vlvt.http.auth import mint_token

TOO_MANY_PIXELS = {"success": False, "error": "Image dimensions are too large. The maximum is 50 megapixels."}


def _peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def _upload(base_url: str, data: bytes) -> requests.Response:
    return requests.post(
        f"{base_url}/profile/photos/upload",
        files={"photo": ("photo.png", data, "image/png")},
        headers={"Authorization": f"Bearer {mint_token('alice')}"},
        timeout=60,
    )


@pytest.mark.django_db(transaction=True)
def test_a_100_megapixel_16_bit_png_is_refused_from_its_header_without_the_memory(tmp_path):
    make_user("alice")
    bomb = pyvips.Image.black(10000, 10000, bands=3).cast("ushort").pngsave_buffer(compression=9)
    assert len(bomb) < 1024 * 1024  # small on disk; 600 MB of pixels
    server = start_daphne(MEDIA_ROOT=str(tmp_path / "media"))
    try:
        assert _upload(server.base_url, imagegen.png(64, 48)).status_code == 200  # libvips started
        peak_before = _peak_rss_kb(server.pid)

        response = _upload(server.base_url, bomb)

        assert response.status_code == 400
        assert response.json() == TOO_MANY_PIXELS
        assert _peak_rss_kb(server.pid) - peak_before < 50 * 1024
        assert len(Profile.objects.get(pk="alice").photos or ()) == 1
    finally:
        server.stop()


@pytest.fixture
def slots_taken(monkeypatch):
    """Every decode slot of this process held by someone else, and no patience to wait for one."""
    monkeypatch.setattr(images, "DECODE_WAIT_SECONDS", 0)
    for _ in range(images.DECODE_SLOTS):
        assert images._gate.slots.acquire(timeout=5)
    yield
    for _ in range(images.DECODE_SLOTS):
        images._gate.slots.release()


def _png() -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.png", imagegen.png(64, 48), content_type="image/png")


def _busy(response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {"success": False, "error": "Too many images are being processed, please retry"}


@pytest.mark.django_db
def test_a_photo_upload_finding_every_decode_slot_taken_is_a_503(api, media_root, slots_taken):
    make_user("alice")

    _busy(api("alice").upload("/profile/photos/upload", {"photo": _png()}))

    assert Profile.objects.get(pk="alice").photos == []
    assert not media_root.exists() or not any(media_root.rglob("*.jpg"))


@pytest.mark.django_db
def test_a_verification_finding_every_decode_slot_taken_is_a_503(api, media_root, slots_taken):
    make_user("alice", photos=["photos/alice/one.jpg"])

    _busy(api("alice").upload("/verification/submit", {"selfie": _png()}, {"gesturePrompt": "thumbs_up"}))

    assert not Verification.objects.filter(user_id="alice").exists()


@pytest.mark.django_db
def test_an_after_hours_photo_finding_every_decode_slot_taken_is_a_503(api, media_root, slots_taken):
    make_member("alice")

    _busy(api("alice").upload("/after-hours/profile/photo", {"photo": _png()}))

    assert AfterHoursProfile.objects.get(pk="alice").photo_url == ""


def test_at_most_decode_queue_decodes_wait_for_a_slot_the_others_are_refused_at_once(monkeypatch):
    monkeypatch.setattr(images, "DECODE_QUEUE", 2)
    png = imagegen.png(64, 48)
    outcomes: list[str] = []

    def decode() -> None:
        try:
            images.decode(png, "image/png")
            outcomes.append("decoded")
        except images.DecoderBusy:
            outcomes.append("busy")

    for _ in range(images.DECODE_SLOTS):
        assert images._gate.slots.acquire(timeout=5)
    callers = [threading.Thread(target=decode) for _ in range(5)]
    try:
        for caller in callers:
            caller.start()
        for _ in range(3000):  # until everyone is placed (or 30 s)
            if len(outcomes) >= 3 and images._gate.waiting >= 2:
                break
            threading.Event().wait(0.01)
        assert (outcomes, images._gate.waiting) == (["busy"] * 3, 2)
    finally:
        for _ in range(images.DECODE_SLOTS):
            images._gate.slots.release()
    for caller in callers:
        caller.join(30)
    assert sorted(outcomes) == ["busy"] * 3 + ["decoded"] * 2
