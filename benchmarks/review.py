"""The review queue under load: claiming the next answer, and re-applying a rubric edit.

    python benchmarks/review.py [--students 5400] [--graders 4] [--claims 500] [--edit-rows 5000] [--runs 3]

On a fresh PostgreSQL database (``benchmarks/_harness.site``): the seed midterm with simulated
sittings (``grading.simulate.sittings_simulate``) scored in this process
(``grading.jobs.job_run_inline``), none of it timed. The question graded is 3.4 (short answer,
graded by hand), about 5,000 non-blank answers for the default 5,400 students. Then:

1. Claiming: ``--graders`` threads (one TA each, its own connection) claim the next answer and
   grade it, ``--claims`` claims in all. Only the claim is timed; the grade that follows
   (``evaluation_save``, untimed) moves the queue on, as a grader's save does. Two ways of
   claiming, in alternating rounds so that both meet the same machine and the same queue:
   ``evaluation_next`` (the app: builds missing queue entries, then ``SELECT … FOR UPDATE SKIP
   LOCKED`` and the claim's UPDATE through the ORM), and the baseline, the bare SQL of the same
   claim: one ``SELECT id … ORDER BY queue_order LIMIT 1 FOR UPDATE SKIP LOCKED`` and one
   ``UPDATE``, in one transaction, same predicate, same table.
2. Re-applying an edit: one rubric item applied to ``--edit-rows`` graded answers (set up in
   bulk, untimed); its points are changed with ``rubric_item_update`` (every evaluation and score
   rewritten, an audit row each, the sittings' totals recomputed), ``--runs`` times, alternating
   −1 → −2 → −1. Baseline: one raw ``UPDATE`` of the same rows' points. For scale, the totals'
   share is timed apart (``results_recompute`` of the same sittings).

Prints markdown tables. The machine may be shared: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import SERIES_HEADER, Series, site

QUESTION = "3.4"
BARE_CLAIM = """
    SELECT id, version FROM grading_evaluation
    WHERE question_id = %s AND graded_at IS NULL
      AND (claimed_until IS NULL OR claimed_until < %s OR claimed_by_id = %s)
    ORDER BY queue_order LIMIT 1 FOR UPDATE SKIP LOCKED
"""
BARE_UPDATE = "UPDATE grading_evaluation SET claimed_by_id = %s, claimed_until = %s WHERE id = %s"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"


def prepare(students: int, graders: int) -> tuple[Any, Any, list[Any]]:
    """The exam (seed midterm) with ``students`` scored sittings; its question 3.4; the graders."""
    from django.utils import timezone

    from accounts.models import Course, Membership, Role, User
    from exams.examfile import SEED_EXAM_PATH, exam_import
    from exams.models import Question
    from grading.jobs import job_request, job_run_inline
    from grading.models import GradingJob
    from grading.simulate import sittings_simulate

    course = Course.objects.create(code="bench-review", title="Review benchmark", term="Spring 2023")
    exam = exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent)
    started = time.perf_counter()
    simulated = sittings_simulate(exam_id=exam.pk, students=students, seed=students, now=timezone.now())
    print(f"  simulated {students:,} sittings, {simulated.answers:,} answers in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    job, _ = job_request(exam=exam, trigger=GradingJob.Trigger.COMMAND)
    job = job_run_inline(job.pk, now=timezone.now())
    print(f"  scored {job.answers_scored:,} answers in {time.perf_counter() - started:.1f} s ({job.status})")
    question = Question.objects.get(exam=exam, number=QUESTION)
    tas = User.objects.bulk_create([User(net_id=f"ta{index}", full_name=f"Grader {index}") for index in range(graders)])
    Membership.objects.bulk_create([Membership(user=ta, course=course, role=Role.TA) for ta in tas])
    return exam, question, tas


# --- 1. claiming the next answer -------------------------------------------------------------------


def claim_app(question_id: int, grader: Any) -> tuple[int, int] | None:
    from django.utils import timezone

    from grading.review import evaluation_next

    evaluation = evaluation_next(question_id=question_id, grader=grader, now=timezone.now())
    return None if evaluation is None else (evaluation.pk, evaluation.version)


def claim_bare(question_id: int, grader: Any) -> tuple[int, int] | None:
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BARE_CLAIM, [question_id, now, grader.pk])
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(BARE_UPDATE, [grader.pk, now + timedelta(minutes=10), row[0]])
    return int(row[0]), int(row[1])


Claim = Callable[[int, Any], "tuple[int, int] | None"]


def grade(evaluation: tuple[int, int], grader: Any) -> None:
    """The grader's save that follows a claim (untimed): it takes the answer out of the queue."""
    from django.utils import timezone

    from grading.review import evaluation_save

    evaluation_save(
        evaluation_id=evaluation[0],
        grader=grader,
        item_ids=[],
        adjustment=Decimal(0),
        comment="",
        version=evaluation[1],
        now=timezone.now(),
    )


def claims_round(claim: Claim, question_id: int, graders: list[Any], count: int, series: Series | None) -> None:
    """``count`` claims, shared by the graders, each in its own thread and connection."""
    from django.db import connection

    lock = threading.Lock()
    shares = [count // len(graders) + (1 if index < count % len(graders) else 0) for index in range(len(graders))]

    def work(grader: Any, share: int) -> None:
        try:
            for _ in range(share):
                started = time.perf_counter()
                try:
                    claimed = claim(question_id, grader)
                except Exception as error:  # counted, never hidden
                    if series is not None:
                        with lock:
                            series.errors[type(error).__name__] += 1
                    continue
                elapsed = time.perf_counter() - started
                if claimed is None:
                    if series is not None:
                        with lock:
                            series.errors["queue empty"] += 1
                    return
                if series is not None:
                    with lock:
                        series.latencies.append(elapsed)
                grade(claimed, grader)
        finally:
            connection.close()

    with ThreadPoolExecutor(len(graders)) as pool:
        for done in [pool.submit(work, grader, share) for grader, share in zip(graders, shares, strict=True)]:
            done.result()


def bench_claims(question: Any, graders: list[Any], claims: int, rounds: int) -> list[Series]:
    from grading.models import Evaluation
    from grading.review import queue_build

    queue_build(question.pk)
    waiting = Evaluation.objects.filter(question=question, graded_at__isnull=True).count()
    print(f"  question {QUESTION}: {waiting:,} answers wait for a grader; {len(graders)} graders claim")
    app = Series(f"`evaluation_next` ({len(graders)} graders at once)")
    bare = Series("baseline: bare `SELECT … FOR UPDATE SKIP LOCKED LIMIT 1` + `UPDATE`")
    for claim in (claim_app, claim_bare):  # warm-up: connections, plans, caches
        claims_round(claim, question.pk, graders, 2 * len(graders), None)
    per_round = [claims // rounds + (1 if index < claims % rounds else 0) for index in range(rounds)]
    for index, count in enumerate(per_round):
        order = [(claim_app, app), (claim_bare, bare)]
        for claim, series in order if index % 2 == 0 else reversed(order):
            claims_round(claim, question.pk, graders, count, series)
    return [app, bare]


# --- 2. re-applying a rubric edit ----------------------------------------------------------------------


def graded_with_item(exam: Any, question: Any, actor: Any, rows: int) -> tuple[Any, list[int], list[int]]:
    """An item applied to ``rows`` graded answers of the question (written in bulk, untimed);
    returns (item, evaluation ids, sitting ids)."""
    from django.utils import timezone

    from grading.bulk import results_recompute
    from grading.models import AnswerScore, Evaluation, RubricItem, ScoreSource
    from grading.review import rubric_for

    now = timezone.now()
    item = RubricItem.objects.create(
        rubric=rubric_for(question), position=1, points=Decimal(-1), description="Missing justification"
    )
    chosen = list(
        Evaluation.objects.filter(question=question)
        .order_by("queue_order")
        .values_list("pk", "score_id", "sitting_id")[:rows]
    )
    if len(chosen) < rows:
        raise SystemExit(f"question {QUESTION} has {len(chosen)} answers to grade, fewer than --edit-rows {rows}")
    ids = [row[0] for row in chosen]
    through = Evaluation.items.through
    through.objects.filter(evaluation_id__in=ids).delete()
    through.objects.bulk_create([through(evaluation_id=pk, rubricitem_id=item.pk) for pk in ids], batch_size=5000)
    points = question.points - 1
    Evaluation.objects.filter(pk__in=ids).update(
        points=points, adjustment=0, comment="", graded_by=actor, graded_at=now, claimed_by=None, claimed_until=None
    )
    AnswerScore.objects.filter(pk__in=[row[1] for row in chosen]).update(
        points=points,
        explanation=f"{question.points} −1 Missing justification = {points}",
        source=ScoreSource.MANUAL,
        needs_manual=False,
    )
    sittings = sorted(row[2] for row in chosen)
    results_recompute(exam.pk, sittings, now=now)
    return item, ids, sittings


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def bench_edit(exam: Any, question: Any, actor: Any, rows: int, runs: int) -> list[str]:
    from django.db import connection, transaction
    from django.utils import timezone

    from grading.bulk import results_recompute
    from grading.models import GradeEvent
    from grading.review import rubric_item_update

    item, ids, sittings = graded_with_item(exam, question, actor, rows)
    app, bare, totals = [], [], []
    for run in range(runs):
        points = Decimal(-2) if run % 2 == 0 else Decimal(-1)
        events = GradeEvent.objects.count()

        def edit(points: Decimal = points) -> int:
            return rubric_item_update(item=item, actor=actor, now=timezone.now(), points=points)

        seconds, changed = timed(edit)
        if changed != rows or GradeEvent.objects.count() - events != rows:
            raise SystemExit(f"rubric_item_update changed {changed} answers, expected {rows}")
        app.append(seconds)

        # The same rows' points written once more, to the value the edit gave them: the same
        # writes (points is in no index either way), and the next edit still changes every row.
        def raw_update(value: Decimal = question.points + points) -> int:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("UPDATE grading_evaluation SET points = %s WHERE id = ANY(%s)", [value, ids])
                return int(cursor.rowcount)

        seconds, updated = timed(raw_update)
        if updated != rows:
            raise SystemExit(f"the raw UPDATE touched {updated} rows, expected {rows}")
        bare.append(seconds)
        totals.append(timed(lambda: results_recompute(exam.pk, sittings, now=timezone.now()))[0])

    def line(name: str, times: list[float]) -> str:
        best, median = min(times), statistics.median(times)
        return f"| {name} | {rows:,} | {len(times)} | {best:.2f} | {median:.2f} | {rows / median:,.0f} |"

    ratio = statistics.median(app) / statistics.median(bare)
    return [
        "| re-apply one rubric item edit | answers | runs | best s | median s | answers/s |",
        "|---|---|---|---|---|---|",
        line("`rubric_item_update` (evaluations, scores, audit rows, totals)", app),
        line("baseline: one raw `UPDATE` of the same rows' points", bare),
        line("for scale: the totals alone (`results_recompute` of those sittings)", totals),
        "",
        f"`rubric_item_update` / raw UPDATE, medians: {ratio:,.0f}×",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=5400, help="simulated sittings (about 93%% answer 3.4)")
    parser.add_argument("--graders", type=int, default=4, help="graders claiming at once (threads)")
    parser.add_argument("--claims", type=int, default=500, help="claims measured per way of claiming")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds the claims are split into")
    parser.add_argument("--edit-rows", type=int, default=5000, help="graded answers the edited item is applied to")
    parser.add_argument("--runs", type=int, default=3, help="timed edits (and baselines)")
    args = parser.parse_args()
    print(f"before: {load()}", flush=True)
    with site("review", conn_max_age=0):
        exam, question, graders = prepare(args.students, args.graders)
        claims = bench_claims(question, graders, args.claims, args.rounds)
        edit = bench_edit(exam, question, graders[0], args.edit_rows, args.runs)
    print(f"after: {load()}\n")
    print(SERIES_HEADER.replace("| request |", "| claim the next answer |"))
    for series in claims:
        print(series.row())
    app, bare = (series.percentile(50) for series in claims)
    print(f"\n`evaluation_next` / baseline, p50: {app / bare:.1f}×\n")
    print("\n".join(edit))


if __name__ == "__main__":
    main()
