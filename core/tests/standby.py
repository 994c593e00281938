"""A streaming replica of the test (or benchmark) database's server, started in a temporary folder: a base
backup (`pg_basebackup -R`: standby.signal and primary_conninfo), a minimal configuration of its own, a
postmaster on a free port. Used by core/tests/test_replica.py and bench/bench_replica.py."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from django.db import connections


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    """A streaming replica of the test database's server, run as the `postgres` user when we are root."""

    def __init__(self, primary: dict) -> None:
        self.primary = primary
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="yeongye-replica-"))
        self.data = self.root / "data"
        with connections["default"].cursor() as cur:
            cur.execute("SHOW server_version_num")
            major = int(cur.fetchone()[0]) // 10000
        bindir = Path(f"/usr/lib/postgresql/{major}/bin")
        self.bin = bindir if (bindir / "pg_ctl").exists() else Path(shutil.which("pg_ctl") or "pg_ctl").parent
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = list(argv)
        if self.as_postgres:  # PostgreSQL refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def create(self) -> None:
        done = self._run(
            str(self.bin / "pg_basebackup"),
            "-h",
            str(self.primary.get("HOST") or "127.0.0.1"),
            "-p",
            str(self.primary.get("PORT") or 5432),
            "-U",
            str(self.primary.get("USER") or "postgres"),
            "-D",
            str(self.data),
            "-R",  # standby.signal and primary_conninfo: it starts as a streaming replica
            "-X",
            "stream",
            "-c",
            "fast",
        )
        assert done.returncode == 0, (
            "pg_basebackup failed; the server must allow local replication connections "
            f"(`make services` adds `host replication all 127.0.0.1/32 trust` to pg_hba.conf):\n{done.stderr}"
        )
        # Debian keeps the configuration outside the data folder: the replica gets its own, minimal.
        (self.data / "postgresql.conf").write_text(
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
            "hot_standby = on\nshared_buffers = 32MB\nfsync = off\n"
            f"hba_file = '{self.data / 'pg_hba.conf'}'\nident_file = '{self.data / 'pg_ident.conf'}'\n"
            + self._same_as_primary()
        )
        (self.data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        (self.data / "pg_ident.conf").write_text("")
        if self.as_postgres:
            for path in (self.data / "postgresql.conf", self.data / "pg_hba.conf", self.data / "pg_ident.conf"):
                shutil.chown(path, "postgres", "postgres")

    def _same_as_primary(self) -> str:
        """A hot standby may not have fewer of these than its primary (it refuses to start)."""
        names = ["max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions"]
        names.append("max_locks_per_transaction")
        lines = []
        with connections["default"].cursor() as cur:
            for name in names:
                cur.execute(f"SHOW {name}")
                lines.append(f"{name} = {cur.fetchone()[0]}\n")
        return "".join(lines)

    def start(self) -> None:
        done = self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "start"
        )
        log = self.root / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        assert done.returncode == 0, f"the replica did not start:\n{done.stdout}{done.stderr}\n{tail}"

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)

    def running(self) -> bool:
        return self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "status", timeout=30).returncode == 0

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def settings(self) -> dict:
        test = {**self.primary["TEST"], "MIRROR": "default"}
        return {
            **self.primary,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "OPTIONS": {"connect_timeout": 2},
            "TEST": test,
        }
