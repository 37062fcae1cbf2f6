"""Bulk scoring through the real Celery worker, next to raw PostgreSQL COPY of the same rows.

    python benchmarks/scoring.py [--students 5000 20000] [--concurrency 2]

For each count, on a fresh PostgreSQL database: the seed midterm with that many simulated
sittings (``grading.simulate``, not timed), then:

1. end to end: ``run_job.delay`` to the job's "succeeded" as seen by polling, through a Celery
   worker on Redis (read the answers, score, write scores and totals, statistics);
2. the statistics alone (``grading.results.exam_statistics``), in this process;
3. a rescore after a key change of one question (``key_change_apply``);
4. the baseline, in the same run: the score rows the job wrote, copied out to memory and
   COPYed into a table with the same columns and indexes (``LIKE … INCLUDING ALL``). That is
   PostgreSQL's own bulk-load rate for these rows, with no Python in the way.

Prints answers scored per second beside the COPY rate and their ratio (target ≥ 25%), and
the statistics time (target < 2 s for 20,000 sittings).
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import REPO, Site, site


class Worker:
    """``celery worker`` in its own process group, with the site's environment."""

    def __init__(self, env: dict[str, str], concurrency: int, log: Path) -> None:
        self._log = log.open("w")
        self.process = subprocess.Popen(  # noqa: S603 — our own worker, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                f"--concurrency={concurrency}",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--purge",
            ],
            cwd=REPO,
            env={**env, "EXAMHALL_LOG_LEVEL": "WARNING"},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


def wait_for_job(job_id: int, *, timeout: float) -> float:
    """Seconds until the job leaves queued/running; raises if it fails or times out."""
    from grading.models import GradingJob

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        job = GradingJob.objects.get(pk=job_id)
        if not job.active:
            if job.status != GradingJob.Status.SUCCEEDED:
                raise SystemExit(f"job {job_id} {job.status}: {job.error}")
            return time.perf_counter() - started
        time.sleep(0.02)
    raise SystemExit(f"job {job_id} still running after {timeout:.0f} s")


def copy_baseline(exam_id: int) -> tuple[int, float]:
    """COPY this exam's score rows into a same-shaped table; (rows, seconds of the COPY FROM)."""
    from django.db import connection

    columns = "sitting_id, question_id, points, auto_points, max_points, explanation, needs_manual, blank, " + (
        "source, response_summary, job_id, scored_at"
    )
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor().copy(
            f"COPY (SELECT {columns} FROM grading_answerscore s JOIN exams_sitting t ON t.id = s.sitting_id "  # noqa: S608
            f"WHERE t.exam_id = {int(exam_id)}) TO STDOUT"
        ) as copy:
            for block in copy:
                buffer.write(block)
        cursor.execute("DROP TABLE IF EXISTS bench_copy_baseline")
        cursor.execute("CREATE TABLE bench_copy_baseline (LIKE grading_answerscore INCLUDING ALL)")
        payload = buffer.getvalue()
        started = time.perf_counter()
        with raw.cursor().copy(f"COPY bench_copy_baseline ({columns}) FROM STDIN") as copy:
            for start in range(0, len(payload), 1 << 20):
                copy.write(payload[start : start + (1 << 20)])
        raw.commit()
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_copy_baseline")
        rows = int(cursor.fetchone()[0])
        cursor.execute("DROP TABLE bench_copy_baseline")
    return rows, seconds


def run(the_site: Site, students: int, concurrency: int) -> list[str]:
    from django.utils import timezone

    from accounts.models import Course, Role, User
    from exams.examfile import SEED_EXAM_PATH, exam_import
    from exams.models import Question
    from grading.jobs import job_request
    from grading.keys import KeyProposal, key_change_apply
    from grading.models import AnswerScore, GradingJob
    from grading.results import exam_statistics
    from grading.simulate import sittings_simulate
    from grading.tasks import run_job

    course = Course.objects.create(code=f"bench{students}", title="Scoring benchmark", term="Spring 2023")
    exam = exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent)
    instructor = User.objects.create(net_id=f"i{students}", full_name="Bench Instructor")
    course.memberships.create(user=instructor, role=Role.INSTRUCTOR)
    started = time.perf_counter()
    simulated = sittings_simulate(exam_id=exam.pk, students=students, seed=students, now=timezone.now())
    print(f"  simulated {students} sittings, {simulated.answers} answers in {time.perf_counter() - started:.1f} s")

    worker = Worker(the_site.env, concurrency, the_site.var_dir / f"worker-{students}.log")
    try:
        time.sleep(3)  # the worker boots before the clock starts
        job, _ = job_request(exam=exam, trigger=GradingJob.Trigger.COMMAND)
        run_job.delay(job.pk)
        seconds = wait_for_job(job.pk, timeout=1800)
        job.refresh_from_db()
        rows = AnswerScore.objects.filter(sitting__exam=exam).count()
        if rows != job.answers_scored:
            raise SystemExit(f"{rows} score rows but the job counted {job.answers_scored}")

        question = Question.objects.get(exam=exam, number="1.1")
        flipped = KeyProposal(question.policy, question.policy_params, {"value": not question.key["value"]})
        _, rescore = key_change_apply(question, flipped, by=instructor, reason="benchmark", now=timezone.now())
        rescore_seconds = wait_for_job(rescore.pk, timeout=600)
    finally:
        worker.stop()
    if worker.process.returncode not in (0, -signal.SIGTERM, None):
        print((the_site.var_dir / f"worker-{students}.log").read_text()[-3000:])

    timings = []
    for _ in range(3):
        started = time.perf_counter()
        exam_statistics(exam.pk)
        timings.append(time.perf_counter() - started)
    copy_rows, copy_seconds = copy_baseline(exam.pk)
    scored_rate = rows / seconds
    copy_rate = copy_rows / copy_seconds
    return [
        f"| {students:,} | {rows:,} | {seconds:.2f} | {scored_rate:,.0f} | {copy_seconds:.2f} | {copy_rate:,.0f} | "
        f"{scored_rate / copy_rate:.0%} | {min(timings):.2f} | {rescore_seconds:.2f} ({students:,} rows) |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2, help="worker processes")
    args = parser.parse_args()
    lines = [
        "| sittings | score rows | end to end s | answers scored/s | COPY s | COPY rows/s | ratio | "
        "statistics s | rescore one question s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    with site("scoring", conn_max_age=0) as the_site:
        for students in args.students:
            print(f"{students} sittings…", flush=True)
            lines += run(the_site, students, args.concurrency)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
