"""Moderation in the Django admin: the reports queue, decisions with notes and reviewer, read-only
pages, message text only on a report's page, and photo bans by perceptual hash."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User as StaffUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.models import AfterHoursMessage, Report
from profiles.after_hours.phash import phash_image
from profiles.images import process_single
from profiles.models import AfterHoursMatch, BannedPhotoHash, Block, Profile, User
from tests.after_hours.conftest import make_member, open_session
from tests.chat.rest_support import make_match, make_message, make_user
from tests.ops.conftest import make_report

pytestmark = pytest.mark.django_db

REPORTS = "/admin/chat/report/"
VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "after_hours" / "data" / "phash-vectors.json").read_text()
)["vectors"]


# --- access ------------------------------------------------------------------------------------------


def test_the_admin_needs_a_staff_login(client):
    response = client.get(REPORTS)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={REPORTS}"


def test_a_non_staff_login_is_refused(client):
    StaffUser.objects.create_user(username="app", password="pass-app-1")
    response = client.post("/admin/login/", {"username": "app", "password": "pass-app-1", "next": REPORTS})
    assert response.status_code == 200
    assert "Please enter the correct username and password for a staff account" in response.content.decode()
    assert "_auth_user_id" not in client.session


# --- the queue ---------------------------------------------------------------------------------------


def test_queue_lists_pending_reports_first_and_tells_after_hours_apart(moderator_client):
    for user_id in ("alice", "bob", "carol"):
        make_user(user_id)
    done = make_report("alice", "bob", "spam", status="resolved")
    old = make_report("alice", "bob", "harassment")
    new_ah = make_report("carol", "bob", "after_hours:inappropriate")
    Report.objects.filter(pk=done.pk).update(created_at="2030-01-01T00:00:00Z")  # newest, but not pending
    Report.objects.filter(pk=old.pk).update(created_at="2024-01-01T00:00:00Z")

    response = moderator_client.get(REPORTS)
    assert [r.pk for r in response.context["cl"].result_list] == [new_ah.pk, old.pk, done.pk]
    html = response.content.decode()
    assert "After Hours" in html and "Main app" in html and "inappropriate" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=after_hours", {"ah"}),
        ("kind=main", {"spam", "harass"}),
        ("status__exact=resolved", {"spam"}),
        ("reason=harassment", {"harass"}),
        ("reason=after_hours%3Ainappropriate", {"ah"}),
    ],
)
def test_queue_filters_by_kind_status_and_reason(moderator_client, query, expected):
    for user_id in ("alice", "bob"):
        make_user(user_id)
    reports = {
        "spam": make_report("alice", "bob", "spam", status="resolved"),
        "harass": make_report("alice", "bob", "harassment"),
        "ah": make_report("bob", "alice", "after_hours:inappropriate"),
    }
    response = moderator_client.get(f"{REPORTS}?{query}")
    assert response.status_code == 200
    shown = {r.pk for r in response.context["cl"].result_list}
    assert shown == {reports[name].pk for name in expected}


# --- decisions ---------------------------------------------------------------------------------------


def test_resolving_a_report_records_the_decision_notes_and_reviewer(moderator_client, moderator):
    make_user("alice")
    make_user("bob")
    report = make_report("alice", "bob", "harassment", details="Rude messages")

    response = moderator_client.post(
        f"{REPORTS}{quote(report.pk)}/change/",
        {"status": "resolved", "resolution_notes": "  Warned the user.  "},
    )

    assert response.status_code == 302
    stored = Report.objects.get(pk=report.pk)
    assert (stored.status, stored.resolution_notes, stored.reviewed_by) == (
        "resolved",
        "Warned the user.",
        "mona",
    )
    assert stored.reviewed_at is not None and stored.updated_at is not None
    assert stored.updated_at >= stored.reviewed_at
    # The evidence is untouched.
    assert (stored.reason, stored.details, stored.reporter_id, stored.reported_user_id) == (
        "harassment",
        "Rude messages",
        "alice",
        "bob",
    )


def test_a_decision_is_required_and_pending_is_not_one(moderator_client):
    make_user("alice")
    make_user("bob")
    report = make_report("alice", "bob")
    for status in ("", "pending", "deleted"):
        response = moderator_client.post(
            f"{REPORTS}{quote(report.pk)}/change/", {"status": status, "resolution_notes": "x"}
        )
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["status"]
    stored = Report.objects.get(pk=report.pk)
    assert (stored.status, stored.resolution_notes, stored.reviewed_by, stored.reviewed_at) == (
        "pending",
        None,
        None,
        None,
    )


def test_bulk_dismiss_asks_for_notes_then_records_them_on_every_selected_report(moderator_client):
    for user_id in ("alice", "bob", "carol"):
        make_user(user_id)
    chosen = [make_report("alice", "bob"), make_report("carol", "bob", "after_hours:spam")]
    other = make_report("alice", "carol")
    selection = {"action": "mark_dismissed", "_selected_action": [r.pk for r in chosen]}

    confirm = moderator_client.post(REPORTS, selection)
    assert confirm.status_code == 200
    assert "Resolution notes" in confirm.content.decode()
    assert Report.objects.filter(status="pending").count() == 3  # nothing written before the notes

    done = moderator_client.post(
        REPORTS, {**selection, "apply": "yes", "notes": "Duplicate of an earlier report"}
    )
    assert done.status_code == 302
    for report in chosen:
        stored = Report.objects.get(pk=report.pk)
        assert (stored.status, stored.resolution_notes, stored.reviewed_by) == (
            "dismissed",
            "Duplicate of an earlier report",
            "mona",
        )
        assert stored.reviewed_at is not None
    untouched = Report.objects.get(pk=other.pk)
    assert (untouched.status, untouched.reviewed_by, untouched.reviewed_at) == ("pending", None, None)


def test_reports_are_never_added_or_deleted_in_the_admin(moderator_client, admin_client):
    make_user("alice")
    make_user("bob")
    report = make_report("alice", "bob")
    for client in (moderator_client, admin_client):
        assert client.get(f"{REPORTS}add/").status_code == 403
        assert client.post(f"{REPORTS}{quote(report.pk)}/delete/", {"post": "yes"}).status_code == 403
    assert Report.objects.filter(pk=report.pk).exists()


# --- what the pages show -----------------------------------------------------------------------------


def test_message_text_is_shown_only_on_the_page_of_a_report_about_that_conversation(moderator_client):
    for user_id in ("alice", "bob", "carol"):
        make_user(user_id)
    reported = make_match("alice", "bob")
    unrelated = make_match("bob", "carol")
    make_message(reported, "bob", "you <b>will</b> regret this")
    make_message(reported, "alice", "please stop")
    make_message(unrelated, "bob", "private words with carol")
    report = make_report("alice", "bob")

    page = moderator_client.get(f"{REPORTS}{quote(report.pk)}/change/").content.decode()
    assert "you &lt;b&gt;will&lt;/b&gt; regret this" in page  # escaped, never rendered as HTML
    assert page.index("regret this") < page.index("please stop")  # oldest first
    assert "private words with carol" not in page

    for url in (
        REPORTS,
        "/admin/profiles/user/bob/change/",
        "/admin/profiles/user/",
        "/admin/profiles/block/",
    ):
        body = moderator_client.get(url).content.decode()
        assert "regret this" not in body and "private words" not in body, url
    assert moderator_client.get("/admin/chat/message/").status_code == 404


def test_after_hours_report_shows_the_after_hours_conversation(moderator_client):
    make_member("alice")
    make_member("bob")
    session = open_session("alice", 52.52, 13.40)
    match = AfterHoursMatch.objects.create(
        session=session, user_1_id="alice", user_2_id="bob", expires_at=session.expires_at
    )
    AfterHoursMessage.objects.create(match=match, sender_id="bob", text="meet me now")
    report = make_report("alice", "bob", "after_hours:inappropriate")

    page = moderator_client.get(f"{REPORTS}{quote(report.pk)}/change/").content.decode()
    assert f"After Hours match {match.pk}" in page
    assert "meet me now" in page and "After Hours" in page


def test_user_page_shows_profile_and_verification_state_read_only(moderator_client):
    make_user("alice", verified=True)
    Profile.objects.filter(pk="alice").update(is_verified=True, name="Alice Moderated")
    response = moderator_client.get("/admin/profiles/user/alice/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Alice Moderated" in page and "Coffee and hikes" in page
    assert 'name="_save"' not in page  # view only
    listing = moderator_client.get("/admin/profiles/user/?id_verified__exact=1").content.decode()
    assert "alice" in listing
    before = User.objects.get(pk="alice").email
    assert (
        moderator_client.post("/admin/profiles/user/alice/change/", {"email": "x@example.com"}).status_code
        == 403
    )
    assert moderator_client.post("/admin/profiles/user/alice/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.get(pk="alice").email == before


def test_blocks_and_after_hours_rows_are_listed_read_only(moderator_client):
    make_member("alice")
    make_member("bob")
    block = Block.objects.create(user_id="alice", blocked_user_id="bob", reason="creepy")
    session = open_session("alice", 52.52, 13.40)
    match = AfterHoursMatch.objects.create(
        session=session, user_1_id="alice", user_2_id="bob", expires_at=session.expires_at
    )

    assert "creepy" in moderator_client.get("/admin/profiles/block/?blocked_user=bob").content.decode()
    assert (
        str(session.pk)
        in moderator_client.get("/admin/profiles/afterhourssession/?state=open").content.decode()
    )
    assert (
        str(match.pk)
        in moderator_client.get("/admin/profiles/afterhoursmatch/?state=active").content.decode()
    )
    assert (
        str(match.pk)
        not in moderator_client.get("/admin/profiles/afterhoursmatch/?state=ended").content.decode()
    )
    session_page = moderator_client.get(
        f"/admin/profiles/afterhourssession/{quote(str(session.pk))}/change/"
    ).content.decode()
    assert (
        "Fuzzed latitude" in session_page and ">Latitude<" not in session_page
    )  # the exact location stays out
    for url in (
        f"/admin/profiles/block/{quote(block.pk)}/delete/",
        f"/admin/profiles/afterhourssession/{session.pk}/delete/",
        f"/admin/profiles/afterhoursmatch/{match.pk}/delete/",
    ):
        assert moderator_client.post(url, {"post": "yes"}).status_code == 403
    assert Block.objects.count() == 1 and AfterHoursMatch.objects.count() == 1


# --- banned photo hashes -----------------------------------------------------------------------------


def _png(vector_index: int = 0) -> bytes:
    return base64.b64decode(VECTORS[vector_index]["png_base64"])


def test_banning_an_uploaded_photo_stores_the_hash_an_after_hours_upload_gets(moderator_client, api):
    png = _png()
    response = moderator_client.post(
        "/admin/profiles/bannedphotohash/add/",
        {
            "photo": SimpleUploadedFile("ban.png", png, content_type="image/png"),
            "photo_hash": "",
            "user_id": "bob",
            "reason": "nudity",
        },
    )
    assert response.status_code == 302
    ban = BannedPhotoHash.objects.get()
    assert (ban.photo_hash, ban.user_id, ban.reason) == (
        phash_image(process_single(png).data),
        "bob",
        "nudity",
    )

    # The same picture is now refused by the After Hours upload.
    make_member("alice")
    upload = api("alice").upload(
        "/after-hours/profile/photo", {"photo": SimpleUploadedFile("a.png", png, content_type="image/png")}
    )
    assert upload.status_code == 403
    assert upload.json() == {"success": False, "error": "Photo not allowed"}


def test_banning_a_typed_hash_normalises_it(moderator_client):
    response = moderator_client.post(
        "/admin/profiles/bannedphotohash/add/", {"photo_hash": " 00FF00FF00FF00FF ", "reason": ""}
    )
    assert response.status_code == 302
    assert list(BannedPhotoHash.objects.values_list("photo_hash", "user_id", "reason")) == [
        ("00ff00ff00ff00ff", None, None)
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"photo_hash": "xyz"}, "photo_hash"),
        ({"photo_hash": ""}, None),
        ({"photo_hash": "00ff00ff00ff00ff", "photo": b"\x89PNG\r\n\x1a\n"}, None),
        ({"photo_hash": "", "photo": b"%PDF-1.4 not an image"}, "photo"),
    ],
)
def test_a_ban_needs_one_valid_photo_or_hash(moderator_client, data, field):
    form = dict(data)
    if "photo" in form:
        form["photo"] = SimpleUploadedFile("x.bin", form["photo"], content_type="application/octet-stream")
    response = moderator_client.post("/admin/profiles/bannedphotohash/add/", form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert (field in errors) if field else errors["__all__"]
    assert BannedPhotoHash.objects.count() == 0


def test_after_hours_profile_photo_can_be_banned_from_its_list(moderator_client, moderator):
    make_member("alice")
    from profiles.models import AfterHoursProfile

    AfterHoursProfile.objects.filter(pk="alice").update(
        photo_hash="0123456789abcdef", photo_url="after-hours-photos/alice/x.jpg"
    )
    response = moderator_client.post(
        "/admin/profiles/afterhoursprofile/", {"action": "ban_photos", "_selected_action": ["alice"]}
    )
    assert response.status_code == 302
    assert list(BannedPhotoHash.objects.values_list("photo_hash", "user_id", "reason")) == [
        ("0123456789abcdef", "alice", "Banned from the admin by mona")
    ]


def test_lifting_a_ban_deletes_it(moderator_client):
    ban = BannedPhotoHash.objects.create(photo_hash="0123456789abcdef")
    response = moderator_client.post(
        f"/admin/profiles/bannedphotohash/{quote(ban.pk)}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert BannedPhotoHash.objects.count() == 0


@pytest.fixture
def api(settings, tmp_path):
    from tests.support.api import Api

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.R2_ACCOUNT_ID = ""
    return lambda user_id=None: Api(user_id, run_on_commit=True)


def test_admin_client_is_not_the_app_client():
    """The admin's logins are Django's auth users; an app JWT gets nothing there."""
    from vlvt.http.auth import mint_token

    client = Client()
    response = client.get(REPORTS, headers={"Authorization": f"Bearer {mint_token('alice')}"})
    assert response.status_code == 302


def test_links_to_users_survive_ids_with_underscores(moderator_client):
    make_user("google_000001")
    make_user("apple_5F00ab")
    report = make_report("google_000001", "apple_5F00ab")
    page = moderator_client.get(f"{REPORTS}{quote(report.pk)}/change/").content.decode()
    for user_id in ("google_000001", "apple_5F00ab"):
        link = f"/admin/profiles/user/{quote(user_id)}/change/"
        assert f'href="{link}"' in page
        target = moderator_client.get(link)
        assert target.status_code == 200 and target.context["original"].pk == user_id
