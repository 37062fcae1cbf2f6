"""The authoring side of an exam: Exam → Section → Question tree, with Choices and Figures.

Answer keys live in ``Question.key`` and ``Choice.is_correct`` and nowhere else, so the
student-facing selectors can leave them out by construction.
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from accounts.models import Course
from exams.figures import validate_figure
from exams.kinds import KIND_GROUP, kind_choices


class Exam(models.Model):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="exams")
    title = models.CharField(max_length=200, help_text="e.g. Midterm Exam")
    term = models.CharField(max_length=40, blank=True, help_text="Defaults to the course's term.")
    exam_date = models.DateField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(default=80, validators=[MinValueValidator(1)])
    opens_at = models.DateTimeField(null=True, blank=True, help_text="Students may start from this time.")
    closes_at = models.DateTimeField(null=True, blank=True, help_text="No sitting runs past this time.")
    instructions = models.TextField(blank=True, help_text="Cover-page welcome and rules, in Markdown with $LaTeX$.")
    honor_code = models.TextField(
        default="I understand and agree to uphold the University of Washington Honor Code during this exam.",
        help_text="The statement each student signs by typing their full name.",
    )
    access_code = models.CharField(max_length=40, blank=True, help_text="Leave empty for none.")
    allowed_networks = models.TextField(
        blank=True,
        help_text="Optional: the IP ranges (CIDR, one per line or comma-separated) students may start from.",
    )
    published = models.BooleanField(default=False, help_text="Students see the exam only once published.")
    archived = models.BooleanField(default=False, help_text="Archived exams are hidden; nothing is deleted.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-exam_date", "title"]

    def __str__(self) -> str:
        return f"{self.course.code}: {self.title}"

    def clean(self) -> None:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": "The window must close after it opens."})
        try:
            self.networks()
        except ValueError as error:
            raise ValidationError({"allowed_networks": f"Not an IP range: {error}"}) from None

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The allowed IP ranges; empty means any address. Raises ValueError on a bad entry."""
        entries = self.allowed_networks.replace(",", "\n").split()
        return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]

    @property
    def effective_term(self) -> str:
        return self.term or self.course.term


class Section(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="sections")
    number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, help_text="Markdown with $LaTeX$, shown above the questions.")
    recommended_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    floor_at_zero = models.BooleanField(
        default=False, help_text="The section's total never goes below 0 (for negative marking)."
    )

    class Meta:
        ordering = ["exam", "number"]
        constraints = [models.UniqueConstraint(fields=["exam", "number"], name="section_number_unique_in_exam")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class Question(models.Model):
    """A node of the question tree. A ``group`` carries shared context; the others are answered."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="questions")
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="questions")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    position = models.PositiveIntegerField(default=1, help_text="Order among its siblings, from 1.")
    number = models.CharField(max_length=32, editable=False, help_text="Computed, e.g. 3.5.2.")
    title = models.CharField(max_length=200, blank=True)
    prompt = models.TextField(blank=True, help_text="Markdown with $inline$ and $$display$$ LaTeX.")
    kind = models.CharField(max_length=24, choices=kind_choices())
    points = models.DecimalField(
        max_digits=7, decimal_places=2, default=Decimal(0), validators=[MinValueValidator(Decimal(0))]
    )
    extra_credit = models.BooleanField(
        default=False, help_text="Adds to a student's total but not to the maximum (inherited by sub-questions)."
    )
    policy = models.CharField(max_length=32, blank=True, help_text="Scoring policy; empty for the kind's default.")
    policy_params = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True, help_text="Kind-specific settings.")
    key = models.JSONField(default=dict, blank=True, help_text="Answer key. Never shown to students before release.")
    solution = models.TextField(blank=True, help_text="Explanation shown with the key after release.")

    class Meta:
        ordering = ["exam", "section__number", "number"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "number"], name="question_number_unique_in_exam"),
        ]
        indexes = [models.Index(fields=["section", "parent", "position"])]

    def __str__(self) -> str:
        label = self.title or self.prompt[:60]
        return f"{self.number} {label}".strip()

    @property
    def is_group(self) -> bool:
        return self.kind == KIND_GROUP

    def clean(self) -> None:
        from exams.services import question_clean

        question_clean(self)


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveSmallIntegerField(default=1)
    label = models.CharField(max_length=8, help_text="What students see and answers store, e.g. A.")
    text = models.TextField(help_text="Markdown with $LaTeX$.")
    is_correct = models.BooleanField(default=False)

    class Meta:
        ordering = ["question", "position", "label"]
        constraints = [models.UniqueConstraint(fields=["question", "label"], name="choice_label_unique")]

    def __str__(self) -> str:
        return f"{self.label}: {self.text[:60]}"


def figure_upload_to(instance: Figure, filename: str) -> str:
    return f"figures/exam-{instance.exam_id}/{filename}"


class Figure(models.Model):
    """An image shown with a question (or a group of questions)."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="figures")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, null=True, blank=True, related_name="figures")
    position = models.PositiveSmallIntegerField(default=1)
    image = models.FileField(upload_to=figure_upload_to, validators=[validate_figure])
    alt_text = models.CharField(max_length=500, help_text="Read aloud by screen readers; describe what matters.")
    caption = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["question", "position"]

    def __str__(self) -> str:
        return self.caption or self.alt_text[:60]


# --- The sitting side: what students do. Never deleted (PROTECT everywhere). -------------


class SittingStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    EXPIRED = "expired", "Expired (closed at the deadline)"
    VOIDED = "voided", "Voided"


class Accommodation(models.Model):
    """A student's standing accommodation in a course: it applies to every exam of the course."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="accommodations")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="accommodations")
    time_multiplier = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal(1), validators=[MinValueValidator(Decimal(1))]
    )
    may_exceed_window = models.BooleanField(
        default=False, help_text="The extra time may run past the exam window's close."
    )
    note = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "student"], name="one_accommodation_per_student")]

    def __str__(self) -> str:
        return f"{self.student} ×{self.time_multiplier}"


class Extension(models.Model):
    """Extra minutes for one student on one exam. Extensions add up; they never shorten time."""

    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="extensions")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="extensions")
    minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    reason = models.CharField(max_length=300)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"+{self.minutes} min for {self.student}"


class Sitting(models.Model):
    """One student's attempt at one exam; exactly one per student per exam."""

    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="sittings")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sittings")
    status = models.CharField(max_length=12, choices=SittingStatus.choices, default=SittingStatus.IN_PROGRESS)
    started_at = models.DateTimeField()
    deadline = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=20, blank=True, help_text="student, timer, beat, lazy, instructor")
    device = models.UUIDField(
        null=True, blank=True, help_text="The tab or device that holds the sitting; a newer one takes over."
    )
    last_seq = models.BigIntegerField(default=0, help_text="Highest client sequence number accepted.")
    last_saved_at = models.DateTimeField(null=True, blank=True)
    start_ip = models.GenericIPAddressField(null=True, blank=True)
    receipt_code = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["exam", "student"], name="one_sitting_per_student")]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return f"{self.student} · {self.exam}"


class HonorCodeSignature(models.Model):
    """The signed honor code, immutable once written."""

    sitting = models.OneToOneField(Sitting, on_delete=models.PROTECT, related_name="signature")
    typed_name = models.CharField(max_length=200)
    statement = models.TextField()
    signed_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.typed_name} at {self.signed_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValidationError("An honor-code signature cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError("An honor-code signature cannot be deleted.")


class Answer(models.Model):
    """The latest answer of a sitting to one question (``value`` None is blank)."""

    sitting = models.ForeignKey(Sitting, on_delete=models.PROTECT, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    value = models.JSONField(null=True, blank=True)
    flagged = models.BooleanField(default=False)
    seq = models.BigIntegerField(default=0, help_text="Client sequence number of the save that wrote it.")
    saved_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sitting", "question"], name="one_answer_per_question")]

    def __str__(self) -> str:
        return f"answer to {self.question_id} (seq {self.seq})"


class AnswerRevision(models.Model):
    """Append-only history: every accepted save of every answer."""

    sitting = models.ForeignKey(Sitting, on_delete=models.PROTECT, related_name="revisions")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    value = models.JSONField(null=True, blank=True)
    flagged = models.BooleanField(default=False)
    seq = models.BigIntegerField()
    saved_at = models.DateTimeField()
    device = models.UUIDField(null=True)

    class Meta:
        indexes = [models.Index(fields=["sitting", "question", "seq"])]

    def __str__(self) -> str:
        return f"revision of {self.question_id} (seq {self.seq})"


class ProctorEventKind(models.TextChoices):
    TAKEOVER = "takeover", "Another tab or device took over"
    FOCUS_LOSS = "focus_loss", "Window lost focus"
    VISIBILITY = "visibility", "Page hidden"
    PASTE = "paste", "Pasted text"
    LATE_SAVE = "late_save", "Save refused after the deadline"
    REOPENED = "reopened", "Reopened by an instructor"


class ProctorEvent(models.Model):
    sitting = models.ForeignKey(Sitting, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=ProctorEventKind.choices)
    at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["sitting", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%H:%M:%S}"


# --- exam-day operations: the audit of proctors' actions, and clarifications ---------------------


class ProctorActionKind(models.TextChoices):
    EXTEND = "extend", "Extended a student's time"
    ACCOMMODATION = "accommodation", "Set a student's accommodations"
    VOID = "void", "Voided a sitting"
    REOPEN = "reopen", "Reopened a sitting"
    WINDOW_EXTEND = "window_extend", "Extended the window"
    WINDOW_CLOSE = "window_close", "Closed the window"
    ACCESS_CODE = "access_code", "Changed the access code"
    CLARIFICATION = "clarification", "Published a clarification"


class ProctorAction(models.Model):
    """One action of an instructor or TA on exam day: who, when, what, why. Append-only."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="proctor_actions")
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, null=True, blank=True, related_name="proctor_actions")
    sitting = models.ForeignKey(
        Sitting, on_delete=models.PROTECT, null=True, blank=True, related_name="proctor_actions"
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=ProctorActionKind.choices)
    reason = models.CharField(max_length=300)
    detail = models.JSONField(default=dict, blank=True, help_text="What changed: before and after.")

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["exam", "-at"]), models.Index(fields=["course", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor_id} at {self.at:%H:%M}"


class Clarification(models.Model):
    """A message to everyone sitting the exam, optionally about one question."""

    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="clarifications")
    question = models.ForeignKey(
        Question, on_delete=models.PROTECT, null=True, blank=True, related_name="clarifications"
    )
    message = models.TextField(help_text="Markdown with $LaTeX$.")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["published_at", "pk"]

    def __str__(self) -> str:
        return f"Clarification {self.pk} of {self.exam_id}"


class ClarificationSeen(models.Model):
    """That a sitting's page showed the clarification (first time)."""

    clarification = models.ForeignKey(Clarification, on_delete=models.PROTECT, related_name="seen")
    sitting = models.ForeignKey(Sitting, on_delete=models.PROTECT, related_name="clarifications_seen")
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clarification", "sitting"], name="clarification_seen_once")]

    def __str__(self) -> str:
        return f"Clarification {self.clarification_id} seen by sitting {self.sitting_id}"
