"""Real server processes for tests: `daphne vlvt.asgi:application` and Celery, on the test database.

Tests that use them need committed data: mark them `@pytest.mark.django_db(transaction=True)`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    """DATABASE_URL of the database pytest-django created for this run."""
    db = connection.settings_dict
    auth = db["USER"] or ""
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def server_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="vlvt.settings",
        DATABASE_URL=test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        JWT_SECRET=settings.JWT_SECRET,
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class ServerProcess:
    """A child process with its output in a file; `stop()` always leaves nothing running. It runs
    in `cwd`, this checkout unless told (a benchmark may serve another checkout's code)."""

    def __init__(self, args: list[str], env: dict[str, str], name: str, *, cwd: Path = ROOT) -> None:
        self.name = name
        self.args = args
        self.log_file = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115 - open while the process runs
        self.proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=getattr(self, "_pass_fds", ()),
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return Path(self.log_file.name).read_text(errors="replace")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        """The exit code; a process still running after `timeout` fails the test with its threads'
        stacks (py-spy) and its log, so that a stop that hangs says where."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} still running {timeout:g} s later; its threads:\n{self.stacks()}\nits log:\n{self.log()}"
            ) from None

    def stacks(self) -> str:
        dump = subprocess.run(
            [str(BIN / "py-spy"), "dump", "--pid", str(self.pid)], capture_output=True, text=True, timeout=30
        )
        return dump.stdout + dump.stderr

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log_file.close()
        return self.proc.returncode

    def wait_for_log(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{self.name} never logged {text!r}; log:\n{self.log()}")


class DaphneProcess(ServerProcess):
    """`daphne vlvt.asgi:application` on its own port, or on a listening socket shared with other
    processes (`listen_socket`, passed as `--fd`), as several processes behind one port run. With a
    shared socket it waits for the process to log that it serves, unless `wait_serving` is false
    (its log level hides that line: the caller then waits for answers instead). On its own port it
    waits up to `start_timeout` seconds for the port to accept."""

    def __init__(
        self,
        env: dict[str, str],
        port: int | None = None,
        listen_socket: socket.socket | None = None,
        wait_serving: bool = True,
        *,
        cwd: Path = ROOT,
        start_timeout: float = 30,
    ) -> None:
        if listen_socket is not None:
            self.port = listen_socket.getsockname()[1]
            fd = listen_socket.fileno()
            args = [str(BIN / "daphne"), "--fd", str(fd), "vlvt.asgi:application"]
            self._pass_fds = (fd,)
        else:
            self.port = port or free_port()
            args = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "vlvt.asgi:application"]
        super().__init__(args, env, name=f"daphne-{self.port}", cwd=cwd)
        if listen_socket is not None:
            if wait_serving:
                self.wait_for_log("vlvt: serving")
        else:
            self._wait_listening(start_timeout)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _wait_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"daphne exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"daphne did not listen on {self.port}:\n{self.log()}")


def shared_listening_socket() -> socket.socket:
    """A listening socket that several Daphne processes serve (the kernel spreads connections)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def start_daphne(**env_overrides: str) -> DaphneProcess:
    return DaphneProcess(server_env(**env_overrides))


@contextmanager
def daphne_server(**env: str) -> Iterator[DaphneProcess]:
    """`daphne vlvt.asgi:application` on a free port against the test database, stopped after."""
    server = start_daphne(**env)
    try:
        yield server
    finally:
        server.stop()


def start_celery(*args: str, **env_overrides: str) -> ServerProcess:
    """`celery -A vlvt <args>`, e.g. start_celery("worker", "-B", "--pool", "solo")."""
    cmd = [str(BIN / "celery"), "-A", "vlvt", *args]
    return ServerProcess(cmd, server_env(**env_overrides), name=f"celery-{args[0] if args else 'x'}")


@contextmanager
def beat_workers(directory: Path) -> Iterator[Callable[..., ServerProcess]]:
    """A starter of `celery -A vlvt worker -B` processes (each with its own schedule file in
    `directory`, serving once it returns); every one started is stopped (SIGTERM) at the end.
    `start(*args, **env_overrides)` passes `args` to the worker."""
    started: list[ServerProcess] = []

    def start(*args: str, **env_overrides: str) -> ServerProcess:
        schedule = directory / f"beat-{len(started)}"
        process = start_celery(
            "worker", "-B", "-s", str(schedule), *args, "--loglevel", "INFO", **env_overrides
        )
        started.append(process)
        process.wait_for_log("vlvt: worker serving", timeout=30)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


test_database_url.__test__ = False  # type: ignore[attr-defined]  # a helper that pytest must not collect
