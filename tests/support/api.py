"""The one HTTP client of the in-process tests: Django's test client speaking JSON as an app user.

    Api("alice").post("/swipes", {"targetUserId": "bob", "action": "like"})   # the response
    Api(None).get("/health")                                                   # no token

`run_on_commit=True` runs each request's on-commit work (events, pushes, tasks) as it would run
after a real commit: a test that is not `transaction=True` sits inside a transaction that never
commits. A package that wants another result than the response (the chat tests' `(status, body)`,
the app replay's `Reply`) subclasses it and overrides `result`.
"""

from __future__ import annotations

import json
import urllib.request
from contextlib import nullcontext
from typing import Any

from django.test import Client, TestCase

from vlvt.http.auth import mint_token


class Api:
    def __init__(
        self, user_id: str | None = None, *, client: Client | None = None, run_on_commit: bool = False
    ):
        self.client = client or Client()
        self.user_id = user_id
        self.run_on_commit = run_on_commit

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """A Bearer token for the user, unless `extra` names its own Authorization."""
        auth = {"Authorization": f"Bearer {mint_token(self.user_id)}"} if self.user_id else {}
        return {**auth, **(extra or {})}

    def result(self, response: Any) -> Any:
        return response

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
        **extra: Any,
    ) -> Any:
        """`body` goes as JSON, a str or bytes one (or `raw`) as it is; a GET sends none."""
        if raw is None and isinstance(body, str | bytes):
            raw = body
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs: dict[str, Any] = {"headers": self._headers(headers), **extra}
        if data is not None and method != "GET":
            kwargs.update(data=data, content_type="application/json")
        return self._send(method, path, kwargs)

    def upload(self, path: str, files: dict[str, Any], fields: dict[str, str] | None = None) -> Any:
        """A multipart POST of `files` (and form `fields`)."""
        return self._send("POST", path, {"data": {**files, **(fields or {})}, "headers": self._headers()})

    def _send(self, method: str, path: str, kwargs: dict[str, Any]) -> Any:
        on_commit = TestCase.captureOnCommitCallbacks(execute=True) if self.run_on_commit else nullcontext()
        with on_commit:
            response = getattr(self.client, method.lower())(path, **kwargs)
        return self.result(response)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("DELETE", path, body, **kw)


def send_over_rest(server: Any, sender: str, match_id: str, text: str) -> dict[str, Any]:
    """`POST /messages` to a running server (tests.support.servers) as the app sends it; the stored
    message of a 200 answer."""
    request = urllib.request.Request(
        f"{server.base_url}/messages",
        method="POST",
        data=json.dumps({"matchId": match_id, "senderId": sender, "text": text}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {mint_token(sender)}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        message: dict[str, Any] = json.loads(response.read())["message"]
        return message
