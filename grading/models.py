"""Scores and the jobs that write them.

``AnswerScore`` holds one row per (sitting, answerable question), blank answers included,
so a re-run updates rows in place and never duplicates them. ``SittingResult`` is the
sitting's total, recomputed whenever one of its scores changes. ``GradingJob`` tracks a bulk
run (its progress bar) and keeps the statistics it computed; ``GradingChunk`` is one task's
share of the sittings, marked done exactly once so a redelivered task never counts twice.
``KeyChange`` audits every change of an answer key or scoring policy once sittings exist.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from exams.models import Exam, Question, Sitting


def points_field() -> models.DecimalField:
    return models.DecimalField(max_digits=9, decimal_places=2)


class GradingJob(models.Model):
    class Kind(models.TextChoices):
        SCORE = "score", "Score every sitting"
        RESCORE = "rescore", "Rescore one question"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        WINDOW_CLOSED = "window_closed", "The exam window closed"
        BUTTON = "button", "Results page"
        COMMAND = "command", "manage.py score_exam"
        KEY_CHANGE = "key_change", "Answer-key change"
        API = "api", "API"

    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="grading_jobs")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SCORE)
    question = models.ForeignKey(
        Question, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="For a rescore."
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    sittings_total = models.PositiveIntegerField(default=0)
    sittings_done = models.PositiveIntegerField(default=0)
    answers_scored = models.PositiveBigIntegerField(default=0)
    statistics = models.JSONField(null=True, blank=True, help_text="Computed when every chunk is done.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["exam", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.exam} ({self.status})"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.chunks_total:
            return 0
        return int(100 * self.chunks_done / self.chunks_total)

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class GradingChunk(models.Model):
    job = models.ForeignKey(GradingJob, on_delete=models.PROTECT, related_name="chunks")
    index = models.PositiveIntegerField()
    sitting_ids = models.JSONField(help_text="The sittings this chunk scores.")
    answers_scored = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="one_chunk_per_index")]

    def __str__(self) -> str:
        return f"Chunk {self.index} of job {self.job_id}"


class ScoreSource(models.TextChoices):
    AUTO = "auto", "Scored by its policy"
    MANUAL = "manual", "Graded by hand"
    OVERRIDE = "override", "Automatic score overridden"


class AnswerScore(models.Model):
    """The score of one question of one sitting; a blank answer has a row too.

    ``auto_points`` is what the question's policy gives and is rewritten by every scoring
    run. ``points`` and ``explanation`` are what counts; they follow the policy while
    ``source`` is auto and are left alone by the bulk job once a grader has set them.
    ``response_summary`` condenses the answer for the statistics: the chosen labels of a
    choice question ("AC", "T"), a grid's right and wrong cells ("1101"), else empty.
    """

    # Scores are derived rows, rewritten in bulk by COPY: the references are kept by the ORM
    # (PROTECT) rather than by a database check per row, which costs more than the COPY itself
    # (docs/benchmarks.md, "Bulk scoring").
    sitting = models.ForeignKey(Sitting, on_delete=models.PROTECT, related_name="scores", db_constraint=False)
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="scores", db_constraint=False)
    points = points_field()
    auto_points = points_field()
    max_points = points_field()
    explanation = models.TextField(blank=True)
    needs_manual = models.BooleanField(default=False, help_text="Waiting for a grader; points are provisional.")
    blank = models.BooleanField(default=False)
    source = models.CharField(max_length=10, choices=ScoreSource.choices, default=ScoreSource.AUTO)
    response_summary = models.CharField(max_length=64, blank=True)
    job = models.ForeignKey(
        GradingJob, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+", db_constraint=False
    )
    scored_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sitting", "question"], name="one_score_per_answer")]
        indexes = [models.Index(fields=["question", "sitting"])]

    def __str__(self) -> str:
        return f"{self.question.number}: {self.points}"


class SittingResult(models.Model):
    """A sitting's total (floors applied, extra credit added) and its section totals."""

    sitting = models.OneToOneField(Sitting, on_delete=models.PROTECT, related_name="result")
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="results")
    points = points_field()
    max_points = points_field()
    extra_points = points_field()
    pending_manual = models.PositiveIntegerField(default=0)
    sections = models.JSONField(default=list, help_text="[{section, points, max_points, explanation}]")
    job = models.ForeignKey(
        GradingJob, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+", db_constraint=False
    )
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["exam", "points"])]

    def __str__(self) -> str:
        return f"{self.sitting}: {self.points}/{self.max_points}"


class KeyChange(models.Model):
    """An audited change of a question's key or scoring policy after students sat the exam."""

    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="key_changes")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="key_changes")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()
    reason = models.CharField(max_length=300)
    old = models.JSONField(help_text="{policy, policy_params, key, correct_choices} before the change.")
    new = models.JSONField(help_text="The same, after.")
    affected = models.PositiveIntegerField(default=0, help_text="Sittings whose score changed in the dry run.")
    job = models.ForeignKey(GradingJob, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"Key of {self.question.number} changed {self.changed_at:%Y-%m-%d %H:%M}"
