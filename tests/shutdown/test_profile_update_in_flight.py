"""Acceptance 1 on a real route: `PUT /profile/:id` blocked on a row lock when SIGTERM arrives."""

from __future__ import annotations

import http.client
import json
import signal
import threading

import psycopg
import pytest

from profiles.models import Profile, User
from tests.shutdown.conftest import backend_waiting_on_lock
from tests.support.servers import test_database_url
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_put_profile_blocked_on_a_row_lock_gets_its_200_after_sigterm_and_the_process_exits_0(
    start_server, pg
):
    user = User.objects.create(id="email_1_lockme", provider="email")
    Profile.objects.create(user=user, name="Before Name", age=30, bio="old bio", photos=[], interests=[])
    server = start_server()
    locker = psycopg.connect(test_database_url())
    locker.execute("SELECT * FROM profiles WHERE user_id = %s FOR UPDATE", [user.id])

    result: dict = {}

    def put() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request(
            "PUT",
            f"/api/v1/profile/{user.id}",
            body=json.dumps({"bio": "written during shutdown"}),
            headers={"Authorization": f"Bearer {mint_token(user.id)}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        result["status"] = response.status
        result["body"] = json.loads(response.read())

    thread = threading.Thread(target=put)
    thread.start()
    wait_until(lambda: backend_waiting_on_lock(pg, server.app_name), what="the update to wait on the lock")

    server.signal(signal.SIGTERM)
    server.wait_for_log("shutdown: draining (SIGTERM)")
    assert server.running()
    locker.commit()
    locker.close()
    thread.join(30)

    assert result["status"] == 200
    assert result["body"]["success"] is True
    assert result["body"]["profile"]["bio"] == "written during shutdown"
    assert server.wait(30) == 0
    assert Profile.objects.get(user=user).bio == "written during shutdown"
