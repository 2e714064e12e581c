"""The official socket.io-client for tests, via the small Node driver tests/js/client.mjs.

    with JsClient() as js:
        js.connect("alice", server.base_url, token=alice_token)          # {"connected": True, "id": ...}
        ack = js.emit("alice", "send_message", {"matchId": m, "text": "hi"})   # the ack, exactly
        js.wait_event("bob", "new_message")                             # the args of the event
        js.disconnect("alice")

Every socket runs in the one Node process; `notes(name)` is everything that happened to a socket
(connect, connect_error, event, ack, disconnect with the WebSocket close code, reconnects), in
order. Sockets default to `transports: ['websocket']` and no reconnection; pass `reconnection=True`
(and other io() options) as keyword arguments to `connect`.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).resolve().parents[1] / "js"
DRIVER = JS_DIR / "client.mjs"


class JsClientError(AssertionError):
    pass


class JsClient:
    def __init__(self) -> None:
        if not (JS_DIR / "node_modules" / "socket.io-client").is_dir():
            raise JsClientError(
                "socket.io-client is not installed: run scripts/setup --test (npm ci in tests/js)"
            )
        self.proc = subprocess.Popen(
            ["node", str(DRIVER)],
            cwd=JS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._cond = threading.Condition()
        self._replies: dict[int, dict[str, Any]] = {}
        self._notes: list[dict[str, Any]] = []
        self._next_id = 0
        self._stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- plumbing ---------------------------------------------------------------------------------
    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            msg = json.loads(line)
            with self._cond:
                if "re" in msg:
                    self._replies[msg["re"]] = msg
                else:
                    msg["at"] = time.monotonic()
                    self._notes.append(msg)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def request(self, op: str, timeout: float = 15, **fields: Any) -> Any:
        with self._cond:
            self._next_id += 1
            req_id = self._next_id
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"id": req_id, "op": op, **fields}) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        with self._cond:
            while req_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise JsClientError(f"no reply to {op} {fields}; stderr: {''.join(self._stderr)}")
                self._cond.wait(left)
            reply = self._replies.pop(req_id)
        if not reply["ok"]:
            raise JsClientError(f"{op} failed: {reply['error']}")
        return reply["value"]

    # -- sockets ----------------------------------------------------------------------------------
    def connect(
        self,
        name: str,
        url: str,
        *,
        token: str | None = None,
        auth: Any = None,
        wait: bool = True,
        emit_on_connect: list[dict[str, Any]] | None = None,
        tokens: list[str] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """`tokens`: each CONNECT, reconnections included, sends the next one (the last once they
        run out), as an app that reads its current token whenever it connects."""
        fields: dict[str, Any] = {"socket": name, "url": url, "wait": wait, "options": options}
        if auth is None and token is not None:
            auth = {"token": token}
        if auth is not None:
            fields["auth"] = auth
        if tokens is not None:
            fields["authTokens"] = tokens
        if emit_on_connect:
            fields["emitOnConnect"] = emit_on_connect
        return self.request("connect", **fields)

    def emit(self, name: str, event: str, *args: Any, ack: bool = True, timeout: float = 5) -> Any:
        return self.request(
            "emit",
            timeout=timeout + 10,
            socket=name,
            event=event,
            args=list(args),
            ack=ack,
            timeoutMs=int(timeout * 1000),
        )

    def emit_all(self, emits: list[tuple[str, str, list[Any]]], *, timeout: float = 5) -> list[Any]:
        """Emit every (socket, event, args) in the same instant, each with an ack; the acks in
        order ({"timeout": True} for one that never came)."""
        return self.request(
            "emitAll",
            timeout=timeout + 10,
            emits=[{"socket": s, "event": e, "args": list(a)} for s, e, a in emits],
            timeoutMs=int(timeout * 1000),
        )

    def disconnect(self, name: str) -> None:
        self.request("disconnect", socket=name)

    def state(self, name: str) -> dict[str, Any]:
        return self.request("state", socket=name)

    # -- what happened ----------------------------------------------------------------------------
    def notes(self, name: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [
                n
                for n in self._notes
                if (name is None or n["socket"] == name) and (kind is None or n["kind"] == kind)
            ]

    def events(self, name: str, event: str | None = None) -> list[list[Any]]:
        """The args of every event `name` received (optionally only `event`), in order."""
        return [n["args"] for n in self.notes(name, "event") if event is None or n["event"] == event]

    def received(self, name: str) -> list[tuple[str, list[Any]]]:
        return [(n["event"], n["args"]) for n in self.notes(name, "event")]

    def wait_note(
        self, name: str, kind: str, *, event: str | None = None, count: int = 1, timeout: float = 10
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    n
                    for n in self._notes
                    if n["socket"] == name
                    and n["kind"] == kind
                    and (event is None or n.get("event") == event)
                ]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise JsClientError(
                        f"{name}: wanted {count} {kind} {event or ''}, got {len(found)}; notes: {self.notes(name)}"
                    )
                self._cond.wait(left)

    def wait_event(self, name: str, event: str, *, count: int = 1, timeout: float = 10) -> list[Any]:
        """The args of the `count`-th `event` received by `name` (waiting for it)."""
        return self.wait_note(name, "event", event=event, count=count, timeout=timeout)[count - 1]["args"]

    def wait_disconnect(self, name: str, timeout: float = 10) -> dict[str, Any]:
        return self.wait_note(name, "disconnect", timeout=timeout)[0]

    def clear(self, name: str | None = None) -> None:
        with self._cond:
            self._notes = [n for n in self._notes if name is not None and n["socket"] != name]

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(JsClientError, OSError, ValueError):
                self.request("exit", timeout=5)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> JsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
