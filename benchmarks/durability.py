"""Durability under crashes: no acknowledged answer is ever lost.

    python benchmarks/durability.py [--students 100 --duration 30 --kills 3 --seed N]

Runs the real app server (gunicorn) on a fresh PostgreSQL database (see _harness.py). Simulated
students autosave like the exam page's client: every change gets the sitting's next sequence
number; unacknowledged answers stay in a per-student buffer (the latest per question, as in the
browser's offline buffer) and are sent again after an error. Meanwhile the whole server, master
and workers, is SIGKILLed at random moments and restarted, ``--kills`` times.

At the end every answer the server ACKNOWLEDGED (status "saved" in a 200 response) is checked
against the database: the stored answer must be at least as new (its seq ≥ the acknowledged
seq, with the same value when equal), and the acknowledged save must be in the append-only
revision history. It prints sent, acknowledged, stored and lost, and exits non-zero unless
lost is 0 (and nothing else went wrong: an invalid or refused save, a missed kill).
The last line is ``RESULT <json>`` for tests/integration/test_durability.py.

``--inject-lost-updates RATE`` checks the checker: a trigger in the throw-away database makes
that share of answer UPDATEs report success while keeping the old row, as a storage layer that
acknowledges writes it does not keep would. The run must then report lost answers and fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from benchmarks._harness import AppServer, HarnessError, Roster, ServerConfig, Student, exam_seed, site

# How often a simulated student changes an answer (seconds, uniform): ~1 s debounce in the page.
CHANGE_EVERY = (0.2, 0.8)
# After an error the client waits a little before sending its buffer again (seconds, uniform).
RETRY_AFTER = (0.1, 0.4)
# After the last change, how long the clients may take to get their buffers acknowledged.
DRAIN_SECONDS = 20.0

AnswerKey = tuple[int, int, int]  # (sitting id, question id, seq)


@dataclass
class Ledger:
    """What the clients saw: every answer posted, every acknowledgement, every failure."""

    posted: set[AnswerKey] = field(default_factory=set)
    acknowledged: dict[AnswerKey, Any] = field(default_factory=dict)  # → the value that was acknowledged
    requests: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # retried: connection errors, 5xx
    stale: int = 0
    unexpected: list[str] = field(default_factory=list)  # fail the run: invalid answers, refusals
    unacknowledged_at_end: int = 0
    kills_at: list[float] = field(default_factory=list)
    restart_seconds: list[float] = field(default_factory=list)


def lost_answers(
    acknowledged: dict[AnswerKey, Any],
    stored: dict[tuple[int, int], tuple[int, Any]],
    revisions: dict[AnswerKey, Any],
) -> list[AnswerKey]:
    """The acknowledged answers the database does not hold.

    ``stored`` maps (sitting, question) to the Answer row's (seq, value); ``revisions`` maps
    (sitting, question, seq) to the AnswerRevision's value. An acknowledged answer is kept when
    the stored answer is at least as new (a greater seq, or the same seq and the same value)
    and its revision is in the history with the same value.
    """
    lost = []
    for (sitting, question, seq), value in acknowledged.items():
        row = stored.get((sitting, question))
        current = row is not None and (row[0] > seq or (row[0] == seq and row[1] == value))
        in_history = (sitting, question, seq) in revisions and revisions[(sitting, question, seq)] == value
        if not (current and in_history):
            lost.append((sitting, question, seq))
    return sorted(lost)


class SimulatedStudent:
    def __init__(self, student: Student, roster: Roster, ledger: Ledger, rng: random.Random) -> None:
        assert student.sitting_id is not None
        self.student = student
        self.sitting_id = student.sitting_id
        self.targets = roster.targets
        self.ledger = ledger
        self.rng = rng
        self.device = str(uuid.uuid4())
        self.headers = student.headers()
        self.seq = 0
        self.pending: dict[int, tuple[int, Any]] = {}  # question → (seq, value), like the browser's buffer

    async def run(self, http: aiohttp.ClientSession, *, stop_changes_at: float, give_up_at: float) -> None:
        loop = asyncio.get_running_loop()
        while not await self._claim(http):
            if loop.time() >= give_up_at:
                self.ledger.unexpected.append(f"sitting {self.sitting_id}: never claimed")
                return
            await asyncio.sleep(self.rng.uniform(*RETRY_AFTER))
        next_change = loop.time() + self.rng.uniform(0, CHANGE_EVERY[1])
        while True:
            now = loop.time()
            if now >= give_up_at:
                self.ledger.unacknowledged_at_end += len(self.pending)
                return
            if now < stop_changes_at and now >= next_change:
                self.seq += 1
                target = self.rng.choice(self.targets)
                self.pending[target.question_id] = (self.seq, target.value(self.student.index, self.seq))
                next_change = now + self.rng.uniform(*CHANGE_EVERY)
            if not self.pending:
                if now >= stop_changes_at:
                    return
                await asyncio.sleep(next_change - now)
                continue
            if not await self._save(http):
                await asyncio.sleep(self.rng.uniform(*RETRY_AFTER))
            elif not self.pending and now < stop_changes_at:
                await asyncio.sleep(max(0.0, next_change - loop.time()))

    async def _claim(self, http: aiohttp.ClientSession) -> bool:
        status, payload = await self._post(http, f"/api/sittings/{self.sitting_id}/claim/", {"device": self.device})
        if status == 200:
            return True
        if status is not None and status < 500:
            self.ledger.unexpected.append(f"claim {self.sitting_id}: HTTP {status} {str(payload)[:200]}")
        return False

    async def _save(self, http: aiohttp.ClientSession) -> bool:
        """Send the whole buffer; True when the server answered (whatever each answer's status)."""
        batch = dict(self.pending)
        for question, (seq, _) in batch.items():
            self.ledger.posted.add((self.sitting_id, question, seq))
        body = {
            "device": self.device,
            "answers": [
                {"question": question, "value": value, "flagged": False, "seq": seq}
                for question, (seq, value) in batch.items()
            ],
        }
        status, payload = await self._post(http, f"/api/sittings/{self.sitting_id}/answers/", body)
        if status != 200:
            if status is not None and status < 500:
                self.ledger.unexpected.append(f"save {self.sitting_id}: HTTP {status} {str(payload)[:200]}")
            return False
        for result in payload["results"]:
            question, seq = result["question"], result["seq"]
            if result["status"] == "saved":
                self.ledger.acknowledged[(self.sitting_id, question, seq)] = batch[question][1]
            elif result["status"] == "stale":
                # A retry of a save that was stored before its response was lost, or an older one.
                self.ledger.stale += 1
            else:
                self.ledger.unexpected.append(f"save {self.sitting_id}: {result}")
            if self.pending.get(question, (None,))[0] == seq:
                del self.pending[question]
        return True

    async def _post(self, http: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> tuple[int | None, Any]:
        self.ledger.requests += 1
        try:
            async with http.post(path, json=body, headers=self.headers) as response:
                payload = await response.json() if response.status == 200 else await response.text()
                if response.status >= 500:
                    self.ledger.failures[f"HTTP {response.status}"] += 1
                return response.status, payload
        except (aiohttp.ClientError, TimeoutError) as error:
            self.ledger.failures[type(error).__name__] += 1
            return None, None


async def chaos(server: AppServer, *, kills: int, seconds: float, ledger: Ledger, rng: random.Random) -> None:
    """SIGKILL the whole server ``kills`` times at random moments within ``seconds``, restarting it each time.

    Each kill falls at a random moment early in its own slot of the run, so that the server is
    back (~1.5 s) and under load again before the next one."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    slot = seconds / max(kills, 1)
    for n in range(kills):
        moment = began + rng.uniform((n + 0.15) * slot, (n + 0.6) * slot)
        await asyncio.sleep(max(0.2, moment - loop.time()))
        await asyncio.to_thread(server.kill)
        ledger.kills_at.append(loop.time() - began)
        down = time.monotonic()
        await asyncio.sleep(rng.uniform(0.0, 1.0))
        await asyncio.to_thread(server.start)
        await asyncio.to_thread(server.wait_ready)
        ledger.restart_seconds.append(time.monotonic() - down)


async def drive(server: AppServer, roster: Roster, args: argparse.Namespace, ledger: Ledger) -> None:
    rng = random.Random(args.seed)
    loop = asyncio.get_running_loop()
    stop_changes_at = loop.time() + args.duration
    give_up_at = stop_changes_at + DRAIN_SECONDS
    connector = aiohttp.TCPConnector(limit=len(roster.students))
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(
        server.base_url, connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as http:
        students = [SimulatedStudent(s, roster, ledger, random.Random(rng.random())) for s in roster.students]
        killer = asyncio.create_task(chaos(server, kills=args.kills, seconds=args.duration, ledger=ledger, rng=rng))
        await asyncio.gather(
            *(s.run(http, stop_changes_at=stop_changes_at, give_up_at=give_up_at) for s in students),
        )
        await killer


def database_state(roster: Roster) -> tuple[dict[tuple[int, int], tuple[int, Any]], dict[AnswerKey, Any]]:
    from exams.models import Answer, AnswerRevision

    stored = {
        (sitting, question): (seq, value)
        for sitting, question, seq, value in Answer.objects.filter(sitting__exam_id=roster.exam_id).values_list(
            "sitting_id", "question_id", "seq", "value"
        )
    }
    revisions = {
        (sitting, question, seq): value
        for sitting, question, seq, value in AnswerRevision.objects.filter(sitting__exam_id=roster.exam_id).values_list(
            "sitting_id", "question_id", "seq", "value"
        )
    }
    return stored, revisions


def foreign_values(roster: Roster, stored: dict[tuple[int, int], tuple[int, Any]]) -> int:
    """Stored answers whose value is not the one their student sent with that seq (corruption)."""
    index = {s.sitting_id: s.index for s in roster.students}
    targets = {t.question_id: t for t in roster.targets}
    return sum(
        value != targets[question].value(index[sitting], seq) for (sitting, question), (seq, value) in stored.items()
    )


def lose_answer_updates(rate: float) -> None:
    """Fault injection for the self-test: a BEFORE UPDATE trigger that returns OLD reports the
    row as updated (so the server acknowledges the save) but leaves it unchanged."""
    from django.db import connection

    from exams.models import Answer

    table = connection.ops.quote_name(Answer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION durability_lose_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF random() < {float(rate)!r} THEN RETURN OLD; END IF; RETURN NEW; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER durability_lose_update BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION durability_lose_update()"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of autosaving under kills")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed, to replay a run)")
    parser.add_argument(
        "--inject-lost-updates",
        type=float,
        default=0.0,
        metavar="RATE",
        help="self-test: silently drop this share of answer updates in the database; the run must fail",
    )
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    config = ServerConfig(workers=args.workers, worker_class=args.worker_class, threads=args.threads)
    ledger = Ledger()
    server_log = ""
    began = time.monotonic()
    try:
        with site("durability") as here:
            roster = exam_seed(students=args.students, start_sittings=True)
            if args.inject_lost_updates:
                lose_answer_updates(args.inject_lost_updates)
            print(
                f"durability: {args.students} students on {here.database}, {config.describe()}, "
                f"{args.duration:.0f} s of autosave with {args.kills} SIGKILLs of the whole server, seed {args.seed}",
                flush=True,
            )
            with AppServer(here, config) as server:
                asyncio.run(drive(server, roster, args, ledger))
                server_log = server.log_tail()
            stored, revisions = database_state(roster)
            lost = lost_answers(ledger.acknowledged, stored, revisions)
            corrupt = foreign_values(roster, stored)
    except HarnessError as error:
        print(f"durability: set-up failed: {error}", file=sys.stderr)
        return 2
    acknowledged = len(ledger.acknowledged)
    counts = {
        "sent": len(ledger.posted),
        "acknowledged": acknowledged,
        "stored": acknowledged - len(lost),
        "lost": len(lost),
        "stale": ledger.stale,
        "requests": ledger.requests,
        "failed_requests": ledger.failures.total(),
        "unacknowledged_at_end": ledger.unacknowledged_at_end,
        "unexpected": len(ledger.unexpected),
        "corrupt": corrupt,
        "kills": len(ledger.kills_at),
    }
    if ledger.kills_at:
        kills = ", ".join(f"{t:.1f} s" for t in ledger.kills_at)
        restarts = ", ".join(f"{t:.1f} s" for t in ledger.restart_seconds)
        print(f"SIGKILLed at {kills}; answering again after {restarts}")
    failures = ", ".join(f"{name} {n}" for name, n in ledger.failures.most_common()) or "none"
    print(f"requests {ledger.requests}; failed and retried {ledger.failures.total()} ({failures})")
    print(
        f"sent {counts['sent']}  acknowledged {acknowledged}  stored {counts['stored']}  lost {counts['lost']}"
        f"   (stale {ledger.stale}, unacknowledged at the end {ledger.unacknowledged_at_end}, corrupt {corrupt})"
    )
    problems = []
    if lost:
        problems.append(f"{len(lost)} acknowledged answers are not in the database, e.g. {lost[:5]}")
    if ledger.unexpected:
        problems.append(f"{len(ledger.unexpected)} unexpected responses, e.g. {ledger.unexpected[:3]}")
    if len(ledger.kills_at) < args.kills:
        problems.append(f"only {len(ledger.kills_at)} of {args.kills} kills happened")
    if ledger.unacknowledged_at_end:
        problems.append(f"{ledger.unacknowledged_at_end} answers were still unacknowledged after the drain")
    if corrupt:
        problems.append(f"{corrupt} stored answers hold a value their student never sent with that seq")
    if not acknowledged:
        problems.append("nothing was acknowledged")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if problems and "HTTP 500" in ledger.failures:
        print(f"server log:\n{server_log}", file=sys.stderr)
    print(f"took {time.monotonic() - began:.1f} s")
    print("RESULT " + json.dumps(counts), flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
