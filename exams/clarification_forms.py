"""The form of the clarifications page: it parses; the rules (who may publish, a question of
this exam only, the message's length) are in ``exams.clarifications``."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from exams.clarifications import MAX_MESSAGE_LENGTH
from exams.models import Exam, Question


def _paper_order(question: Question) -> tuple[tuple[int, str], ...]:
    """3.10 after 3.9: a question number's parts compared as numbers."""
    return tuple((int(part), "") if part.isdigit() else (0, part) for part in question.number.split("."))


class ClarificationForm(forms.Form):
    """A message, and the question it is about (by number, among the exam's; none: the whole exam)."""

    question = forms.ChoiceField(label="About question", required=False)
    message = forms.CharField(
        label="Clarification (Markdown, $LaTeX$)",
        max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Every student sitting the exam sees it within seconds, on top of the page and beside the question.",
    )

    def __init__(self, exam: Exam, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        questions = sorted(Question.objects.filter(exam=exam).only("exam_id", "number", "title"), key=_paper_order)
        self.questions = {question.number: question for question in questions}
        field = cast(forms.ChoiceField, self.fields["question"])
        field.choices = [("", "The whole exam")] + [(q.number, f"{q.number} {q.title}".strip()) for q in questions]

    def clean_question(self) -> Question | None:
        number = self.cleaned_data["question"]
        return self.questions[number] if number else None
