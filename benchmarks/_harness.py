"""What the durability script and the load benchmark share: a throw-away PostgreSQL database,
a course full of logged-in students sitting the seed midterm, and the real app server.

- ``site()`` creates ``examhall_<purpose>_<pid>`` on the PostgreSQL of ``DATABASE_URL`` (any
  database name in it is ignored; the server must be on this machine), migrates it with
  ``manage.py migrate``, points this process's Django at it, and drops it on the way out, always.
- ``exam_seed()`` loads a course with N students and the seed midterm (``exam_import``), open now,
  and gives every student a logged-in session (see ``sessions_create`` for how, without paying
  the password hasher per student).
- ``AppServer`` runs ``gunicorn config.wsgi`` on 127.0.0.1 in its own process group, so that
  ``kill()`` can SIGKILL the master and every worker at once, as a crash or an OOM kill would.

Every request of these scripts goes to 127.0.0.1, and every loop is bounded in count and time.
"""

from __future__ import annotations

import ipaddress
import math
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
# The test suite flushes its Redis database (15) before every test: a run sharing it would lose
# its cached paper and answer rules whenever tests run beside it. These scripts use their own.
REDIS_DB = 14
SEED_ANSWER_KINDS = ("short_answer", "true_false")


class HarnessError(RuntimeError):
    """Set-up failed (PostgreSQL unreachable, server does not boot...): the run must stop loudly."""


# --- where things run: loopback only -------------------------------------------------------------


def _require_loopback(url: str, what: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(socket.gethostbyname(host))
    except (OSError, ValueError):
        raise HarnessError(f"{what} host {host!r} does not resolve") from None
    if not address.is_loopback:
        raise HarnessError(f"{what} must be on this machine (loopback), not {host!r}: these scripts only talk to it")


def postgres_server_url() -> str:
    """The PostgreSQL server of DATABASE_URL (default: the local one); it must be PostgreSQL."""
    url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        raise HarnessError(f"DATABASE_URL must be a postgres:// URL for these runs, not {url!r}")
    _require_loopback(url, "DATABASE_URL")
    return url


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# --- the throw-away site ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    database: str
    database_url: str
    env: dict[str, str]  # the environment of this process's Django and of every server child
    var_dir: Path


@contextmanager
def site(purpose: str, *, conn_max_age: int = 600, settings_module: str = "config.settings") -> Iterator[Site]:
    """A fresh, migrated database and a production-like environment (DEBUG off), dropped at the end."""
    import psycopg
    from psycopg import sql

    server_url = postgres_server_url()
    redis_server = urlsplit(os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
    redis_url = urlunsplit((redis_server.scheme, redis_server.netloc, f"/{REDIS_DB}", "", ""))
    _require_loopback(redis_url, "REDIS_URL")
    name = f"examhall_{purpose}_{os.getpid()}"
    try:
        admin = psycopg.connect(_with_database(server_url, "postgres"), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise HarnessError(f"PostgreSQL at {server_url} is unreachable: {error}") from None
    with admin, tempfile.TemporaryDirectory(prefix=f"examhall-{purpose}-") as var:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            var_dir = Path(var)
            # WhiteNoise (DEBUG off) expects STATIC_ROOT; the scripts fetch no static file.
            (var_dir / "staticfiles").mkdir()
            database_url = _with_database(server_url, name)
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": settings_module,
                "DATABASE_URL": database_url,
                "DATABASE_CONN_MAX_AGE": str(conn_max_age),
                "REDIS_URL": redis_url,
                "DJANGO_DEBUG": "0",
                # One key for this process and the server: sessions made here must verify there.
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_ALLOWED_HOSTS": HOST,
                "EXAMHALL_VAR_DIR": str(var_dir),
                # No collectstatic for a throw-away site: page URLs of static files are built unhashed.
                "EXAMHALL_MANIFEST_STATIC": "0",
                "EXAMHALL_LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
            }
            subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
            os.environ.update(env)
            import django

            django.setup()
            yield Site(database=name, database_url=database_url, env=env, var_dir=var_dir)
        finally:
            _django_disconnect()
            _forget_cached(redis_url, exam_id_base())
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def exam_id_base() -> int:
    """Exam ids of this run start here. The app caches by exam id (answer rules, paper HTML) in
    Redis, which outlives the database: ids no other run uses keep other runs' entries out."""
    return 10**9 + os.getpid()


def _forget_cached(redis_url: str, exam_id: int) -> None:
    """Delete what the app cached about this run's exams (keys carry the exam id)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3)
    try:
        for pattern in (f"*:{exam_id}", f"*:{exam_id}:*"):
            for key in client.scan_iter(match=pattern, count=500):
                client.delete(key)
    except redis.RedisError as error:
        print(f"could not clean the cache at {redis_url}: {error}", file=sys.stderr)
    finally:
        client.close()


def _django_disconnect() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


# --- the course, the students and their sessions -----------------------------------------------------


@dataclass(frozen=True)
class Student:
    index: int
    user_id: int
    full_name: str
    session_key: str
    csrf_token: str
    sitting_id: int | None = None

    def headers(self) -> dict[str, str]:
        """What a logged-in browser sends: its cookies, and the CSRF token that Django's JS helper reads."""
        return {"Cookie": f"sessionid={self.session_key}; csrftoken={self.csrf_token}", "X-CSRFToken": self.csrf_token}


@dataclass(frozen=True)
class Target:
    """A question the simulated students answer, and how to make a valid answer for it."""

    question_id: int
    kind: str
    parts: tuple[str, ...] = ()

    def value(self, student: int, seq: int) -> Any:
        """Deterministic in (student, seq), so a stored value can be checked against what was sent."""
        if self.kind == "true_false":
            return (None, True, False)[seq % 3]
        text = f"Student {student}, save {seq}: the loss falls while accuracy stays flat, so " + "x" * (seq % 50)
        return {part: f"({part}) {text}" for part in self.parts} if self.parts else text


@dataclass(frozen=True)
class Roster:
    exam_id: int
    students: list[Student]
    targets: list[Target]


def exam_seed(*, students: int, start_sittings: bool) -> Roster:
    """A course with ``students`` students and the seed midterm, published and open for four hours.

    With ``start_sittings``, every student has signed and started (``sitting_start``); otherwise
    they start through the lobby like a browser would.
    """
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Course, Membership, Role, User
    from exams.examfile import SEED_EXAM_PATH, exam_import
    from exams.models import Exam, Question
    from exams.sittings import sitting_start

    now = timezone.now()
    with connection.cursor() as cursor:  # the next exam gets exam_id_base()
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", [Exam._meta.db_table, exam_id_base()]
        )
    course = Course.objects.create(code=f"load-{os.getpid()}", title="CSE 493 G1 / 599 G1 Deep Learning", term="Load")
    # Set-unusable passwords cost no hashing; the students never log in with one (see sessions_create).
    users = User.objects.bulk_create(
        [User(net_id=f"s{i:05d}", full_name=f"Student {i:05d} Loadtest") for i in range(students)]
    )
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_update(users, ["password"])
    Membership.objects.bulk_create([Membership(user=u, course=course, role=Role.STUDENT) for u in users])
    exam = exam_import(text=SEED_EXAM_PATH.read_text(encoding="utf-8"), course=course, base_dir=SEED_EXAM_PATH.parent)
    exam.published = True
    exam.opens_at = now - timedelta(minutes=1)
    exam.closes_at = now + timedelta(hours=4)
    exam.save(update_fields=["published", "opens_at", "closes_at"])
    sessions = sessions_create(users)
    sittings: dict[int, int] = {}
    if start_sittings:
        for user in users:
            sitting = sitting_start(
                exam=exam, student=user, typed_name=user.full_name, ip=HOST, user_agent="benchmarks", now=now
            )
            sittings[user.pk] = sitting.pk
    targets = [
        Target(pk, kind, tuple(config.get("parts") or ()))
        for pk, kind, config in Question.objects.filter(exam=exam, kind__in=SEED_ANSWER_KINDS)
        .order_by("pk")
        .values_list("pk", "kind", "config")
    ]
    if not targets:
        raise HarnessError(f"The seed exam has no question of the kinds {SEED_ANSWER_KINDS}")
    return Roster(
        exam_id=exam.pk,
        students=[
            Student(i, u.pk, u.full_name, sessions[u.pk], _csrf_secret(), sittings.get(u.pk))
            for i, u in enumerate(users)
        ],
        targets=targets,
    )


def sessions_create(users: list[Any]) -> dict[int, str]:
    """A logged-in session per user, made without logging in; returns user id → session key.

    Each session holds exactly what ``django.contrib.auth.login()`` stores (the user's id, the
    backend's path and the session hash of the password field), encoded by the configured
    session engine, so the server's AuthenticationMiddleware accepts it as a login. It skips
    only the password check, whose deliberately slow hasher would cost ~0.3 s per student.
    With the database engines (the default) the rows are inserted in bulk.
    """
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    keys: dict[int, str] = {}
    rows = []
    for user in users:
        data = {
            SESSION_KEY: user._meta.pk.value_to_string(user),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        store = store_class()
        if isinstance(store, DatabaseSessionStore):
            key = get_random_string(32, VALID_KEY_CHARS)  # as SessionStore makes them; a clash fails the insert
            model = store.get_model_class()
            rows.append(model(session_key=key, session_data=store.encode(data), expire_date=expires))
        else:
            store.update(data)
            store.create()
            key = store.session_key or ""
        keys[user.pk] = key
    if rows:
        type(rows[0]).objects.bulk_create(rows, batch_size=500)
    return keys


def _csrf_secret() -> str:
    """A CSRF cookie value of the form Django issues; the header repeats it (double submit)."""
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.utils.crypto import get_random_string

    return get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)


# --- the app server --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerConfig:
    workers: int = 4
    worker_class: str = "sync"
    threads: int = 1
    # Load the app once in the master and fork the workers from it: a restart is ready in ~1.5 s
    # instead of every worker importing Django at once on two busy cores.
    preload: bool = True

    def describe(self) -> str:
        threads = f" × {self.threads} threads" if self.worker_class == "gthread" else ""
        preload = ", preloaded" if self.preload else ""
        return f"gunicorn {self.worker_class}, {self.workers} workers{threads}{preload}"


class AppServer:
    """``gunicorn config.wsgi`` on 127.0.0.1:<port>, in a process group of its own."""

    def __init__(self, site: Site, config: ServerConfig, *, port: int | None = None) -> None:
        self.site = site
        self.config = config
        self.port = port or free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path = site.var_dir / "gunicorn.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        if self.process is not None:
            raise HarnessError("The server is already running")
        self._log = self.log_path.open("ab")
        self._log.write(f"--- start {self.starts + 1} at {time.strftime('%H:%M:%S')}\n".encode())
        self._log.flush()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            f"--bind={HOST}:{self.port}",
            f"--workers={self.config.workers}",
            f"--worker-class={self.config.worker_class}",
            f"--threads={self.config.threads}",
            "--timeout=30",
            "--graceful-timeout=5",
            "--log-level=warning",
            *(["--preload"] if self.config.preload else []),
        ]
        # A new session makes the server the leader of its own process group: kill() reaches all of it.
        self.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            command, cwd=REPO, env=self.site.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.starts += 1

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Poll /healthz until it answers; returns the seconds it took. Raises if the server died."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if self.process is None or self.process.poll() is not None:
                raise HarnessError(f"gunicorn exited while starting:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return time.monotonic() - began
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise HarnessError(f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: no graceful shutdown, requests die mid-flight."""
        self._signal_group(signal.SIGKILL, wait=5.0)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then SIGKILL whatever is left."""
        if self.process is not None:
            self._signal_group(signal.SIGTERM, wait=10.0)
        if self.process is not None:
            self.kill()

    def _signal_group(self, signum: int, *, wait: float) -> None:
        if self.process is None:
            return
        group = self.process.pid
        with suppress(ProcessLookupError):
            os.killpg(group, signum)
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return
        # The workers are not our children; wait (bounded) until the group is gone so that the
        # next start does not race them for the port. Zombies awaiting their reaper count as gone
        # after the deadline.
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> AppServer:
        self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- measuring ---------------------------------------------------------------------------------------


@dataclass
class Series:
    """Latencies of one kind of request (seconds) and its errors, by cause."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.latencies) + self.errors.total()

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile in milliseconds (NaN when nothing succeeded)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
        return ordered[rank - 1] * 1000

    def error_rate(self) -> float:
        return self.errors.total() / self.count if self.count else 0.0

    def row(self) -> str:
        mean = statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan")
        return (
            f"| {self.name} | {self.count} | {self.percentile(50):.1f} | {self.percentile(95):.1f} | "
            f"{self.percentile(99):.1f} | {max(self.latencies, default=float('nan')) * 1000:.1f} | {mean:.1f} | "
            f"{self.errors.total()} ({self.error_rate():.2%}) |"
        )


SERIES_HEADER = (
    "| request | n | p50 ms | p95 ms | p99 ms | max ms | mean ms | errors |\n|---|---|---|---|---|---|---|---|"
)


def cpu_seconds() -> float:
    """CPU time this process (the load generator) has used so far."""
    times = os.times()
    return times.user + times.system
