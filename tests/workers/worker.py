"""Run a real Celery worker process for a test: Redis broker, the test's PostgreSQL database.

Not eager mode: the worker reads the test database through DATABASE_URL exactly as in
production. ``CeleryWorker.log()`` is what it printed so far, for assertions and failures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("The worker tests run on PostgreSQL: set DATABASE_URL (make test does).")
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class CeleryWorker:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)

    def log(self) -> str:
        return "".join(self._lines)

    def pool_children(self) -> list[int]:
        """The pids of the worker's pool processes (the ones that run tasks)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(timeout=5)


@contextmanager
def celery_worker(
    *, beat: bool = False, concurrency: int = 1, env: dict[str, str] | None = None
) -> Iterator[CeleryWorker]:
    if not settings.REDIS_URL:
        pytest.fail("The worker tests need Redis as the broker: set REDIS_URL (make test does).")
    with tempfile.TemporaryDirectory() as var_dir:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        if beat:
            command += ["--beat", f"--schedule={Path(var_dir) / 'beat-schedule'}"]
        process = subprocess.Popen(  # noqa: S603 — our own worker, fixed arguments
            command,
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url(),
                "REDIS_URL": settings.REDIS_URL,
                "EXAMHALL_VAR_DIR": var_dir,
                "DJANGO_DEBUG": "1",
                **(env or {}),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
        )
        worker = CeleryWorker(process)
        try:
            yield worker
        finally:
            worker.stop()
