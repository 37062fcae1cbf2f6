"""Closed-loop capacity of one gunicorn configuration: to choose the worker class and count.

    python benchmarks/capacity.py [--worker-class sync --workers 4 --threads 1 --concurrency 8]

On a fresh database with --students sittings already started and claimed, --concurrency
clients send requests back to back for --seconds each: the trivial view (/healthz), the
authenticated one-row UPDATE (benchmarks/baseline_urls.py) and autosave (one answer per save,
each student's seq increasing). Prints requests per second, latency, and the CPU each request
cost in gunicorn, PostgreSQL and the load generator. sitting_load.py is the benchmark of the
issue; this one only compares server configurations at saturation.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import psycopg

from benchmarks._harness import SERIES_HEADER, AppServer, Roster, Series, ServerConfig, exam_seed, site
from benchmarks.sitting_load import CpuMeter, Reply, closed_loop, cpu_line, machine_busy, timed


async def measure(server: AppServer, roster: Roster, args: argparse.Namespace) -> None:
    devices = {s.index: str(uuid.uuid4()) for s in roster.students}
    seqs = dict.fromkeys(devices, 0)
    connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=1.0)
    with psycopg.connect(server.site.database_url, autocommit=True) as database:
        async with aiohttp.ClientSession(
            server.base_url, connector=connector, cookie_jar=aiohttp.DummyCookieJar()
        ) as http:
            claims = Series("claim")
            await asyncio.gather(
                *(
                    timed(
                        claims,
                        http,
                        "POST",
                        f"/api/sittings/{s.sitting_id}/claim/",
                        expect=200,
                        headers=s.headers(),
                        json={"device": devices[s.index]},
                    )
                    for s in roster.students
                )
            )
            if claims.errors:
                raise SystemExit(f"claims failed: {dict(claims.errors)}")
            series = {name: Series(name) for name in ("trivial view (/healthz)", "one-row UPDATE", "autosave")}

            def healthz(i: int) -> Awaitable[Reply | None]:
                return timed(series["trivial view (/healthz)"], http, "GET", "/healthz", expect=200)

            def touch(i: int) -> Awaitable[Reply | None]:
                student = roster.students[i % len(roster.students)]
                return timed(
                    series["one-row UPDATE"], http, "POST", "/benchmarks/touch", expect=200, headers=student.headers()
                )

            def save(i: int) -> Awaitable[Reply | None]:
                student = roster.students[i % len(roster.students)]
                seqs[student.index] += 1
                seq = seqs[student.index]
                target = roster.targets[seq % len(roster.targets)]
                value = target.value(student.index, seq)
                answer = {"question": target.question_id, "value": value, "flagged": False, "seq": seq}
                return timed(
                    series["autosave"],
                    http,
                    "POST",
                    f"/api/sittings/{student.sitting_id}/answers/",
                    expect=200,
                    headers=student.headers(),
                    json={"device": devices[student.index], "answers": [answer]},
                )

            requests: dict[str, Callable[[int], Awaitable[Reply | None]]] = {
                "trivial view (/healthz)": healthz,
                "one-row UPDATE": touch,
                "autosave": save,
            }
            await closed_loop(save, concurrency=args.concurrency, seconds=2)  # warm the workers and connections
            for name, request in requests.items():
                series[name] = Series(name)
                meter = CpuMeter(server, database)
                answered, elapsed = await closed_loop(request, concurrency=args.concurrency, seconds=args.seconds)
                print(f"- {name}: {answered / elapsed:.0f} requests/s")
                print(f"  {cpu_line(meter.read(answered))}")
            print(SERIES_HEADER)
            for s in series.values():
                print(s.row())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--students", type=int, default=200)
    args = parser.parse_args()
    config = ServerConfig(workers=args.workers, worker_class=args.worker_class, threads=args.threads)
    print(f"other programs kept {machine_busy():.2f} cores busy before the run")
    with site("capacity", settings_module="benchmarks.settings") as here:
        roster = exam_seed(students=args.students, start_sittings=True)
        print(f"{config.describe()}, closed loop of {args.concurrency} clients, {args.seconds:.0f} s per request kind")
        with AppServer(here, config) as server:
            asyncio.run(measure(server, roster, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
