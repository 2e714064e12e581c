"""Fixtures of the app replay tests: the Flutter app's HTTP calls (`App`), members who pass the
After Hours gate, local photo storage, the FCM and Rekognition stand-ins, and a real Daphne with
the official socket.io-client for the socket flows.

The app has two base URLs (profile host, chat host); this project serves both, so every call goes
to one server with the path the app builds: `AppConfig.profileUrl`/`chatUrl` give `/api/v1/...`,
the safety, dates, verification and After Hours chat services call their paths unversioned.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.client import dart
from tests.profiles import imagegen
from tests.profiles.conftest import faces, push  # noqa: F401  (fixtures reused)
from tests.support.api import Api
from tests.support.media import media_root  # noqa: F401  (autouse in this package)
from tests.support.sockets import module_daphne
from vlvt.http.auth import mint_token


class Reply:
    def __init__(self, response: Any) -> None:
        self.status = response.status_code
        self.body: Any = response.json() if response.content else None

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body!r})"


class Remote:
    """One signed-in app user calling a real server over HTTP (for flows that also use sockets)."""

    def __init__(self, base_url: str, user_id: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {mint_token(user_id)}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, body: Any = None, files: dict[str, Any] | None = None) -> Reply:
        if files is not None:  # multipart: the client sets its own Content-Type
            headers = {"Authorization": self.headers["Authorization"]}
            response = requests.request(
                method, self.base_url + path, headers=headers, files=files, timeout=30
            )
        else:
            data = None if body is None else json.dumps(body)
            response = requests.request(
                method, self.base_url + path, headers=self.headers, data=data, timeout=30
            )
        return Reply(response)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Reply:
        return self.request("POST", path, body)

    def patch(self, path: str, body: Any = None) -> Reply:
        return self.request("PATCH", path, body)


class App(Api):
    """One signed-in app user, answered with `Reply`. Each request's on-commit work (events,
    pushes) runs as after a real commit: the test's own transaction never commits."""

    def __init__(self, user_id: str | None) -> None:
        super().__init__(user_id, run_on_commit=True)

    def result(self, response: Any) -> Reply:
        return Reply(response)


@pytest.fixture
def app():
    """`app(user_id)`: the app signed in as that user."""
    return App


daphne = module_daphne()  # one server for the module; each test's rows are flushed after it


def photo_file(name: str = "IMG_0001.jpg") -> SimpleUploadedFile:
    """A phone photo as the image picker hands it over (JPEG with EXIF and GPS)."""
    return SimpleUploadedFile(name, imagegen.jpeg_with_gps(800, 600), content_type="image/jpeg")


def upload_photo(client: App) -> dict:
    """ProfileApiService.uploadPhoto: multipart `photo`; the screens read `success` and `photo.url`."""
    reply = client.upload("/api/v1/profile/photos/upload", {"photo": photo_file()})
    assert reply.status == 200, reply
    assert reply.body["success"] is True
    dart.cast(reply.body["photo"]["url"], "String", "photo.url")
    return reply.body
