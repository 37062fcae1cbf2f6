"""Bulk scoring jobs: request, plan into chunks, score each chunk, finish with statistics.

A job's life: ``job_request`` creates it (or returns the exam's active job of the same
kind, so a double click never runs two); ``job_plan`` splits the closed sittings into
``GradingChunk`` rows once; each chunk is scored by ``chunk_run``, which writes the scores
and marks the chunk done in one transaction, counting it towards the job's progress only
the first time; when no chunk is left, ``job_finish`` computes the statistics. Every step
may run again (a redelivered task, a re-run job) and ends in the same rows.

The Celery tasks in ``grading.tasks`` call these; so do ``manage.py score_exam --inline``
and the tests.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F

from accounts.models import User
from exams.models import Exam, Question, Sitting, SittingStatus
from grading.bulk import chunk_score
from grading.models import GradingChunk, GradingJob
from grading.scoring.specs import exam_specs

SCORED_STATUSES = (SittingStatus.SUBMITTED, SittingStatus.EXPIRED)


def chunk_size() -> int:
    return int(getattr(settings, "EXAMHALL_SCORING_CHUNK", 500))


def job_request(
    *,
    exam: Exam,
    trigger: str,
    requested_by: User | None = None,
    question: Question | None = None,
) -> tuple[GradingJob, bool]:
    """A new job for the exam (or one question of it), or the active one already asked for.

    Returns (job, created). The exam row is locked while deciding, so two requests at the
    same moment make one job.
    """
    kind = GradingJob.Kind.SCORE if question is None else GradingJob.Kind.RESCORE
    with transaction.atomic():
        Exam.objects.select_for_update().filter(pk=exam.pk).first()
        active = GradingJob.objects.filter(
            exam=exam,
            kind=kind,
            question=question,
            status__in=(GradingJob.Status.QUEUED, GradingJob.Status.RUNNING),
        ).first()
        if active is not None:
            return active, False
        job = GradingJob.objects.create(
            exam=exam, kind=kind, question=question, trigger=trigger, requested_by=requested_by
        )
    return job, True


def job_plan(job_id: int, *, now: datetime) -> list[int]:
    """Split the job's sittings into chunks (the first time only); the ids of chunks not done."""
    with transaction.atomic():
        job = GradingJob.objects.select_for_update().get(pk=job_id)
        if job.status == GradingJob.Status.QUEUED:
            sitting_ids = list(
                Sitting.objects.filter(exam_id=job.exam_id, status__in=SCORED_STATUSES)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            size = chunk_size()
            GradingChunk.objects.bulk_create(
                [
                    GradingChunk(job=job, index=index, sitting_ids=sitting_ids[start : start + size])
                    for index, start in enumerate(range(0, len(sitting_ids), size))
                ],
                ignore_conflicts=True,
            )
            job.chunks_total = job.chunks.count()
            job.sittings_total = len(sitting_ids)
            job.status = GradingJob.Status.RUNNING
            job.started_at = now
            job.error = ""
            job.save(update_fields=["chunks_total", "sittings_total", "status", "started_at", "error"])
        if job.status != GradingJob.Status.RUNNING:
            return []
        return list(job.chunks.filter(done_at__isnull=True).order_by("index").values_list("pk", flat=True))


def chunk_run(chunk_id: int, *, now: datetime) -> bool:
    """Score one chunk; True when it leaves no chunk of its job undone.

    Scores, totals and the chunk's "done" mark commit together; the job's counters grow
    only when this run is the one that marked the chunk done.
    """
    chunk = GradingChunk.objects.select_related("job").get(pk=chunk_id)
    job = chunk.job
    sections = exam_specs(job.exam_id)
    with transaction.atomic():
        count = chunk_score(
            exam_id=job.exam_id,
            sections=sections,
            sitting_ids=chunk.sitting_ids,
            job_id=job.pk,
            now=now,
            question_id=job.question_id,
        )
        marked = GradingChunk.objects.filter(pk=chunk.pk, done_at__isnull=True).update(
            done_at=now, answers_scored=count
        )
        if marked:
            GradingJob.objects.filter(pk=job.pk).update(
                chunks_done=F("chunks_done") + 1,
                sittings_done=F("sittings_done") + len(chunk.sitting_ids),
                answers_scored=F("answers_scored") + count,
            )
    return job_chunks_left(job.pk) == 0


def job_chunks_left(job_id: int) -> int:
    return GradingChunk.objects.filter(job_id=job_id, done_at__isnull=True).count()


def job_finish(job_id: int, *, now: datetime) -> GradingJob:
    """Compute the exam's statistics and close the job (again, harmlessly, if it is closed)."""
    from grading.results import exam_statistics  # the statistics read what the chunks wrote

    statistics = exam_statistics(GradingJob.objects.get(pk=job_id).exam_id)
    with transaction.atomic():
        job = GradingJob.objects.select_for_update().get(pk=job_id)
        if job_chunks_left(job.pk):
            raise RuntimeError(f"Job {job.pk} still has {job_chunks_left(job.pk)} chunks to score.")
        job.statistics = statistics
        job.status = GradingJob.Status.SUCCEEDED
        job.finished_at = job.finished_at or now
        job.save(update_fields=["statistics", "status", "finished_at"])
    return job


def job_fail(job_id: int, *, error: str, now: datetime) -> None:
    GradingJob.objects.filter(pk=job_id).exclude(status=GradingJob.Status.SUCCEEDED).update(
        status=GradingJob.Status.FAILED, error=error[:2000], finished_at=now
    )


def job_run_inline(job_id: int, *, now: datetime) -> GradingJob:
    """Run a whole job in this process (``score_exam --inline``, tests): plan, chunks, finish."""
    for chunk_id in job_plan(job_id, now=now):
        chunk_run(chunk_id, now=now)
    return job_finish(job_id, now=now)


def exams_due_for_scoring(*, now: datetime) -> list[Exam]:
    """Published exams whose window has closed, with no sitting still running, sat by at
    least one student, and not yet scored since the window closed (the beat's trigger)."""
    from exams.sittings import grace

    candidates = Exam.objects.filter(
        published=True, archived=False, closes_at__isnull=False, closes_at__lte=now - grace()
    ).exclude(sittings__status=SittingStatus.IN_PROGRESS)
    due = []
    for exam in candidates.distinct():
        if not exam.sittings.filter(status__in=SCORED_STATUSES).exists():
            continue
        if exam.grading_jobs.filter(kind=GradingJob.Kind.SCORE, created_at__gte=exam.closes_at or now).exists():
            continue
        due.append(exam)
    return due
