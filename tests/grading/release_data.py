"""A scored, hand-graded exam whose secrets carry markers, for the release and regrade tests.

Section 1 "Choices": 1.1 true_false (2 points, key True, negative marking), 1.2 single_choice
(3 points, B), 1.3 numeric (1 point, 7364.25 ± 1.37%). Section 2 "Written": 2.1 a group with
2.1.1 short_answer (4 points, graded by hand with a rubric) and 2.1.2 sketch (3 points, graded
by hand), 2.2 expression (3 points), 2.3 grid (3 points).

Every field a student must not see before release carries a marker (``SECRETS``); what a
grader wrote about one student's answer carries that student's marker too (``GRADED``), so a
test can tell whose it is. ``released_exam`` builds it: alice and bob sat it, it was scored by
a real inline job, and alice's short answer was graded with a rubric item, an adjustment and a
comment (her sketch waits for a grader, unless ``grade_everything``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.test import Client
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RegexPattern
from django.utils import timezone

from accounts.models import Course, User
from exams.models import Answer, Exam, Question, Sitting, SittingStatus
from grading.jobs import job_request, job_run_inline
from grading.models import AnswerScore, GradingJob, RubricItem
from grading.review import evaluation_for, evaluation_save, rubric_for
from tests.factories import ExamFactory, SectionFactory, add_choices, add_question

# Keys, solutions and rubric texts: shared by every student of the exam.
SECRETS = {
    "short answer model answer": "MODELANSWER-REL-5a1c",
    "sketch key": "SKETCHKEY-REL-9d2e",
    "expression key": "5550123",
    "numeric key": "7364.25",
    "numeric key (localised)": "7,364.25",
    "solution": "SOLUTION-REL-",  # every question's solution starts with it
    "rubric item description": "RUBRICDESC-REL-3f7a",
    "rubric item explanation": "RUBRICEXPL-REL-8b4d",
    "grid key": '"cells"',
    "grid key (escaped)": "&quot;cells&quot;",
    "choice correctness": "is_correct",
}

# What a grader wrote about one student's answer: {net_id: {field: marker}}.
GRADED = {
    "alice": {
        "comment": "COMMENT-ALICE-6c0e",
        "score explanation": "EXPLANATION-ALICE-2e9b",
        "question points": "2.87",
    },
    "bob": {
        "comment": "COMMENT-BOB-71d3",
        "score explanation": "EXPLANATION-BOB-a04f",
        "question points": "1.61",
    },
}

# What each student wrote (their own answers are theirs alone).
ANSWERS = {
    "alice": "ANSWER-ALICE-chain rule",
    "bob": "ANSWER-BOB-backprop",
}


@dataclass(frozen=True)
class ReleasedExam:
    exam: Exam
    alice: Sitting
    bob: Sitting
    job: GradingJob
    item: RubricItem

    def question(self, number: str) -> Question:
        return Question.objects.get(exam=self.exam, number=number)

    def score(self, sitting: Sitting, number: str) -> AnswerScore:
        return AnswerScore.objects.get(sitting=sitting, question__number=number, question__exam=self.exam)


def marked_exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course, title="Release Quiz", published=True)
    choices = SectionFactory.create(exam=exam, number=1, title="Choices")
    written = SectionFactory.create(exam=exam, number=2, title="Written")

    def solution(kind: str) -> str:
        return f"{SECRETS['solution']}{kind} explains the answer."

    add_question(
        choices,
        kind="true_false",
        prompt="Statement one.",
        key={"value": True},
        policy="negative_marking",
        policy_params={"wrong": -1, "blank": 0},
        solution=solution("true_false"),
    )
    single = add_question(choices, kind="single_choice", points=3, prompt="Pick one.", solution=solution("single"))
    add_choices(single, "Zom", "Flom", "Nom", correct="B")
    add_question(
        choices,
        kind="numeric",
        points=1,
        prompt="How many?",
        config={"unit": "params"},
        key={"value": 7364.25, "tolerance": 0.0137, "mode": "relative"},
        solution=solution("numeric"),
    )
    group = add_question(written, kind="group", points=0, prompt="Shared context.", solution=solution("group"))
    add_question(
        written,
        kind="short_answer",
        parent=group,
        points=4,
        prompt="Explain.",
        key={"model_answer": SECRETS["short answer model answer"]},
        solution=solution("short_answer"),
    )
    add_question(
        written,
        kind="sketch",
        parent=group,
        points=3,
        prompt="Draw it.",
        config={"x_label": "Bip", "y_label": "Zom"},
        key={"description": SECRETS["sketch key"]},
        solution=solution("sketch"),
    )
    add_question(
        written,
        kind="expression",
        points=3,
        prompt="Distance in terms of $D_C$.",
        config={"variables": ["D_C"]},
        key={"expression": f"sqrt(2 - 2*D_C) + 0*{SECRETS['expression key']}"},
        solution=solution("expression"),
    )
    add_question(
        written,
        kind="grid",
        points=3,
        prompt="Signs.",
        config={"rows": 1, "cols": 2, "symbols": ["+", "-", "0"]},
        key={"cells": [["+", "-"]]},
        solution=solution("grid"),
    )
    return exam


def sit(exam: Exam, student: User, answers: dict[str, Any]) -> Sitting:
    """A submitted sitting with these answers (by question number)."""
    now = timezone.now()
    sitting = Sitting.objects.create(
        exam=exam,
        student=student,
        status=SittingStatus.SUBMITTED,
        started_at=now - timedelta(minutes=80),
        deadline=now,
        submitted_at=now - timedelta(minutes=1),
        closed_by="student",
    )
    for number, value in answers.items():
        question = Question.objects.get(exam=exam, number=number)
        Answer.objects.create(sitting=sitting, question=question, value=value, seq=1, saved_at=now)
    return sitting


def score(exam: Exam) -> GradingJob:
    job, _ = job_request(exam=exam, trigger=GradingJob.Trigger.COMMAND)
    return job_run_inline(job.pk, now=timezone.now())


def grade(score_row: AnswerScore, grader: User, *, items: list[RubricItem], adjustment: str, comment: str) -> None:
    evaluation = evaluation_for(score_row)
    evaluation_save(
        evaluation_id=evaluation.pk,
        grader=grader,
        item_ids=[item.pk for item in items],
        adjustment=Decimal(adjustment),
        comment=comment,
        version=evaluation.version,
        now=timezone.now(),
    )


def graded_exam(
    course: Course, alice: User, bob: User, grader: User, *, grade_everything: bool = False
) -> ReleasedExam:
    """The exam sat by alice and bob, scored, alice's and bob's short answers graded by hand."""
    exam = marked_exam(course)
    answers = {
        "1.1": True,
        "1.2": "B",
        "1.3": 7300,
        "2.2": "sqrt(2 - 2*D_C)",
        "2.3": [["+", None]],
        "2.1.2": {"strokes": [[[-1, -1], [0, 0], [1, 2]]]},
    }
    alice_sitting = sit(exam, alice, {**answers, "2.1.1": ANSWERS["alice"]})
    bob_sitting = sit(exam, bob, {"1.1": False, "2.1.1": ANSWERS["bob"]})
    job = score(exam)
    item = RubricItem.objects.create(
        rubric=rubric_for(Question.objects.get(exam=exam, number="2.1.1")),
        position=1,
        points=Decimal("-1"),
        description=f"Missing the chain rule {SECRETS['rubric item description']}",
        explanation=f"The gradient needs the chain rule. {SECRETS['rubric item explanation']}",
    )
    released = ReleasedExam(exam=exam, alice=alice_sitting, bob=bob_sitting, job=job, item=item)
    # 4 − 1 − 0.13 = 2.87 for alice; 4 − 1 − 1.39 = 1.61 for bob.
    grade(
        released.score(alice_sitting, "2.1.1"),
        grader,
        items=[item],
        adjustment="-0.13",
        comment=f"Close. {GRADED['alice']['comment']}",
    )
    grade(
        released.score(bob_sitting, "2.1.1"),
        grader,
        items=[item],
        adjustment="-1.39",
        comment=f"Say more. {GRADED['bob']['comment']}",
    )
    # A score's explanation, as a policy or grader wrote it, is the student's alone.
    for sitting, net_id in ((alice_sitting, "alice"), (bob_sitting, "bob")):
        AnswerScore.objects.filter(sitting=sitting, question__number="1.1", question__exam=exam).update(
            explanation=f"Scored by its policy. {GRADED[net_id]['score explanation']}"
        )
    if grade_everything:
        for sitting in (alice_sitting, bob_sitting):
            grade(released.score(sitting, "2.1.2"), grader, items=[], adjustment="0", comment="")
    return released


# --- every URL of the site, filled with ids --------------------------------------------------------

PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>|\(\?P<(\w+)>[^)]*\)")
# Posting here would sign the student out (or in) half-way through a crawl.
NOT_POSTED = ("/accounts/logout/", "/accounts/login/")
# The API's description: it names fields (is_correct, cells) and holds no data.
NOT_CRAWLED = ("/api/schema/", "/api/docs/")


def site_paths(ids: dict[str, list[int]]) -> list[str]:
    """Every route of the site with each id parameter filled from ``ids`` (by parameter name;
    names not in ``ids`` take ``ids["pk"]``). Routes with other parameters are left out, and so
    is the admin beyond its index (a student is sent to its login)."""
    paths: set[str] = set()

    def fill(route: str) -> list[str]:
        names = [m.group(2) or m.group(3) for m in PLACEHOLDER.finditer(route)]
        if any(name == "format" for name in names):
            return []
        filled = [route]
        for name in names:
            values = ids.get(name, ids["pk"])
            filled = [PLACEHOLDER.sub(str(value), path, count=1) for path in filled for value in values]
        return [path for path in filled if not re.search(r"[()\\?*+\[\]^$]", path)]

    def walk(patterns: list[Any], prefix: str) -> None:
        for entry in patterns:
            route = prefix + _route(entry.pattern)
            if isinstance(entry, URLResolver):
                if getattr(entry, "app_name", None) == "admin":
                    paths.add("/" + route)
                    continue
                walk(entry.url_patterns, route)
            else:
                paths.update("/" + path for path in fill(route))

    walk(get_resolver().url_patterns, "")
    return sorted(paths)


def _route(pattern: Any) -> str:
    text = str(pattern)
    if isinstance(pattern, RegexPattern):
        text = text.removeprefix("^").removesuffix("$")
    return text


def crawl(client: Client, ids: dict[str, list[int]]) -> dict[str, int]:
    """GET and POST (an empty JSON body) every route; {"GET /path": status}. A view that
    crashes fails the test (the client re-raises), so nothing is hidden behind a 500 page."""
    statuses: dict[str, int] = {}
    for path in site_paths(ids):
        if path.startswith(NOT_CRAWLED):
            continue
        statuses[f"GET {path}"] = client.get(path).status_code
        if path not in NOT_POSTED:
            statuses[f"POST {path}"] = client.post(path, {}, content_type="application/json").status_code
    return statuses
