"""Fixtures of the operations tests: staff logins for the admin (Django's `auth_user`, not the
app's `users`) and reports between app users."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.models import User as StaffUser

from chat.models import Report

# What a moderator needs: see everything the admin shows, decide on reports, manage photo bans.
MODERATOR_PERMISSIONS = [
    ("profiles", "view_user"),
    ("profiles", "view_profile"),
    ("profiles", "view_verification"),
    ("profiles", "view_block"),
    ("profiles", "view_afterhourssession"),
    ("profiles", "view_afterhoursmatch"),
    ("profiles", "view_afterhoursprofile"),
    ("profiles", "view_bannedphotohash"),
    ("profiles", "add_bannedphotohash"),
    ("profiles", "delete_bannedphotohash"),
    ("chat", "view_report"),
    ("chat", "change_report"),
]


def make_moderator(username: str = "mona", password: str = "moderator-pass-1") -> StaffUser:
    group, _ = Group.objects.get_or_create(name="Moderators")
    for app_label, codename in MODERATOR_PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    user = StaffUser.objects.create_user(username=username, password=password, is_staff=True)
    user.groups.add(group)
    return user


@pytest.fixture
def moderator(db) -> StaffUser:
    return make_moderator()


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


def make_report(reporter: str, reported: str, reason: str = "harassment", **fields: Any) -> Report:
    """A report of `reported` by `reporter` (pending and without details unless `fields` say so)."""
    fields = {"details": None, "status": "pending", **fields}
    return Report.objects.create(reporter_id=reporter, reported_user_id=reported, reason=reason, **fields)
