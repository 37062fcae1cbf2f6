"""Small scored exams for the integrity report's tests, with their numbers worked out by hand.

``tiny_exam``: section 1 holds 1.1, 1.2, 1.3 (single choice of A–E, key A), 1.4 (true/false,
key true) and 1.5 (a short answer, graded by hand, so never compared). Five sittings:

| student | 1.1 | 1.2 | 1.3 | 1.4 | 1.5 |
|---|---|---|---|---|---|
| ann | B | B | C | false | "Same text" |
| ben | B | B | C | false | "Same text" |
| cat | C | D | B | false | – |
| dan | D | A | D | true | – |
| eve | A | C | A | true | – |

Wrong answers (w_q sittings got q wrong, c_q = Σ_o (n_{q,o} / w_q)²):
1.1: B B C D, w = 4, c = (2² + 1 + 1) / 4² = 6/16 = 3/8; 1.2: B B D C, c = 3/8;
1.3: C C B D, c = 3/8; 1.4: false × 3, c = 1 (its only wrong answer).

Ann and Ben both got all four wrong and agree on all four: k = 4 of S = {1.1, 1.2, 1.3, 1.4}.
X = 1 (1.4 is certain) + Binomial(3, 3/8): E = 1 + 3 · 3/8 = 2.125, and
P(X = 1, 2, 3, 4) = (125, 225, 135, 27) / 512, so the p-value P(X ≥ 4) = (3/8)³ = 27/512
= 0.052734375; with 5 · 4 / 2 = 10 pairs the adjusted p-value is 0.52734375: not flagged.
Every other pair agrees on at most 1.4 (k ≤ 1), so it is never reported.

``copied_exam``: eight single-choice questions 1.1–1.8 (A–E, key A) and six sittings. Pia and
Quinn answer B everywhere; Rosa, Sam and Tom give three different wrong answers on every question
(C D E C D E C D, D E C D E C D E, E C D E C D E C); Uma answers A (right) everywhere. On each
question w = 5 with B twice and C, D, E once: c = (4 + 1 + 1 + 1) / 25 = 7/25. Pia and Quinn
agree on all 8: E = 8 · 7/25 = 2.24, p = (7/25)⁸ ≈ 3.778e-5, adjusted × 15 pairs ≈ 5.667e-4:
flagged. No other pair agrees anywhere. Tom's name is a spreadsheet formula, and he is the one
flagged sitting (a takeover, seen from two addresses).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Course, Role, User
from exams.models import HonorCodeSignature, ProctorEvent, ProctorEventKind, Sitting
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_choices, add_question, member
from tests.grading.results_data import run_job, sit

EVIL_NAME = '=HYPERLINK("http://x")'
TINY_P = 27 / 512
TINY_EXPECTED = 2.125
COPIED_P = (7 / 25) ** 8
COPIED_EXPECTED = 8 * 7 / 25


@dataclass(frozen=True)
class SatExam:
    exam: Any
    sittings: dict[str, Sitting]


def student(course: Course, net_id: str, full_name: str | None = None) -> User:
    user = UserFactory.create(net_id=net_id, full_name=full_name or net_id.title())
    member(user, course, Role.STUDENT)
    return user


def tiny_exam(course: Course) -> SatExam:
    exam = ExamFactory.create(course=course, title="Quiz", published=True)
    section = SectionFactory.create(exam=exam, number=1, title="Everything")
    for _ in range(3):
        add_choices(add_question(section, kind="single_choice", points=2), "a", "b", "c", "d", "e", correct="A")
    add_question(section, kind="true_false", points=2, key={"value": True})
    add_question(section, kind="short_answer", points=4, key={"model_answer": "Because."})
    rows = {
        "ann": ("B", "B", "C", False, "Same text"),
        "ben": ("B", "B", "C", False, "Same text"),
        "cat": ("C", "D", "B", False, None),
        "dan": ("D", "A", "D", True, None),
        "eve": ("A", "C", "A", True, None),
    }
    sittings = {}
    for net_id, values in rows.items():
        answers = {f"1.{index}": value for index, value in enumerate(values, start=1) if value is not None}
        sittings[net_id] = sit(exam, student(course, net_id), answers)
    run_job(exam)
    return SatExam(exam, sittings)


COPIED_ROWS = {
    "pia": "BBBBBBBB",
    "quinn": "BBBBBBBB",
    "rosa": "CDECDECD",
    "sam": "DECDECDE",
    "tom": "ECDECDEC",
    "uma": "AAAAAAAA",
}


def copied_exam(course: Course) -> SatExam:
    exam = ExamFactory.create(course=course, title="Midterm Exam", published=True)
    section = SectionFactory.create(exam=exam, number=1, title="Choices")
    for _ in range(8):
        add_choices(add_question(section, kind="single_choice", points=2), "a", "b", "c", "d", "e", correct="A")
    sittings = {}
    for net_id, labels in COPIED_ROWS.items():
        user = student(course, net_id, EVIL_NAME if net_id == "tom" else None)
        sittings[net_id] = sit(exam, user, {f"1.{index}": label for index, label in enumerate(labels, start=1)})
    tom = sittings["tom"]
    Sitting.objects.filter(pk=tom.pk).update(start_ip="10.0.0.7")
    now = timezone.now()
    HonorCodeSignature.objects.create(
        sitting=tom, typed_name=EVIL_NAME, statement="I agree.", signed_at=now - timedelta(minutes=80), ip="10.0.0.7"
    )
    ProctorEvent.objects.create(sitting=tom, kind=ProctorEventKind.TAKEOVER, at=now, ip="192.168.4.20")
    run_job(exam)
    return SatExam(exam, sittings)
