"""A private PostgreSQL cluster (initdb, pg_ctl) on a free port, in a temporary directory, for tests
and benchmarks that stop and start PostgreSQL (never the machine's shared one).

    server = PrivatePostgres()
    server.start()
    url = server.url("postgres")
    server.stop(); server.start()      # a restart: every connection is cut
    server.close()
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.servers import free_port


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free port (initdb, pg_ctl); `trust` authentication."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            raise SystemExit("no /usr/lib/postgresql/*/bin/pg_ctl for the private cluster")
        self.bin = bins[-1].parent
        self.dir = Path(tempfile.mkdtemp(prefix="vlvt-chaos-pg-"))
        self.port = free_port()
        user = "postgres" if os.geteuid() == 0 else None
        self.run_as = ["runuser", "-u", user, "--"] if user else []
        if user:
            shutil.chown(self.dir, user)
        self._cmd(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.dir / "data"),
                "-U",
                "root",
                "--auth=trust",
                "-E",
                "UTF8",
            ]
        )
        conf = self.dir / "data" / "postgresql.conf"
        with conf.open("a") as f:
            f.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
            )
            f.write("max_connections = 100\nshared_buffers = 64MB\n")

    def _cmd(self, args: list[str]) -> None:
        subprocess.run(self.run_as + args, check=True, capture_output=True)

    def start(self) -> None:
        self._cmd(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-l",
                str(self.dir / "log"),
                "-w",
                "start",
            ]
        )

    def stop(self) -> None:
        self._cmd([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"])

    def url(self, name: str) -> str:
        return f"postgres://root@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
