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


# --- manual grading: rubrics, evaluations, answer groups, audit, release, regrades --------------


class Rubric(models.Model):
    """How a question is graded by hand: items applied from the maximum down (deductions) or
    from zero up (additions), the total floored at 0 and capped at the maximum by default."""

    class Mode(models.TextChoices):
        DEDUCT = "deduct", "From the maximum down (deductions)"
        ADD = "add", "From zero up (additions)"

    question = models.OneToOneField(Question, on_delete=models.PROTECT, related_name="rubric")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.DEDUCT)
    floor_at_zero = models.BooleanField(default=True)
    cap_at_max = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Rubric of {self.question.number}"


class RubricItem(models.Model):
    """One rubric line. Deleting a used item only makes it inactive: the evaluations that
    used it are rescored without it, and their audit still names it."""

    rubric = models.ForeignKey(Rubric, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveSmallIntegerField(default=1)
    points = models.DecimalField(max_digits=7, decimal_places=2, help_text="Negative for a deduction.")
    description = models.CharField(max_length=300, help_text="What the grader sees.")
    explanation = models.TextField(blank=True, help_text="What the student sees after release (Markdown).")
    shortcut = models.CharField(max_length=1, blank=True, help_text="A key that toggles the item, e.g. 1.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["rubric", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.points:+} {self.description}"


class AnswerGroup(models.Model):
    """Answers to one question that are identical once normalised (case and spacing of text,
    symbolic equivalence of expressions, equal grids)."""

    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answer_groups")
    key = models.CharField(max_length=64, help_text="A digest of the normalised answer.")
    label = models.TextField(help_text="The normalised answer, as graders see it.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["question", "key"], name="one_group_per_normal_form")]

    def __str__(self) -> str:
        return f"{self.question.number}: {self.label[:40]}"


class Evaluation(models.Model):
    """A grader's decision on one scored answer: rubric items, a free adjustment and a comment.

    ``points`` is None until graded. ``version`` grows on every save, so a save made from a
    stale page is refused instead of overwriting. ``claimed_by`` holds the answer for one
    grader until ``claimed_until``. ``queue_order`` is a stable pseudo-random position in the
    question's queue.
    """

    score = models.OneToOneField(AnswerScore, on_delete=models.PROTECT, related_name="evaluation")
    sitting = models.ForeignKey(Sitting, on_delete=models.PROTECT, related_name="evaluations")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="evaluations")
    queue_order = models.BigIntegerField()
    items = models.ManyToManyField(RubricItem, blank=True, related_name="evaluations")
    adjustment = models.DecimalField(max_digits=7, decimal_places=2, default=0)
    comment = models.TextField(blank=True)
    points = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    group = models.ForeignKey(AnswerGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="members")
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    graded_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The queue: a question's ungraded answers in queue order (what evaluation_next reads).
            models.Index(
                fields=["question", "queue_order"], condition=models.Q(graded_at__isnull=True), name="evaluation_queue"
            )
        ]

    def __str__(self) -> str:
        return f"Evaluation of {self.question.number} for sitting {self.sitting_id}"


class GradeEvent(models.Model):
    """One change of the points that count for an answer: append-only."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Graded by hand"
        OVERRIDE = "override", "Automatic score overridden"
        GROUP = "group", "Graded with its answer group"
        RUBRIC_EDIT = "rubric_edit", "Rubric item changed"
        REGRADE = "regrade", "Regrade request"

    score = models.ForeignKey(AnswerScore, on_delete=models.PROTECT, related_name="events")
    sitting = models.ForeignKey(Sitting, on_delete=models.PROTECT, related_name="grade_events")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="grade_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    source = models.CharField(max_length=12, choices=Source.choices)
    old_points = models.DecimalField(max_digits=9, decimal_places=2, null=True)
    new_points = models.DecimalField(max_digits=9, decimal_places=2)
    reason = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="Items, adjustment and comment applied.")

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["score", "at"])]

    def __str__(self) -> str:
        return f"{self.old_points} → {self.new_points} by {self.actor_id} at {self.at:%Y-%m-%d %H:%M}"


class GradeRelease(models.Model):
    """The instructor's publication of an exam's grades, and the regrade window it opens."""

    exam = models.OneToOneField(Exam, on_delete=models.PROTECT, related_name="grade_release")
    released_at = models.DateTimeField()
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    regrade_deadline = models.DateTimeField(null=True, blank=True, help_text="Empty: no regrade requests.")

    def __str__(self) -> str:
        return f"Grades of {self.exam} released {self.released_at:%Y-%m-%d}"


class RegradeRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"

    score = models.ForeignKey(AnswerScore, on_delete=models.PROTECT, related_name="regrade_requests")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="regrade_requests")
    reason = models.TextField()
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reply = models.TextField(blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)
    old_points = models.DecimalField(max_digits=9, decimal_places=2)
    new_points = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["score"], condition=models.Q(status="open"), name="one_open_regrade_per_answer"
            )
        ]

    def __str__(self) -> str:
        return f"Regrade of {self.score_id} ({self.status})"
