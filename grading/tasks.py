"""Celery tasks of scoring. Thin: read the clock, call ``grading.jobs``.

Every task acknowledges late and is rejected (so redelivered) when its worker dies: a
chunk killed mid-write rolls back and runs again, and ``grading.jobs`` makes the second run
write the same rows and count once.
"""

from __future__ import annotations

import logging

from celery import group, shared_task
from django.db import OperationalError, transaction
from django.utils import timezone

from grading.jobs import chunk_run, exams_due_for_scoring, job_chunks_left, job_fail, job_finish, job_plan, job_request
from grading.models import GradingChunk, GradingJob

logger = logging.getLogger(__name__)
DURABLE = {"acks_late": True, "reject_on_worker_lost": True}


def job_launch(job: GradingJob) -> None:
    """Start a job once the transaction that created it commits."""
    job_id = job.pk
    transaction.on_commit(lambda: run_job.delay(job_id))


@shared_task(name="grading.tasks.run_job", **DURABLE)
def run_job(job_id: int) -> int:
    """Plan the job and score its chunks as a group of tasks; returns the chunk count sent."""
    chunk_ids = job_plan(job_id, now=timezone.now())
    if not chunk_ids:
        if GradingJob.objects.filter(pk=job_id, status=GradingJob.Status.RUNNING).exists():
            finish_job.delay(job_id)
        return 0
    group(score_chunk.si(chunk_id) for chunk_id in chunk_ids).apply_async()
    return len(chunk_ids)


@shared_task(
    name="grading.tasks.score_chunk",
    bind=True,
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=True,
    **DURABLE,
)
def score_chunk(self: object, chunk_id: int) -> int:
    """Score one chunk; the chunk that leaves none undone sends the statistics task."""
    chunk = GradingChunk.objects.only("job_id", "index").get(pk=chunk_id)
    try:
        last = chunk_run(chunk_id, now=timezone.now())
    except OperationalError:
        raise
    except Exception as error:
        logger.exception("Scoring chunk %s of job %s failed", chunk.index, chunk.job_id)
        job_fail(chunk.job_id, error=f"Chunk {chunk.index}: {error}", now=timezone.now())
        raise
    if last:
        finish_job.delay(chunk.job_id)
    return chunk.index


@shared_task(name="grading.tasks.finish_job", **DURABLE)
def finish_job(job_id: int) -> str:
    """Compute the statistics and close the job."""
    if job_chunks_left(job_id):
        return "waiting"
    return job_finish(job_id, now=timezone.now()).status


@shared_task(name="grading.tasks.score_closed_exams")
def score_closed_exams() -> list[int]:
    """Beat: score every exam whose window has closed and that has not been scored since."""
    started = []
    for exam in exams_due_for_scoring(now=timezone.now()):
        job, created = job_request(exam=exam, trigger=GradingJob.Trigger.WINDOW_CLOSED)
        if created:
            job_launch(job)
            started.append(job.pk)
    return started
