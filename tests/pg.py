"""A throw-away PostgreSQL cluster for tests: ``initdb`` + ``pg_ctl`` in a temp folder, Unix socket only.

Runs the server as the ``postgres`` user when the tests run as root (PostgreSQL refuses root).
Every output of ``pg_ctl`` goes to a log file: a started server inherits its stdout, and a caller
that captures that stdout would otherwise wait for the server to exit.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: run scripts/sysdeps.sh (Debian: postgresql).")
    return found


class Cluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data, self.sockets, self.log = root / "data", root / "sockets", root / "server.log"
        self._count = 0
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            self._as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            os.chown(root, user.pw_uid, user.pw_gid)

    def _run(self, *args: str) -> None:
        out = self.root / "commands.log"
        with open(os.devnull, "rb") as stdin, open(out, "ab") as sink:
            result = subprocess.run(args, stdin=stdin, stdout=sink, stderr=subprocess.STDOUT,
                                    cwd=self.root, timeout=120, check=False, **self._as)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed: {out.read_text(errors='replace')[-2000:]}\n{log}")

    def start(self) -> None:
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        (self.sockets).mkdir()
        if self._as:
            os.chown(self.sockets, self._as["user"], self._as["group"])
        # -w waits until the server accepts connections; -l sends the server's output to a file.
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-o",
                  f"-k {self.sockets} -c listen_addresses='' -c fsync=off -c max_connections=200", "start")

    def stop(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.sockets}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        self._count += 1
        name = f"t{os.getpid()}_{self._count}"
        with psycopg.connect(f"dbname=postgres user=postgres host={self.sockets}", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="coursebot-pg-"))
    server = Cluster(root)
    try:
        server.start()
        yield server
    finally:
        from kb.core import storage

        storage.dispose()  # close pooled connections before the server goes away
        if (server.data / "postmaster.pid").exists():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
