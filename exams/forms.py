"""Authoring forms for the admin.

The rules stay in the question kinds and ``exams.services``; these forms only present them:
per-kind help with a worked example for each JSON field, a True/False select for a
true_false key, each kind's message moved beside the field it is about, the choice formset
that asks ``choices_validate`` about the choices as a whole, and the exam-file upload.
"""

from __future__ import annotations

import json
import posixpath
import zipfile
from dataclasses import dataclass, field
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Max, QuerySet
from django.urls import reverse_lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.models import Course
from exams.kinds import KIND_GROUP, KINDS, POLICY_PARAMS, ChoiceData
from exams.models import Choice, Exam, Question, Section
from exams.services import choices_validate

# Textareas with this attribute get a live rendered preview (static/exams/admin_preview.js),
# from the endpoint it names.
PREVIEW_ATTRS: dict[str, Any] = {
    "data-markdown-preview": reverse_lazy("exams:markdown_preview"),
    "rows": 4,
    "class": "vLargeTextField",
}


@dataclass(frozen=True)
class KindExample:
    """A worked example of one kind's JSON fields, with a line on what to type."""

    config: dict[str, Any]
    key: dict[str, Any]
    policy_params: dict[str, Any]
    config_note: str
    key_note: str


# One example per kind, from the seed exam. tests/exams/test_admin.py checks that each
# passes the kind's own validation, so the help can never drift from the rules.
KIND_EXAMPLES: dict[str, KindExample] = {
    KIND_GROUP: KindExample({}, {}, {}, "No settings.", "No key: a group carries shared text and figures."),
    "true_false": KindExample(
        {},
        {"value": False},
        {"wrong": -1, "blank": 0},
        "No settings.",
        "Use the True/False key select below (it writes this field).",
    ),
    "single_choice": KindExample(
        {}, {}, {}, "No settings.", "Leave {}: tick “is correct” on the one right choice below."
    ),
    "multiple_select": KindExample(
        {}, {}, {"deduction": 2}, "No settings.", "Leave {}: tick “is correct” on every right choice below."
    ),
    "short_answer": KindExample(
        {"parts": ["a", "b"], "max_length": 2000},
        {"model_answer": "(a) No: an untrained network scores about 10%. (b) Relabel its predictions."},
        {},
        "parts: one answer box per letter; max_length: characters per box (default 5000).",
        "model_answer: what graders compare against (Markdown); optional.",
    ),
    "numeric": KindExample(
        {"unit": "ms"},
        {"value": 0.5, "tolerance": 0.01, "mode": "absolute"},
        {},
        "unit: shown after the answer box; optional.",
        "value, with tolerance (default 0) and mode: absolute, or relative (a fraction of value).",
    ),
    "expression": KindExample(
        {"variables": ["D_C"]},
        {"expression": "sqrt(2 - 2*D_C)"},
        {},
        "variables: the names a student may use.",
        "expression: the formula, in the variables; any equivalent answer scores.",
    ),
    "grid": KindExample(
        {
            "rows": 2,
            "cols": 3,
            "symbols": ["+", "-", "0"],
            "beside": [[0, -1, -1], [1, 1, -1]],
            "beside_label": "$W_1$",
            "grid_label": "$\\text{sign}(dL/dW_1)$",
        },
        {"cells": [["0", "+", "-"], ["-", "0", "+"]]},
        {},
        "rows, cols and symbols are required; row_labels, col_labels, beside (a rows × cols matrix "
        "shown next to the grid), beside_label and grid_label are optional.",
        "cells: one list of symbols per row, rows × cols.",
    ),
    "sketch": KindExample(
        {"x_label": "Bip value", "y_label": "Zom score", "x_min": -3, "x_max": 3, "y_min": -5, "y_max": 5},
        {"description": "A straight line through the origin with slope 2."},
        {},
        "Axis labels and ranges (defaults: x, y, −5 to 5).",
        "description: what a correct sketch shows, for graders (Markdown); optional.",
    ),
}


def _kind_label(kind: str) -> str:
    return "Group" if kind == KIND_GROUP else KINDS[kind].label


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


def _kind_help(intro: str, rows: list[tuple[str, str, str]]) -> SafeString:
    """Help listing every kind; admin_question.js shows only the selected kind's row."""
    items = format_html_join(
        "",
        '<li data-kind-help="{}"><strong>{}</strong>: <code>{}</code> {}</li>',
        ((kind, _kind_label(kind), example, note) for kind, example, note in rows),
    )
    return format_html('{}<ul class="kind-help">{}</ul>', intro, items)


def config_help() -> SafeString:
    return _kind_help(
        "Settings of the kind, as JSON. For example:",
        [(k, _json(e.config), e.config_note) for k, e in KIND_EXAMPLES.items()],
    )


def key_help() -> SafeString:
    return _kind_help(
        "The answer key, as JSON; students never see it before release. For example:",
        [(k, _json(e.key), e.key_note) for k, e in KIND_EXAMPLES.items()],
    )


def _policy_line(policy: str) -> str:
    params = POLICY_PARAMS[policy]
    if not params:
        return f"{policy} (no parameters)"
    described = "; ".join(f"{p.name}: {p.help} (default {p.default:g})" for p in params)
    return f"{policy}: {described}"


def policy_params_help() -> SafeString:
    rows = []
    for kind, example in KIND_EXAMPLES.items():
        if kind == KIND_GROUP:
            rows.append((kind, "{}", "Not scored."))
            continue
        policies = KINDS[kind].policies
        note = f"Policies, the first is the default — {' | '.join(_policy_line(p) for p in policies)}."
        rows.append((kind, _json(example.policy_params), note))
    return _kind_help("Parameters of the scoring policy, as JSON; {} uses the defaults. For example:", rows)


POLICY_CHOICES = [("", "The kind's default"), *((name, name.replace("_", " ")) for name in POLICY_PARAMS)]
TRUE_FALSE_CHOICES = [("", "—"), ("true", "True"), ("false", "False")]


class QuestionAdminForm(forms.ModelForm):
    """One question. Validation is ``Question.clean`` (``exams.services.question_clean``)."""

    position = forms.IntegerField(
        required=False, min_value=1, help_text="Order among its siblings, from 1. Leave empty to add it last."
    )
    policy = forms.ChoiceField(
        choices=POLICY_CHOICES, required=False, help_text="How answers are scored; each kind accepts a few."
    )
    true_false_key = forms.TypedChoiceField(
        label="True/False key",
        choices=TRUE_FALSE_CHOICES,
        required=False,
        coerce=lambda value: value == "true",
        empty_value=None,
        help_text="For a true_false question: the right answer.",
    )

    class Meta:
        model = Question
        fields = [
            "exam",
            "section",
            "parent",
            "position",
            "title",
            "prompt",
            "kind",
            "points",
            "extra_credit",
            "policy",
            "policy_params",
            "config",
            "key",
            "solution",
        ]
        widgets = {
            "prompt": forms.Textarea(attrs={**PREVIEW_ATTRS, "rows": 8}),
            "solution": forms.Textarea(attrs=PREVIEW_ATTRS),
            "config": forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField json-field"}),
            "key": forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField json-field"}),
            "policy_params": forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField json-field"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, help_text in (
            ("config", config_help()),
            ("key", key_help()),
            ("policy_params", policy_params_help()),
        ):
            if name in self.fields:
                self.fields[name].help_text = help_text
        if self.instance.pk is None:
            self.initial["position"] = None
        elif self.instance.kind == "true_false":
            self.initial["true_false_key"] = {True: "true", False: "false"}.get(self.instance.key.get("value"), "")
        self._narrow_to_exam()

    def _narrow_to_exam(self) -> None:
        """Offer only the sections and groups of the question's exam, once it is known.

        The querysets arrive already limited to what the user may author (the admin's
        ``formfield_for_foreignkey``); this narrows them further for a clearer list.
        """
        exam_id = self.instance.exam_id if self.instance.pk else self.initial.get("exam")
        section, parent = self.fields.get("section"), self.fields.get("parent")
        if isinstance(section, forms.ModelChoiceField):
            sections: QuerySet[Section] = section.queryset  # type: ignore[assignment]
            section.queryset = sections.filter(exam_id=exam_id) if exam_id else sections
            if not exam_id:
                section.label_from_instance = lambda s: f"{s.exam.title} · {s}"  # type: ignore[method-assign,assignment]
        if isinstance(parent, forms.ModelChoiceField):
            groups: QuerySet[Question] = parent.queryset  # type: ignore[assignment]
            groups = groups.filter(kind=KIND_GROUP)
            if self.instance.pk:
                groups = groups.exclude(pk=self.instance.pk)
            parent.queryset = groups.filter(exam_id=exam_id) if exam_id else groups
            if not exam_id:
                parent.label_from_instance = lambda q: f"{q.exam.title} · {q}"  # type: ignore[method-assign,assignment]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("kind") == "true_false" and cleaned.get("true_false_key") is not None:
            cleaned["key"] = {"value": cleaned["true_false_key"]}
        if cleaned.get("position") is None and cleaned.get("section") is not None:
            siblings = Question.objects.filter(section=cleaned["section"], parent=cleaned.get("parent"))
            if self.instance.pk:
                siblings = siblings.exclude(pk=self.instance.pk)
            cleaned["position"] = (siblings.aggregate(last=Max("position"))["last"] or 0) + 1
        return cleaned

    def full_clean(self) -> None:
        super().full_clean()
        kind = KINDS.get(self.instance.kind)
        if not self.is_bound or kind is None:
            return
        # The kind reports a bad parameter under "policy"; when the policy itself is one the
        # kind accepts, the message is about the parameters and belongs beside them.
        if (self.instance.policy or kind.default_policy) in kind.policies:
            self._move_errors("policy", "policy_params")
        if kind.name == "true_false":
            self._move_errors("key", "true_false_key")

    def _move_errors(self, source: str, target: str) -> None:
        if source in self.errors and target in self.fields:
            messages = self.errors.pop(source)
            self.errors.setdefault(target, self.error_class(renderer=self.renderer)).extend(messages)


class ChoiceInlineFormSet(forms.BaseInlineFormSet):
    """A question's choices, checked as a whole against its kind (count, labels, the key)."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        question: Question = self.instance
        if question.kind != KIND_GROUP and question.kind not in KINDS:
            return  # the question form already says the kind is unknown
        choices = [
            ChoiceData(
                label=form.cleaned_data["label"],
                text=form.cleaned_data.get("text", ""),
                is_correct=bool(form.cleaned_data.get("is_correct")),
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            choices_validate(question, choices)
        except ValidationError as error:
            raise ValidationError([f"Choices: {message}" for message in error.messages]) from None


class ChoiceForm(forms.ModelForm):
    class Meta:
        model = Choice
        fields = ["position", "label", "text", "is_correct"]
        widgets = {"text": forms.Textarea(attrs={**PREVIEW_ATTRS, "rows": 2, "cols": 50, "class": ""})}


class ExamForm(forms.ModelForm):
    class Meta:
        model = Exam
        fields = [
            "course",
            "title",
            "term",
            "exam_date",
            "duration_minutes",
            "opens_at",
            "closes_at",
            "instructions",
            "honor_code",
            "access_code",
            "published",
            "archived",
        ]
        widgets = {
            "instructions": forms.Textarea(attrs={**PREVIEW_ATTRS, "rows": 8}),
            "honor_code": forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
        }


class SectionForm(forms.ModelForm):
    class Meta:
        model = Section
        fields = ["number", "title", "recommended_minutes", "floor_at_zero", "instructions"]
        widgets = {"instructions": forms.Textarea(attrs=PREVIEW_ATTRS)}


# Bounds on an uploaded exam file, so an upload cannot exhaust memory or disk.
MAX_EXAM_TEXT_BYTES = 2 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 500


@dataclass
class ExamUpload:
    """An uploaded exam file: its Markdown text and its figures by path relative to it."""

    name: str
    text: str
    figures: dict[str, bytes] = field(default_factory=dict)


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"{name} is not UTF-8 text.") from None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    # Read at most limit + 1 bytes: the sizes in a zip's directory are only claims.
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(f"{info.filename} is larger than {limit / 1_048_576:.1f} MB.")
    return data


def read_exam_archive(upload: UploadedFile) -> ExamUpload:
    """The exam file and figures in a .zip: exactly one .md, figures beside or below it."""
    try:
        archive = zipfile.ZipFile(upload)
    except zipfile.BadZipFile:
        raise ValidationError("The .zip file is damaged or is not a zip archive.") from None
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not posixpath.basename(info.filename).startswith(".")
        ]
        if len(members) > MAX_ARCHIVE_MEMBERS:
            raise ValidationError(f"The archive holds {len(members)} files; the limit is {MAX_ARCHIVE_MEMBERS}.")
        for info in members:
            path = posixpath.normpath(info.filename)
            if path.startswith(("/", "../")) or path == ".." or "\\" in info.filename:
                raise ValidationError(f"The archive entry {info.filename} points outside the archive.")
        texts = [info for info in members if info.filename.lower().endswith(".md")]
        if len(texts) != 1:
            found = ", ".join(info.filename for info in texts) or "none"
            raise ValidationError(f"The archive must hold exactly one .md exam file; it holds {found}.")
        text_info = texts[0]
        base = posixpath.dirname(posixpath.normpath(text_info.filename))
        upload_result = ExamUpload(
            name=text_info.filename,
            text=_decode(_read_member(archive, text_info, MAX_EXAM_TEXT_BYTES), text_info.filename),
        )
        for info in members:
            if info is text_info:
                continue
            path = posixpath.normpath(info.filename)
            relative = posixpath.relpath(path, base) if base else path
            if relative.startswith("../"):
                raise ValidationError(f"{info.filename} is outside the folder of {text_info.filename}.")
            upload_result.figures[relative] = _read_member(archive, info, settings.FIGURE_MAX_BYTES)
    return upload_result


class ExamImportForm(forms.Form):
    """Upload an exam file (.md) or a .zip of the file with its figures, into a course."""

    course = forms.ModelChoiceField(queryset=Course.objects.none(), help_text="One of the courses you teach.")
    exam_file = forms.FileField(
        label="Exam file",
        help_text="The exam in Markdown (.md), or a .zip holding the .md and its figures.",
        widget=forms.ClearableFileInput(attrs={"accept": ".md,.zip,text/markdown,application/zip"}),
    )

    def __init__(self, *args: Any, courses: QuerySet[Course], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        course_field = cast(forms.ModelChoiceField, self.fields["course"])
        course_field.queryset = courses
        if courses.count() == 1:
            course_field.initial = courses.first()

    def clean_exam_file(self) -> ExamUpload:
        upload: UploadedFile = self.cleaned_data["exam_file"]
        name = upload.name or "exam file"
        lower = name.lower()
        if lower.endswith(".zip"):
            return read_exam_archive(upload)
        if lower.endswith((".md", ".markdown", ".txt")):
            if (upload.size or 0) > MAX_EXAM_TEXT_BYTES:
                raise ValidationError(f"{name} is larger than {MAX_EXAM_TEXT_BYTES // 1_048_576} MB.")
            return ExamUpload(name=name, text=_decode(upload.read(), name))
        raise ValidationError(f"{name} is neither a .md exam file nor a .zip of one with its figures.")
