"""CPU per request of the sitting's hot paths, in one process, without an HTTP server.

    python benchmarks/request_cpu.py [--students 200 --saves 5 --rounds 3] [--middleware] [--sql]
    python benchmarks/request_cpu.py --profile "exam page GET"    # cProfile (CPU time) of one kind

It measures what a gunicorn worker spends on each request, and works on a machine that is
busy with other things (unlike sitting_load.py and capacity.py, which need a quiet one):
``time.process_time()`` counts only this process's CPU, however many other programs run.

On a fresh database (see _harness.py, DEBUG off, persistent connections, Redis for the cache
and the sessions) with --students logged-in students of the seed midterm, every request goes
through Django's WSGI handler (``config.wsgi``'s application, middleware and all, with the
request_started/finished signals a server sends) exactly as gunicorn calls it:

- each student starts: cover page GET, sign POST (→ 302, creates the sitting), exam page GET,
  claim POST; then a second cover GET and a second sign POST (the sitting exists, → 302);
- each student autosaves --saves times: the first save of a question (an INSERT), then
  saves that update it;
- the baselines: /healthz and the authenticated one-row UPDATE (benchmarks/baseline_urls.py).

The baselines are timed over --rounds rounds, the rest once per student, after a warm-up; it
prints the CPU ms per request (median and mean) and the SQL statements that Django sent
(counted on a separate pass, since counting them costs CPU too; --sql prints them).
PostgreSQL's CPU is not in these figures. --middleware also times the one-row UPDATE without
each middleware in turn.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import re
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import HOST, Roster, Student, exam_seed, site

SITTING_URL = re.compile(r"^/exams/sittings/(\d+)/$")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Wsgi:
    """Calls a WSGI application like a server does: environ in, status, headers and body out."""

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application

    def __call__(
        self,
        method: str,
        path: str,
        *,
        student: Student | None = None,
        form: dict[str, str] | None = None,
        json_body: Any = None,
        accept: str = "text/html,application/xhtml+xml,*/*;q=0.8",
    ) -> Reply:
        body = b""
        content_type = ""
        if form is not None:
            body, content_type = urlencode(form).encode(), "application/x-www-form-urlencoded"
        elif json_body is not None:
            body, content_type = json.dumps(json_body).encode(), "application/json"
            accept = "application/json"
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": HOST,
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": HOST,
            "HTTP_HOST": HOST,
            "HTTP_ACCEPT": accept,
            "HTTP_USER_AGENT": "request_cpu",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if body:
            environ["CONTENT_TYPE"] = content_type
            environ["CONTENT_LENGTH"] = str(len(body))
        if student is not None:
            environ["HTTP_COOKIE"] = f"sessionid={student.session_key}; csrftoken={student.csrf_token}"
            environ["HTTP_X_CSRFTOKEN"] = student.csrf_token
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

        result = self.application(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # fires request_finished, as a server does
        return Reply(answer["status"], answer["headers"], content)


class Meter:
    """CPU seconds per request, by kind."""

    def __init__(self, profile: str = "") -> None:
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.queries: dict[str, list[int]] = defaultdict(list)
        self.counting = False
        self.profile = profile
        self.profiler: cProfile.Profile | None = None
        self.show_sql = False

    def run(self, kind: str, call: Callable[[], Reply], expect: int) -> Reply:
        if self.counting:
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as queries:
                reply = call()
            self.queries[kind].append(len(queries))
            if self.show_sql and len(self.queries[kind]) == 1:
                print(f"--- {kind}", *(q["sql"][:300] for q in queries), sep="\n")
        elif self.profiler is not None and kind == self.profile:
            reply = self.profiler.runcall(call)
        else:
            began = time.process_time()
            reply = call()
            self.cpu[kind].append(time.process_time() - began)
        if reply.status != expect:
            raise SystemExit(f"{kind}: HTTP {reply.status}, expected {expect}:\n{reply.body[:2000].decode()}")
        return reply

    def table(self, order: list[str]) -> str:
        lines = ["| request | n | CPU ms median | CPU ms mean | SQL statements |", "|---|---|---|---|---|"]
        for kind in order:
            times = [t * 1000 for t in self.cpu.get(kind, [])]
            if not times:
                continue
            counts = sorted(set(self.queries.get(kind, [])))
            shown = "–".join(str(c) for c in (counts[0], counts[-1])) if len(counts) > 1 else str(counts[0])
            lines.append(
                f"| {kind} | {len(times)} | {statistics.median(times):.2f} | {statistics.fmean(times):.2f} | {shown} |"
            )
        return "\n".join(lines)


ORDER = [
    "/healthz",
    "one-row UPDATE",
    "cover page GET",
    "sign POST (starts) → 302",
    "exam page GET",
    "claim POST",
    "cover page GET (started)",
    "sign POST (started) → 302",
    "autosave, first save of a question",
    "autosave, update",
]


class Flow:
    def __init__(self, http: Wsgi, roster: Roster, meter: Meter) -> None:
        self.http, self.roster, self.meter = http, roster, meter
        self.sittings: dict[int, tuple[int, str]] = {}
        self.seqs: dict[int, int] = defaultdict(int)
        self.lobby = f"/exams/{roster.exam_id}/"

    def baselines(self, student: Student) -> None:
        self.meter.run("/healthz", lambda: self.http("GET", "/healthz"), 200)
        self.meter.run("one-row UPDATE", lambda: self.http("POST", "/benchmarks/touch", student=student), 200)

    def start(self, student: Student) -> None:
        run, http = self.meter.run, self.http
        cover = run("cover page GET", lambda: http("GET", self.lobby, student=student), 200)
        assert b'name="signature"' in cover.body
        form = {"csrfmiddlewaretoken": student.csrf_token, "signature": student.full_name}
        signed = run("sign POST (starts) → 302", lambda: http("POST", self.lobby, student=student, form=form), 302)
        match = SITTING_URL.match(signed.headers.get("Location", ""))
        assert match, signed.headers
        page = run("exam page GET", lambda: http("GET", match[0], student=student), 200)
        assert b'id="sitting-config"' in page.body
        device = str(uuid.uuid4())
        claim = f"/api/sittings/{match[1]}/claim/"
        run("claim POST", lambda: http("POST", claim, student=student, json_body={"device": device}), 200)
        self.sittings[student.index] = (int(match[1]), device)

    def restart(self, student: Student) -> None:
        run, http = self.meter.run, self.http
        run("cover page GET (started)", lambda: http("GET", self.lobby, student=student), 200)
        form = {"csrfmiddlewaretoken": student.csrf_token, "signature": student.full_name}
        run("sign POST (started) → 302", lambda: http("POST", self.lobby, student=student, form=form), 302)

    def save(self, student: Student, kind: str) -> None:
        sitting_id, device = self.sittings[student.index]
        self.seqs[student.index] += 1
        seq = self.seqs[student.index]
        target = self.roster.targets[student.index % len(self.roster.targets)]
        answer = {"question": target.question_id, "value": target.value(student.index, seq), "seq": seq}
        body = {"device": device, "answers": [answer]}
        reply = self.meter.run(
            kind,
            lambda: self.http("POST", f"/api/sittings/{sitting_id}/answers/", student=student, json_body=body),
            200,
        )
        outcome = json.loads(reply.body)["results"][0]["status"]
        assert outcome == "saved", reply.body


def middleware_costs(students: list[Student], rounds: int) -> str:
    """CPU of the one-row UPDATE (an authenticated POST) with every middleware and without
    each one in turn (a handler built for each list), the two timed in alternation so that a
    change in the machine's load falls on both: what each middleware costs per request. The
    session and authentication middleware are not left out (the view needs the user)."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    def touches(http: Wsgi, meter: Meter, kind: str, batch: list[Student]) -> None:
        for student in batch:

            def touch(student: Student = student) -> Reply:
                return http("POST", "/benchmarks/touch", student=student)

            meter.run(kind, touch, 200)

    everything = list(settings.MIDDLEWARE)
    full = Wsgi(WSGIHandler())
    needed = {
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    }
    lines = ["| without | with all, ms | without it, ms | it costs, ms |", "|---|---|---|---|"]
    for name in [m for m in everything if m not in needed]:
        with override_settings(MIDDLEWARE=[m for m in everything if m != name]):
            without = Wsgi(WSGIHandler())
        meter = Meter()
        for _ in range(rounds):
            for start in range(0, len(students), 20):
                touches(full, meter, "with", students[start : start + 20])
                touches(without, meter, "without", students[start : start + 20])
        with_ms, without_ms = (statistics.median(meter.cpu[k]) * 1000 for k in ("with", "without"))
        lines.append(f"| {name} | {with_ms:.3f} | {without_ms:.3f} | {with_ms - without_ms:+.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--saves", type=int, default=5, help="saves per student (the first is an INSERT)")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of the baselines and updates")
    parser.add_argument(
        "--middleware", action="store_true", help="also time the one-row UPDATE without each middleware in turn"
    )
    parser.add_argument("--sql", action="store_true", help="print the SQL of the first counted request of each kind")
    parser.add_argument(
        "--profile", default="", help="profile the requests of this kind (cProfile) instead of timing them"
    )
    args = parser.parse_args()

    with site("cpu", settings_module="benchmarks.settings"):
        roster = exam_seed(students=args.students + 20, start_sittings=False)
        from config.wsgi import application

        http = Wsgi(application)
        meter = Meter(args.profile)
        meter.show_sql = args.sql
        flow = Flow(http, roster, meter)
        warm, counted, students = roster.students[:10], roster.students[10:20], roster.students[20:]
        for student in roster.students:  # a logged-in session is in the cache, as after a login
            flow.baselines(student)
        # Warm-up (imports, templates, caches), then one counted pass, neither of them timed.
        for batch, counting in ((warm, False), (counted, True)):
            meter.counting = counting
            for student in batch:
                flow.baselines(student)
                flow.start(student)
                flow.restart(student)
                flow.save(student, "autosave, first save of a question")
                flow.save(student, "autosave, update")
        meter.cpu.clear()
        meter.counting = False
        if args.profile:
            meter.profiler = cProfile.Profile(time.process_time)  # CPU, not waiting
        for _ in range(args.rounds):
            for student in students:
                flow.baselines(student)
        for student in students:
            flow.start(student)
        for student in students:
            flow.restart(student)
        for student in students:
            flow.save(student, "autosave, first save of a question")
        for _ in range(args.saves - 1):
            for student in students:
                flow.save(student, "autosave, update")
        if meter.profiler is not None:
            pstats.Stats(meter.profiler).sort_stats("cumulative").print_stats(60)
            pstats.Stats(meter.profiler).sort_stats("tottime").print_stats(30)
            return
        print(meter.table(ORDER))
        if args.middleware:
            print()
            print(middleware_costs(students, args.rounds))
        start = ["cover page GET", "sign POST (starts) → 302", "exam page GET", "claim POST"]
        total = sum(statistics.median(meter.cpu[k]) for k in start) * 1000
        print(f"\none start (the four requests, medians): {total:.1f} ms CPU")


if __name__ == "__main__":
    main()
