"""Acceptance: a moderator resolves a report in a real browser against a real server.

Debian's Chromium (scripts/setup --test installs it) driven by Playwright, against
`daphne vlvt.asgi:application` on the test database: log in to the admin as staff, open the
reports queue, open the report, record "resolved" with a note; the database then holds the
decision, the note, the reviewer and the review time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.admin.utils import quote

from chat.models import Report
from tests.chat.rest_support import make_user
from tests.ops.conftest import make_moderator, make_report
from tests.support.servers import start_daphne

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run scripts/setup --test (as root it installs Debian's "
            "`chromium` package), or apt-get install -y chromium, or set CHROMIUM_PATH.",
            pytrace=False,
        )


@pytest.fixture
def server():
    daphne = start_daphne(LOG_LEVEL="WARNING")
    yield daphne
    daphne.stop()


@pytest.mark.django_db(transaction=True)
def test_staff_resolves_a_report_in_the_browser(server):
    require_chromium()
    from playwright.sync_api import sync_playwright

    make_user("alice")
    make_user("bob")
    report = make_report("alice", "bob", "harassment", details="Insults in chat")
    make_moderator("mona", "moderator-pass-1")

    # No ORM inside this block: Playwright's sync API runs an event loop in this thread.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{server.base_url}/admin/chat/report/")
            assert "/admin/login/" in page.url
            page.fill("#id_username", "mona")
            page.fill("#id_password", "moderator-pass-1")
            page.click("input[type=submit]")
            page.wait_for_url(f"{server.base_url}/admin/chat/report/")
            assert "Select report to change" in page.content() or "Select report to view" in page.content()
            page.click("#result_list tbody tr:first-child th a")
            page.wait_for_url(f"**/admin/chat/report/{quote(report.pk)}/change/")
            assert "Insults in chat" in page.content()
            page.select_option("#id_status", "resolved")
            page.fill("#id_resolution_notes", "Warned the user; second offence means a ban.")
            page.click("input[name=_save]")
            page.wait_for_url(f"{server.base_url}/admin/chat/report/")
            assert "was changed successfully" in page.content()
        finally:
            browser.close()

    stored = Report.objects.get(pk=report.pk)
    assert (stored.status, stored.resolution_notes, stored.reviewed_by) == (
        "resolved",
        "Warned the user; second offence means a ban.",
        "mona",
    )
    assert stored.reviewed_at is not None
