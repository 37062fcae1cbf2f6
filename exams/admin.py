"""Authoring in the admin, by course role.

Every permission question is answered by ``accounts.access``: the instructors of a course
change its exams, its TAs read them, and nobody else sees them at all (a direct URL is a
404). Exams are archived, never deleted; the parts of an exam (sections, questions,
choices, figures) may be deleted only while it is unpublished. The rules of the question
kinds live in the kinds and ``exams.services``; the forms here present them. Once students
have sat an exam, its questions' scoring (kind, key, policy, a choice's correctness) is
read-only on the question page and changes on the question's "Change the answer key" page
(``grading.keys``: dry run, audit, rescore).
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, cast
from urllib.parse import urlencode
from uuid import uuid4

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.forms import BaseModelFormSet, ModelForm, Script
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import slugify

from accounts.access import (
    access_exam_for_staff,
    authored_courses,
    can_author_course,
    can_remove_exam_parts,
    can_view_course_exams,
    exams_for_staff,
    is_course_author,
    is_course_staff,
    questions_for_staff,
    sittings_for_staff,
)
from accounts.models import User
from exams.forms import (
    ChoiceForm,
    ChoiceInlineFormSet,
    ExamForm,
    ExamImportForm,
    ExamUpload,
    QuestionAdminForm,
    SectionForm,
)
from exams.kinds import KIND_GROUP, ChoiceData, get_kind
from exams.models import (
    Answer,
    AnswerRevision,
    Choice,
    Exam,
    Figure,
    HonorCodeSignature,
    ProctorEvent,
    Question,
    Section,
    Sitting,
)
from exams.proctoring import REASON_MAX_CHARS
from exams.proctoring import sitting_reopen as proctor_sitting_reopen
from exams.selectors import exam_totals
from exams.services import exam_duplicate, exam_renumber, question_move_subtree, question_place
from exams.sittings import CLOSED
from grading.key_forms import KeyChangeForm
from grading.key_lock import (
    dry_run_digest,
    key_change_history,
    key_describe,
    key_locked,
    key_proposal_changes,
)
from grading.keys import KeyProposal, key_change_apply, key_change_preview, key_current, key_proposal_clean
from grading.scoring import format_points, guess_score
from grading.scoring.specs import question_spec

AuthoringObject = Exam | Section | Question | Choice | Figure

# Once students have sat an exam, these fields of its questions change through the
# key-change page (dry run, audit, rescore), never in place.
KEY_LOCKED_FIELDS = ["kind", "policy", "policy_params", "key"]


def exam_of(obj: AuthoringObject) -> Exam:
    """The exam an authoring object belongs to; its course decides who may touch it."""
    if isinstance(obj, Exam):
        return obj
    if isinstance(obj, Choice):
        return obj.question.exam
    return obj.exam


def signed_in(request: HttpRequest) -> User:
    """The user of an admin request: the admin site lets only signed-in course staff in."""
    return cast(User, request.user)


class AuthoringMedia:
    """The live Markdown/math preview and the per-kind help, on every authoring page."""

    js = [Script("exams/admin_preview.js", type="module"), Script("exams/admin_question.js", type="module")]
    css = {"all": ["vendor/katex/katex.min.css", "exams/admin.css"]}


class CourseRoleAdmin(admin.ModelAdmin):
    """Permissions by course role, for a model whose objects belong to one exam."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_course_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return is_course_staff(request.user)
        return can_view_course_exams(request.user, exam_of(obj).course_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_course_author(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return is_course_author(request.user)
        return can_author_course(request.user, exam_of(obj).course_id)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # No bulk deletion from the list: each deletion is decided on its own object.
        return obj is not None and can_remove_exam_parts(request.user, exam_of(obj))

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """The object, or 404: an object outside the user's courses is reported as missing.

        (The admin's default is a redirect to the index with "perhaps it was deleted?".)
        """
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj


class CourseRoleInline(admin.options.InlineModelAdmin):
    """An inline's permissions follow the exam of the object it is shown in."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return is_course_staff(request.user)
        return can_view_course_exams(request.user, exam_of(obj).course_id)

    def has_add_permission(self, request: HttpRequest, obj: Any) -> bool:  # type: ignore[override]
        if obj is None:
            return is_course_author(request.user)
        return can_author_course(request.user, exam_of(obj).course_id)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_add_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return is_course_author(request.user)
        return can_remove_exam_parts(request.user, exam_of(obj))


class SectionInline(CourseRoleInline, admin.StackedInline):
    model = Section
    form = SectionForm
    extra = 0
    fields = ["number", "title", "recommended_minutes", "floor_at_zero", "instructions"]

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if obj is None else 0


class LockedChoiceForm(ChoiceForm):
    """A choice of a question students have answered: whether it is correct is part of the
    key, which then changes on the key-change page (dry run first), never here; its label is
    what the students' answers store, so it stays too (the text may still be reworded)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Disabled: the posted value is ignored and the saved one kept, and the choice
        # formset still checks the choices with their real key.
        self.fields["is_correct"].disabled = True
        self.fields["label"].disabled = True


class ChoiceInline(CourseRoleInline, admin.TabularInline):
    model = Choice
    form = ChoiceForm
    formset = ChoiceInlineFormSet
    fields = ["position", "label", "text", "is_correct"]

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        if obj is None:
            return 4  # a new question: most are choice questions on the seed
        if obj.kind == KIND_GROUP or not get_kind(obj.kind).uses_choices or key_locked(obj.exam_id):
            return 0
        return max(0, 2 - obj.choices.count())

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is not None and obj.pk is not None and key_locked(obj.exam_id):
            kwargs["form"] = LockedChoiceForm
        return super().get_formset(request, obj, **kwargs)

    def get_max_num(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int | None:
        # Students answered the options they saw: no option is added once they have sat it.
        if obj is not None and obj.pk is not None and key_locked(obj.exam_id):
            return obj.choices.count()
        return super().get_max_num(request, obj, **kwargs)


class FigureInline(CourseRoleInline, admin.TabularInline):
    model = Figure
    fk_name = "question"
    fields = ["position", "image", "alt_text", "caption"]
    extra = 0


@dataclass(frozen=True)
class TreeRow:
    question: Question
    depth: int
    key_summary: str


def exam_question_rows(exam: Exam) -> dict[int, list[TreeRow]]:
    """Each section's questions in paper order (depth first), with a one-line key summary."""
    questions = list(exam.questions.order_by("position", "pk"))
    choices: dict[int, list[ChoiceData]] = defaultdict(list)
    for c in Choice.objects.filter(question__exam=exam).order_by("position", "label"):
        choices[c.question_id].append(ChoiceData(c.label, c.text, c.is_correct))
    children: dict[int | None, list[Question]] = defaultdict(list)
    for q in questions:
        children[q.parent_id].append(q)
    rows: dict[int, list[TreeRow]] = defaultdict(list)

    def walk(node: Question, depth: int) -> None:
        summary = "" if node.is_group else get_kind(node.kind).describe_key(node.config, node.key, choices[node.pk])
        rows[node.section_id].append(TreeRow(node, depth, summary))
        for child in children.get(node.pk, []):
            walk(child, depth + 1)

    for root in children.get(None, []):
        walk(root, 0)
    return rows


@admin.register(Exam)
class ExamAdmin(CourseRoleAdmin):
    form = ExamForm
    inlines = [SectionInline]
    list_display = ["title", "course", "exam_date", "duration_minutes", "published", "archived"]
    list_filter = [("course", admin.RelatedOnlyFieldListFilter), "published", "archived"]
    list_select_related = ["course"]
    search_fields = ["title"]
    readonly_fields = ["created_by"]
    actions = ["archive_exams", "restore_exams", "duplicate_exams"]
    fieldsets = [
        (None, {"fields": ["course", "title", "term", "exam_date", "duration_minutes"]}),
        ("Window", {"fields": ["opens_at", "closes_at", "access_code", "published", "archived"]}),
        ("Cover page", {"fields": ["instructions", "honor_code"]}),
        ("Record", {"fields": ["created_by"]}),
    ]
    Media = AuthoringMedia

    def get_queryset(self, request: HttpRequest) -> QuerySet[Exam]:
        return exams_for_staff(request.user).select_related("course")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # exams are archived instead: their sittings are student data

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "course":
            kwargs["queryset"] = authored_courses(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Exam, form: ModelForm, change: bool) -> None:
        if not change:
            obj.created_by = signed_in(request)
        super().save_model(request, obj, form, change)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Sequence[BaseModelFormSet], change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        exam_renumber(form.instance)  # section numbers are the first part of question numbers

    def authoring_summary(self, request: HttpRequest, exam: Exam) -> str:
        """The totals and the question tree, with links, shown under the sections."""
        tree = exam_question_rows(exam)
        totals = exam_totals(exam)
        return render_to_string(
            "admin/exams/exam/summary.html",
            {
                "exam": exam,
                "totals": totals,
                "recommended": sum(row.section.recommended_minutes or 0 for row in totals.sections),
                "sections": [(section, tree.get(section.pk, [])) for section in exam.sections.all()],
                "add_url": reverse("admin:exams_question_add"),
                "can_author": can_author_course(request.user, exam.course_id),
            },
            request=request,
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        exam = self.get_object(request, object_id)
        context = {
            **(extra_context or {}),
            "authoring_summary": self.authoring_summary(request, exam),
            "preview_url": reverse("exams:preview", args=[exam.pk]),
            "export_url": reverse("admin:exams_exam_export", args=[exam.pk]),
            "duplicate_url": reverse("admin:exams_exam_duplicate", args=[exam.pk])
            if can_author_course(request.user, exam.course_id)
            else "",
        }
        return super().change_view(request, object_id, form_url, context)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = {**(extra_context or {})}
        if self.has_add_permission(request):
            context["import_url"] = reverse("admin:exams_exam_import")
        return super().changelist_view(request, context)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="exams_exam_import"),
            path("<int:exam_id>/duplicate/", wrap(self.duplicate_view), name="exams_exam_duplicate"),
            path("<int:exam_id>/export/", wrap(self.export_view), name="exams_exam_export"),
            *super().get_urls(),
        ]

    # Actions. The list may hold exams the user only reads (as a TA of another course), so
    # each action keeps the ones the user authors.

    def _authored(self, request: HttpRequest, queryset: QuerySet[Exam]) -> QuerySet[Exam]:
        return queryset.filter(course__in=authored_courses(request.user))

    @admin.action(description="Archive selected exams (hide them; nothing is deleted)", permissions=["change"])
    def archive_exams(self, request: HttpRequest, queryset: QuerySet[Exam]) -> None:
        count = self._authored(request, queryset).update(archived=True)
        self.message_user(request, f"Archived {count} exam(s).", messages.SUCCESS)

    @admin.action(description="Restore selected exams from the archive", permissions=["change"])
    def restore_exams(self, request: HttpRequest, queryset: QuerySet[Exam]) -> None:
        count = self._authored(request, queryset).update(archived=False)
        self.message_user(request, f"Restored {count} exam(s).", messages.SUCCESS)

    @admin.action(description="Duplicate selected exams (unpublished copies)", permissions=["add"])
    def duplicate_exams(self, request: HttpRequest, queryset: QuerySet[Exam]) -> None:
        copies = [exam_duplicate(exam=exam, by=signed_in(request)) for exam in self._authored(request, queryset)]
        for copy in copies:
            self.log_addition(request, copy, "Duplicated.")
        self.message_user(request, f"Made {len(copies)} unpublished copy(ies).", messages.SUCCESS)

    # Views.

    def duplicate_view(self, request: HttpRequest, exam_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        exam = access_exam_for_staff(request.user, exam_id, write=True)
        copy = exam_duplicate(exam=exam, by=signed_in(request))
        self.log_addition(request, copy, f"Duplicated from exam {exam.pk}.")
        self.message_user(request, f"“{exam.title}” was copied to “{copy.title}”, unpublished.", messages.SUCCESS)
        return redirect("admin:exams_exam_change", copy.pk)

    def export_view(self, request: HttpRequest, exam_id: int) -> HttpResponse:
        """The exam file (.md), or a .zip of it with its figures when it has any."""
        exam = access_exam_for_staff(request.user, exam_id)

        from exams.examfile import exam_export

        name = slugify(f"{exam.course.code} {exam.title}") or f"exam-{exam.pk}"
        if not exam.figures.exists():
            return HttpResponse(
                exam_export(exam),
                content_type="text/markdown; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}.md"'},
            )
        buffer = io.BytesIO()
        with TemporaryDirectory() as tmp, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            root = Path(tmp)
            archive.writestr(f"{name}/{name}.md", exam_export(exam, figures_dir=root / "figures"))
            for file in sorted(p for p in root.rglob("*") if p.is_file()):
                archive.write(file, f"{name}/{file.relative_to(root).as_posix()}")
        return HttpResponse(
            buffer.getvalue(),
            content_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
        )

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload an exam file into one of the user's courses; show every error by line."""
        if not self.has_add_permission(request):
            raise PermissionDenied("Only instructors may import exams.")
        form = ExamImportForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
            courses=authored_courses(request.user),
        )
        file_errors: list[tuple[int | None, str]] = []
        if request.method == "POST" and form.is_valid():
            from exams.examfile import ExamFileError, exam_import

            upload: ExamUpload = form.cleaned_data["exam_file"]
            try:
                with transaction.atomic():
                    exam = exam_import(
                        text=upload.text,
                        course=form.cleaned_data["course"],
                        figures=upload.figures,
                        by=signed_in(request),
                    )
            except ExamFileError as error:
                file_errors = list(error.errors)
            else:
                self.log_addition(request, exam, f"Imported from {upload.name}.")
                self.message_user(request, f"Imported “{exam.title}” from {upload.name}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:exams_exam_change", args=[exam.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import an exam file",
            "opts": self.opts,
            "form": form,
            "file_errors": file_errors,
            "upload_name": form.cleaned_data["exam_file"].name if file_errors else "",
        }
        return TemplateResponse(request, "admin/exams/exam/import.html", context)


@admin.register(Question)
class QuestionAdmin(CourseRoleAdmin):
    form = QuestionAdminForm
    inlines = [ChoiceInline, FigureInline]
    list_display = ["number", "label", "kind", "points", "extra_credit", "exam"]
    list_display_links = ["number", "label"]
    list_filter = [("exam", admin.RelatedOnlyFieldListFilter), "kind", "extra_credit"]
    list_select_related = ["exam", "exam__course", "section"]
    search_fields = ["title", "prompt", "number"]
    ordering = ["exam", "section__number", "number"]
    fieldsets = [
        (None, {"fields": ["exam", "section", "parent", "position", "number", "title", "prompt", "student_preview"]}),
        ("Scoring", {"fields": ["kind", "points", "extra_credit", "policy", "policy_params", "guess_score"]}),
        ("Settings and answer key", {"fields": ["config", "true_false_key", "key", "solution"]}),
    ]
    Media = AuthoringMedia

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        return questions_for_staff(request.user).select_related("exam__course", "section", "parent")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A question stays in its exam: moving it would leave its choices' and figures'
        # exam behind.
        readonly = ["number", "student_preview", "guess_score", *(["exam"] if obj is not None else [])]
        if obj is not None and key_locked(obj.exam_id):
            # Students answered it: its scoring changes on the key-change page only.
            readonly += [*KEY_LOCKED_FIELDS, "true_false_key", "answer_key"]
        return readonly

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if not self.has_change_permission(request, obj):
            # Readers see the key field itself; the select is only a way of writing it.
            replacement = []
        elif obj is not None and key_locked(obj.exam_id):
            # The key in words, and the way to change it (a group has none).
            replacement = [] if obj.is_group else ["answer_key"]
        else:
            return fieldsets
        return [
            (
                name,
                {
                    **options,
                    "fields": [g for f in options["fields"] for g in (replacement if f == "true_false_key" else [f])],
                },
            )
            for name, options in fieldsets
        ]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        authored = authored_courses(request.user)
        if db_field.name == "exam":
            kwargs["queryset"] = Exam.objects.filter(course__in=authored, archived=False).select_related("course")
        elif db_field.name == "section":
            kwargs["queryset"] = Section.objects.filter(exam__course__in=authored).select_related("exam")
        elif db_field.name == "parent":
            kwargs["queryset"] = Question.objects.filter(exam__course__in=authored, kind=KIND_GROUP).select_related(
                "exam"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Question")
    def label(self, obj: Question) -> str:
        return obj.title or obj.prompt[:80]

    @admin.display(description="Answer key")
    def answer_key(self, obj: Question) -> SafeString:
        """Shown instead of the key's inputs once students have sat the exam."""
        return format_html(
            '{}<div class="help">Students have sat this exam, so the kind, the key, the policy and its '
            'parameters are read-only here.</div><a href="{}">Change the answer key (dry run first)</a>',
            key_describe(obj, key_current(obj).as_json()),
            reverse("admin:exams_question_key_change", args=[obj.pk]),
        )

    @admin.display(description="Random-guess score")
    def guess_score(self, obj: Question) -> str:
        """The exact expected points of a blind guess under the question's own policy."""
        if obj.pk is None or obj.is_group:
            return "Save the question to see it." if obj.pk is None else "A group is not answered."
        try:
            spec = question_spec(obj)
        except ValueError as error:
            return f"Not computed: {error}"
        if not get_kind(spec.kind).auto_scored:
            return "Graded by hand: no automatic points for a guess."
        return (
            f"{format_points(guess_score(spec), signed=True)} of {format_points(spec.points)} points: what answering "
            f"at random earns on average under {spec.policy}"
        )

    @admin.display(description="Preview")
    def student_preview(self, obj: Question) -> SafeString:
        if obj.pk is None:
            return format_html("{}", "Save the question to preview it.")
        url = reverse("exams:preview", args=[obj.exam_id])
        return format_html('<a href="{}#q{}">Preview as student</a>', url, obj.pk)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        question = self.get_object(request, object_id)
        may_change_key = (
            not question.is_group
            and key_locked(question.exam_id)
            and can_author_course(request.user, question.exam.course_id)
        )
        context = {
            **(extra_context or {}),
            "preview_url": f"{reverse('exams:preview', args=[question.exam_id])}#q{question.pk}",
            "exam_url": reverse("admin:exams_exam_change", args=[question.exam_id]),
            "key_change_url": reverse("admin:exams_question_key_change", args=[question.pk]) if may_change_key else "",
            "key_changes": key_change_history(question),
        }
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:question_id>/key-change/", wrap(self.key_change_view), name="exams_question_key_change"),
            *super().get_urls(),
        ]

    def key_change_view(self, request: HttpRequest, question_id: int) -> HttpResponse:
        """Change a question's key or policy: a dry run (every student's old → new points),
        then "Apply and rescore" (``key_change_apply``: audited, that question rescored).

        The course's instructors only. "Apply" carries the proposal back in hidden fields; it
        is validated again like any input, and refused when the dry run it carries (its
        digest) no longer matches the scores, so what is applied is what was seen.
        """
        question: Question = self.get_object(request, str(question_id))
        access_exam_for_staff(request.user, question.exam_id, write=True)
        if question.is_group:
            raise Http404("A group has no answer key.")
        change_url = reverse("admin:exams_question_change", args=[question.pk])
        posted = request.method == "POST"
        form = KeyChangeForm(request.POST if posted else None, question=question)
        dry_run = None
        if posted and form.is_valid():
            proposal: KeyProposal = form.proposal()
            try:
                proposal = key_proposal_clean(question, proposal)
                if not key_proposal_changes(question, proposal):
                    raise ValidationError("This is the question's current key: there is nothing to change.")
                dry_run = key_change_preview(question, proposal)
                if "_apply" in request.POST:
                    if dry_run_digest(dry_run) == request.POST.get("digest"):
                        return self._key_change_apply(request, question, proposal, form.cleaned_data["reason"])
                    self.message_user(
                        request,
                        "The scores have changed since your dry run (a grader or a rescore wrote some). "
                        "Check this new dry run, then apply it.",
                        messages.WARNING,
                    )
            except ValidationError as error:
                form.add_key_errors(proposal, error)
                dry_run = None
        rows = sorted(dry_run.rows, key=lambda row: not row.changed) if dry_run else []
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change the answer key of {question.number}",
            "opts": self.opts,
            "original": question,
            "form": form,
            "current_key": key_describe(question, key_current(question).as_json()),
            "locked": key_locked(question.exam_id),
            "dry_run": dry_run,
            "rows": rows,
            # "Apply" posts back what was dry-run, as hidden fields (without ids: the visible form has them).
            "apply_form": KeyChangeForm(request.POST, question=question, auto_id=False) if dry_run else None,
            "digest": dry_run_digest(dry_run) if dry_run else "",
            "new_key": key_describe(question, dry_run.proposal.as_json()) if dry_run else "",
            "key_changes": key_change_history(question),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/exams/question/key_change.html", context)

    def _key_change_apply(
        self, request: HttpRequest, question: Question, proposal: KeyProposal, reason: str
    ) -> HttpResponse:
        change, job = key_change_apply(question, proposal, by=signed_in(request), reason=reason, now=timezone.now())
        self.log_change(request, question, f"Changed the answer key: {change.reason}")
        self.message_user(
            request,
            f"Changed the key of {question.number}; {change.affected} student(s)' scores change. "
            f"The rescore of {question.number} is queued (job {job.pk}).",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("grading:results", args=[question.exam_id]))

    def response_add(self, request: HttpRequest, obj: Question, post_url_continue: str | None = None) -> HttpResponse:
        return self._back_to_exam(request, obj, super().response_add(request, obj, post_url_continue))

    def response_change(self, request: HttpRequest, obj: Question) -> HttpResponse:
        return self._back_to_exam(request, obj, super().response_change(request, obj))

    def _back_to_exam(self, request: HttpRequest, obj: Question, response: HttpResponse) -> HttpResponse:
        """After "Save", back to the exam's question tree; "Save and add another" keeps the place."""
        if "_continue" in request.POST or IS_POPUP_VAR in request.POST or "_saveasnew" in request.POST:
            return response
        if "_addanother" in request.POST:
            place = {"exam": obj.exam_id, "section": obj.section_id, "parent": obj.parent_id or ""}
            return HttpResponseRedirect(f"{reverse('admin:exams_question_add')}?{urlencode(place)}")
        return HttpResponseRedirect(reverse("admin:exams_exam_change", args=[obj.exam_id]))

    def save_model(self, request: HttpRequest, obj: Question, form: ModelForm, change: bool) -> None:
        if obj.pk is None:
            obj.number = f"~new-{uuid4().hex[:12]}"  # unique until exam_renumber gives the real one
        moved = change and "section" in form.changed_data
        super().save_model(request, obj, form, change)
        if moved:
            question_move_subtree(question=obj)
        # A position already taken means "insert here": the later siblings move down one.
        question_place(question=obj, position=obj.position)

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: Any, change: bool) -> None:
        if formset.model is not Figure:
            super().save_formset(request, form, formset, change)
            return
        figures = formset.save(commit=False)
        for figure in formset.deleted_objects:
            figure.delete()
        for figure in figures:
            figure.exam_id = form.instance.exam_id  # the upload path is named after the exam
            figure.save()

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Sequence[BaseModelFormSet], change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        exam_renumber(form.instance.exam)

    def delete_model(self, request: HttpRequest, obj: Question) -> None:
        exam = obj.exam
        super().delete_model(request, obj)
        exam_renumber(exam)


# --- Sittings: read-only, for the course's staff; reopening is the one (audited) change. ----


class SittingReopenForm(forms.Form):
    minutes = forms.IntegerField(
        min_value=1, max_value=24 * 60, initial=10, help_text="From now; the new deadline is now + these minutes."
    )
    reason = forms.CharField(
        max_length=REASON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded with your name in the sitting's proctor events and the exam's proctor actions.",
    )


def _sitting_readable(request: HttpRequest, sitting: Sitting | None) -> bool:
    if sitting is None:
        return is_course_staff(request.user)
    return can_view_course_exams(request.user, sitting.exam.course_id)


class SittingRecordInline(admin.TabularInline):
    """A part of a sitting's record, shown and never changed: student data is kept as it was."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _sitting_readable(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HonorCodeSignatureInline(SittingRecordInline):
    model = HonorCodeSignature
    fields = ["typed_name", "statement", "signed_at", "ip", "user_agent"]
    verbose_name_plural = "Honor-code signature"


class AnswerInline(SittingRecordInline):
    model = Answer
    fields = ["question", "value", "flagged", "seq", "saved_at"]
    ordering = ["question__section__number", "question__number"]


class AnswerRevisionInline(SittingRecordInline):
    model = AnswerRevision
    fields = ["question", "value", "flagged", "seq", "saved_at", "device"]
    ordering = ["seq", "pk"]
    verbose_name_plural = "Answer revisions (every accepted save)"
    classes = ["collapse"]


class ProctorEventInline(SittingRecordInline):
    model = ProctorEvent
    fields = ["kind", "at", "ip", "actor", "detail"]
    ordering = ["at", "pk"]


@admin.register(Sitting)
class SittingAdmin(admin.ModelAdmin):
    """Sittings, read-only for the course's staff. Nothing here edits or deletes a sitting;
    its instructors may reopen a closed one (``sitting_reopen``, audited)."""

    list_display = ["student", "exam", "status", "started_at", "deadline", "submitted_at", "closed_by"]
    list_filter = [("exam", admin.RelatedOnlyFieldListFilter), "status", "closed_by"]
    list_select_related = ["student", "exam__course"]
    search_fields = ["student__net_id", "student__full_name"]
    ordering = ["exam", "student__net_id"]
    actions = None
    fields = readonly_fields = (
        "exam",
        "student",
        "status",
        "started_at",
        "deadline",
        "submitted_at",
        "closed_by",
        "device",
        "last_seq",
        "last_saved_at",
        "start_ip",
        "receipt_code",
    )
    inlines = [HonorCodeSignatureInline, AnswerInline, ProctorEventInline, AnswerRevisionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Sitting]:
        return sittings_for_staff(request.user).select_related("student", "exam__course")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_course_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _sitting_readable(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """The sitting, or 404 when it is outside the user's courses."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such sitting.")
        return obj

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:sitting_id>/reopen/", wrap(self.reopen_view), name="exams_sitting_reopen"),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        sitting = self.get_object(request, object_id)
        may_reopen = sitting.status in CLOSED and can_author_course(request.user, sitting.exam.course_id)
        context = {
            **(extra_context or {}),
            "reopen_url": reverse("admin:exams_sitting_reopen", args=[sitting.pk]) if may_reopen else "",
        }
        return super().change_view(request, object_id, form_url, context)

    def reopen_view(self, request: HttpRequest, sitting_id: int) -> HttpResponse:
        """Give a closed sitting more minutes, with a reason: the course's instructors only."""
        sitting: Sitting = self.get_object(request, str(sitting_id))
        if not can_author_course(request.user, sitting.exam.course_id):
            raise PermissionDenied("Only the course's instructors may reopen a sitting.")
        change_url = reverse("admin:exams_sitting_change", args=[sitting.pk])
        if sitting.status not in CLOSED:
            # Reopening sets the deadline to now + minutes: on an open sitting it could cut its time.
            self.message_user(
                request, "This sitting is still in progress; to give more time, grant an extension.", messages.ERROR
            )
            return HttpResponseRedirect(change_url)
        form = SittingReopenForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            minutes, reason = form.cleaned_data["minutes"], form.cleaned_data["reason"]
            try:
                # The proctor page's service: it also audits the reopening as a ProctorAction.
                proctor_sitting_reopen(
                    sitting=sitting, by=signed_in(request), reason=reason, minutes=minutes, now=timezone.now()
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.log_change(request, sitting, f"Reopened for {minutes} minutes: {reason.strip()}")
                self.message_user(
                    request, f"Reopened for {minutes} minutes. The student can continue now.", messages.SUCCESS
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reopen the sitting of {sitting.student}",
            "opts": self.opts,
            "original": sitting,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/exams/sitting/reopen.html", context)
