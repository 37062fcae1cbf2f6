"""Exam-day actions (exams.proctoring) and the proctor board (exams.proctor_selectors): time only
grows except when the window closes for everyone, accommodations reach every exam of the course,
a voided sitting is kept but not scored, and every action is audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Course, Membership, Role, User
from exams import proctoring
from exams.models import (
    Accommodation,
    Answer,
    Exam,
    Extension,
    ProctorAction,
    ProctorActionKind,
    ProctorEvent,
    ProctorEventKind,
    Question,
    Sitting,
    SittingStatus,
)
from exams.proctor_selectors import proctor_actions, proctor_board, proctor_row
from exams.sittings import (
    SaveItem,
    SittingRefused,
    answers_save,
    grace,
    proctor_event_record,
    sitting_claim,
    sitting_start,
    sitting_submit,
    sittings_close_expired,
)
from grading.jobs import SCORED_STATUSES, job_plan, job_request
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_question, member

T0 = datetime(2023, 5, 4, 17, 0, tzinfo=UTC)
DEVICE = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
OTHER_DEVICE = uuid.UUID("00000000-0000-4000-8000-0000000000d2")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def make_exam(course: Course, *, title: str = "Midterm Exam", closes_after: float = 180) -> Exam:
    exam = ExamFactory.create(
        course=course,
        title=title,
        published=True,
        duration_minutes=80,
        opens_at=T0 - timedelta(hours=1),
        closes_at=T0 + minutes(closes_after),
    )
    section = SectionFactory.create(exam=exam, number=1)
    add_question(section, kind="true_false", points=2, key={"value": True})
    add_question(section, kind="true_false", points=2, key={"value": False})
    add_question(section, kind="true_false", points=2, key={"value": True})
    return exam


@pytest.fixture
def exam(course: Course) -> Exam:
    return make_exam(course)


def start(exam: Exam, student: User, *, at: datetime = T0, ip: str = "10.0.0.7", device: uuid.UUID = DEVICE) -> Sitting:
    sitting = sitting_start(exam=exam, student=student, typed_name=student.full_name, ip=ip, user_agent="UA", now=at)
    return sitting_claim(sitting=sitting, device=device, ip=ip, now=at)


def answer(sitting: Sitting, student: User, question: Question, value: object, seq: int, at: datetime) -> None:
    answers_save(
        sitting_id=sitting.pk,
        student=student,
        device=DEVICE,
        items=[SaveItem(question.pk, value, False, seq)],
        ip="10.0.0.7",
        now=at,
    )


def deadline_of(sitting: Sitting) -> datetime:
    sitting.refresh_from_db()
    return sitting.deadline


# --- extensions -----------------------------------------------------------------------------------


def test_an_extension_before_the_start_counts_from_the_start(exam: Exam, student: User, ta: User) -> None:
    outcome = proctoring.extension_grant(
        exam=exam, student=student, minutes=15, reason=" Broken laptop ", by=ta, now=T0 - minutes(10)
    )

    assert outcome.sitting is None
    assert (outcome.extension.minutes, outcome.extension.reason, outcome.extension.granted_by) == (
        15,
        "Broken laptop",
        ta,
    )
    assert "count from the moment" in outcome.message
    assert start(exam, student, at=T0).deadline == T0 + minutes(95)
    action = ProctorAction.objects.get()
    assert (action.kind, action.actor, action.at, action.reason) == (
        ProctorActionKind.EXTEND,
        ta,
        T0 - minutes(10),
        "Broken laptop",
    )
    assert (action.course, action.exam, action.student, action.sitting) == (exam.course, exam, student, None)
    assert action.detail["before"] == {"deadline": None, "extension_minutes": 0}
    assert action.detail["after"] == {"deadline": None, "extension_minutes": 15}


def test_an_extension_reaches_a_running_sitting_at_once(exam: Exam, student: User, instructor: User) -> None:
    sitting = start(exam, student)

    outcome = proctoring.extension_grant(
        exam=exam, student=student, minutes=10, reason="fire alarm", by=instructor, now=T0 + minutes(30)
    )

    assert deadline_of(sitting) == T0 + minutes(90)
    assert outcome.sitting is not None and outcome.sitting.deadline == T0 + minutes(90)
    assert "within 30 seconds" in outcome.message
    detail = ProctorAction.objects.get().detail
    assert detail["before"]["deadline"] == (T0 + minutes(80)).isoformat()
    assert detail["after"]["deadline"] == (T0 + minutes(90)).isoformat()
    # Extensions add up.
    proctoring.extension_grant(
        exam=exam, student=student, minutes=5, reason="again", by=instructor, now=T0 + minutes(31)
    )
    assert deadline_of(sitting) == T0 + minutes(95)
    assert ProctorAction.objects.filter(kind=ProctorActionKind.EXTEND).count() == 2


def test_an_extension_never_shortens_a_reopened_sitting(exam: Exam, student: User, instructor: User) -> None:
    sitting = start(exam, student)
    sitting_submit(sitting=sitting, student=student, now=T0 + minutes(20))
    proctoring.sitting_reopen(sitting=sitting, minutes=90, reason="crash", by=instructor, now=T0 + minutes(60))
    assert deadline_of(sitting) == T0 + minutes(150)  # past the 80 minutes the start gave

    proctoring.extension_grant(
        exam=exam, student=student, minutes=10, reason="more", by=instructor, now=T0 + minutes(70)
    )

    assert deadline_of(sitting) == T0 + minutes(160)


def test_the_window_caps_an_extension_and_says_so(course: Course, student: User, instructor: User) -> None:
    exam = make_exam(course, closes_after=85)
    sitting = start(exam, student)

    outcome = proctoring.extension_grant(
        exam=exam, student=student, minutes=20, reason="late bus", by=instructor, now=T0 + minutes(10)
    )

    assert deadline_of(sitting) == T0 + minutes(85)
    assert "window closes" in outcome.message
    # Extending the window then gives the rest.
    proctoring.window_extend(exam=exam, closes_at=T0 + minutes(200), reason="snow", by=instructor, now=T0 + minutes(20))
    assert deadline_of(sitting) == T0 + minutes(100)


def test_an_extension_of_a_closed_sitting_is_refused(exam: Exam, student: User, instructor: User) -> None:
    sitting = start(exam, student)
    sitting_submit(sitting=sitting, student=student, now=T0 + minutes(20))

    with pytest.raises(ValidationError, match="Reopen the sitting"):
        proctoring.extension_grant(
            exam=exam, student=student, minutes=10, reason="x", by=instructor, now=T0 + minutes(30)
        )

    assert not Extension.objects.exists() and not ProctorAction.objects.exists()


def test_an_extension_after_the_grace_finds_the_sitting_closed(exam: Exam, student: User, instructor: User) -> None:
    """Whether the beat task ran yet or not, a sitting past deadline + grace is closed first."""
    sitting = start(exam, student)
    late = T0 + minutes(80) + grace() + timedelta(seconds=1)

    with pytest.raises(ValidationError, match="already closed"):
        proctoring.extension_grant(exam=exam, student=student, minutes=10, reason="x", by=instructor, now=late)
    assert Sitting.objects.get(pk=sitting.pk).status == SittingStatus.EXPIRED


def test_within_the_grace_an_extension_still_saves_the_sitting(exam: Exam, student: User, instructor: User) -> None:
    sitting = start(exam, student)
    proctoring.extension_grant(
        exam=exam, student=student, minutes=10, reason="x", by=instructor, now=T0 + minutes(80) + timedelta(seconds=30)
    )
    sitting.refresh_from_db()
    assert (sitting.status, sitting.deadline) == (SittingStatus.IN_PROGRESS, T0 + minutes(90))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"minutes": 0}, "1 to"),
        ({"minutes": 24 * 60 + 1}, "1 to"),
        ({"reason": "   "}, "Give a reason"),
        ({"reason": "x" * 301}, "300 characters"),
    ],
)
def test_an_extension_needs_minutes_and_a_reason(
    exam: Exam, student: User, instructor: User, kwargs: dict[str, object], error: str
) -> None:
    arguments: dict[str, object] = {"minutes": 10, "reason": "ok", **kwargs}
    with pytest.raises(ValidationError, match=error):
        proctoring.extension_grant(exam=exam, student=student, by=instructor, now=T0, **arguments)  # type: ignore[arg-type]
    assert not ProctorAction.objects.exists()


def test_only_the_course_students_get_extensions(exam: Exam, instructor: User, other_course: Course) -> None:
    outsider = UserFactory.create(net_id="zed", full_name="Zed Outsider")
    member(outsider, other_course, Role.STUDENT)
    with pytest.raises(ValidationError, match="not a student of this course"):
        proctoring.extension_grant(exam=exam, student=outsider, minutes=5, reason="x", by=instructor, now=T0)
    with pytest.raises(ValidationError, match="not a student of this course"):
        proctoring.extension_grant(exam=exam, student=instructor, minutes=5, reason="x", by=instructor, now=T0)


# --- accommodations ------------------------------------------------------------------------------------


def test_an_accommodation_applies_to_every_exam_of_the_course(
    course: Course, other_course: Course, student: User, instructor: User
) -> None:
    midterm, quiz, final = make_exam(course), make_exam(course, title="Quiz 2"), make_exam(course, title="Final")
    elsewhere = make_exam(other_course, title="Elsewhere")
    member(student, other_course, Role.STUDENT)
    running = [start(midterm, student), start(quiz, student, at=T0 + minutes(10))]
    other = start(elsewhere, student)

    outcome = proctoring.accommodation_set(
        course=course,
        student=student,
        multiplier=Decimal("1.5"),
        may_exceed_window=False,
        reason="DRS letter",
        by=instructor,
        now=T0 + minutes(30),
    )

    assert [deadline_of(s) for s in running] == [T0 + minutes(120), T0 + minutes(130)]
    assert deadline_of(other) == T0 + minutes(80)  # another course's exam is untouched
    assert start(final, student, at=T0 + minutes(40)).deadline == T0 + minutes(160)
    assert "×1.5" in outcome.message and "Quiz 2" in outcome.message
    accommodation = Accommodation.objects.get(course=course, student=student)
    assert (accommodation.time_multiplier, accommodation.may_exceed_window, accommodation.note) == (
        Decimal("1.50"),
        False,
        "DRS letter",
    )
    action = ProctorAction.objects.get()
    assert (action.kind, action.course, action.exam, action.student) == (
        ProctorActionKind.ACCOMMODATION,
        course,
        None,
        student,
    )
    assert action.detail["before"] is None
    assert action.detail["after"] == {"time_multiplier": "1.50", "may_exceed_window": False}
    assert {change["after"] for change in action.detail["sittings"]} == {
        (T0 + minutes(120)).isoformat(),
        (T0 + minutes(130)).isoformat(),
    }


def test_an_accommodation_may_run_past_the_window(course: Course, student: User, instructor: User) -> None:
    exam = make_exam(course, closes_after=100)
    sitting = start(exam, student)
    proctoring.accommodation_set(
        course=course, student=student, multiplier=2, may_exceed_window=False, reason="x", by=instructor, now=T0
    )
    assert deadline_of(sitting) == T0 + minutes(100)

    proctoring.accommodation_set(
        course=course, student=student, multiplier=2, may_exceed_window=True, reason="y", by=instructor, now=T0
    )

    assert deadline_of(sitting) == T0 + minutes(160)


def test_a_lower_accommodation_leaves_running_sittings_their_time(
    course: Course, exam: Exam, student: User, instructor: User
) -> None:
    proctoring.accommodation_set(
        course=course, student=student, multiplier=2, may_exceed_window=False, reason="x", by=instructor, now=T0
    )
    sitting = start(exam, student)
    assert sitting.deadline == T0 + minutes(160)

    outcome = proctoring.accommodation_set(
        course=course,
        student=student,
        multiplier="1.25",
        may_exceed_window=False,
        reason="corrected letter",
        by=instructor,
        now=T0 + minutes(5),
    )

    assert deadline_of(sitting) == T0 + minutes(160)
    assert "keep the time they had" in outcome.message
    assert Accommodation.objects.filter(student=student).count() == 1
    latest = ProctorAction.objects.first()
    assert latest is not None
    assert latest.detail["before"] == {"time_multiplier": "2.00", "may_exceed_window": False}
    assert latest.detail["after"]["time_multiplier"] == "1.25"


@pytest.mark.parametrize(("multiplier", "error"), [("0.5", "between"), ("6", "between"), ("lots", "a number")])
def test_an_accommodation_needs_a_sensible_multiplier(
    course: Course, student: User, instructor: User, multiplier: str, error: str
) -> None:
    with pytest.raises(ValidationError, match=error):
        proctoring.accommodation_set(
            course=course,
            student=student,
            multiplier=multiplier,
            may_exceed_window=False,
            reason="x",
            by=instructor,
            now=T0,
        )
    assert not Accommodation.objects.exists()


# --- voiding and reopening ---------------------------------------------------------------------------


def test_voiding_a_running_sitting_keeps_its_answers_and_excludes_it_from_scoring(
    exam: Exam, student: User, other_student: User, instructor: User
) -> None:
    sitting = start(exam, student)
    answer(sitting, student, Question.objects.filter(exam=exam).first(), True, 1, T0 + minutes(5))  # type: ignore[arg-type]
    kept = start(exam, other_student)
    sitting_submit(sitting=kept, student=other_student, now=T0 + minutes(30))

    outcome = proctoring.sitting_void(sitting=sitting, reason="Phone out", by=instructor, now=T0 + minutes(40))

    sitting.refresh_from_db()
    assert (sitting.status, sitting.submitted_at, sitting.closed_by) == (
        SittingStatus.VOIDED,
        T0 + minutes(40),
        "instructor",
    )
    assert sitting.receipt_code  # the answers as they stood, fingerprinted
    assert Answer.objects.filter(sitting=sitting).count() == 1
    assert "not be scored" in outcome.message
    assert SittingStatus.VOIDED not in SCORED_STATUSES
    job, _ = job_request(exam=exam, trigger="button", requested_by=instructor)
    job_plan(job.pk, now=T0 + minutes(200))
    job.refresh_from_db()
    assert job.sittings_total == 1  # the other student's only
    action = ProctorAction.objects.get()
    assert (action.kind, action.sitting, action.reason) == (ProctorActionKind.VOID, sitting, "Phone out")
    assert action.detail["before"]["status"] == "in_progress"
    assert action.detail["after"]["status"] == "voided"
    # A voided sitting takes no more answers.
    with pytest.raises(SittingRefused):
        answer(sitting, student, Question.objects.filter(exam=exam).first(), False, 2, T0 + minutes(41))  # type: ignore[arg-type]


def test_voiding_a_submitted_sitting_and_twice(exam: Exam, student: User, instructor: User) -> None:
    sitting = start(exam, student)
    sitting_submit(sitting=sitting, student=student, now=T0 + minutes(30))
    proctoring.sitting_void(sitting=sitting, reason="copied", by=instructor, now=T0 + minutes(40))
    sitting.refresh_from_db()
    assert (sitting.status, sitting.submitted_at, sitting.closed_by) == (
        SittingStatus.VOIDED,
        T0 + minutes(30),
        "student",
    )
    with pytest.raises(ValidationError, match="already voided"):
        proctoring.sitting_void(sitting=sitting, reason="again", by=instructor, now=T0 + minutes(41))
    assert Sitting.objects.filter(pk=sitting.pk).exists()


def test_reopening_is_audited_twice_over(exam: Exam, student: User, instructor: User) -> None:
    sitting = start(exam, student)
    proctoring.sitting_void(sitting=sitting, reason="wrong student", by=instructor, now=T0 + minutes(5))

    outcome = proctoring.sitting_reopen(
        sitting=sitting, minutes=30, reason="it was them after all", by=instructor, now=T0 + minutes(10)
    )

    sitting.refresh_from_db()
    assert (sitting.status, sitting.deadline) == (SittingStatus.IN_PROGRESS, T0 + minutes(40))
    assert outcome.sitting.pk == sitting.pk
    assert ProctorEvent.objects.filter(sitting=sitting, kind=ProctorEventKind.REOPENED, actor=instructor).exists()
    action = ProctorAction.objects.filter(kind=ProctorActionKind.REOPEN).get()
    assert action.detail["before"]["status"] == "voided"
    assert action.detail["after"]["deadline"] == (T0 + minutes(40)).isoformat()
    with pytest.raises(ValidationError, match="still in progress"):
        proctoring.sitting_reopen(sitting=sitting, minutes=5, reason="x", by=instructor, now=T0 + minutes(11))


def test_a_ta_may_not_reopen_even_through_the_service(exam: Exam, student: User, ta: User) -> None:
    sitting = start(exam, student)
    sitting_submit(sitting=sitting, student=student, now=T0 + minutes(30))
    with pytest.raises(SittingRefused):
        proctoring.sitting_reopen(sitting=sitting, minutes=5, reason="x", by=ta, now=T0 + minutes(31))
    assert not ProctorAction.objects.exists()


# --- the window and the access code -------------------------------------------------------------------


def test_extending_the_window_gives_capped_sittings_their_time(
    course: Course, student: User, other_student: User, instructor: User
) -> None:
    exam = make_exam(course, closes_after=100)
    Accommodation.objects.create(course=course, student=student, time_multiplier=Decimal(2))
    capped = start(exam, student)  # 160 minutes, cut to 100 by the window
    uncapped = start(exam, other_student)
    assert capped.deadline == T0 + minutes(100)

    outcome = proctoring.window_extend(
        exam=exam, closes_at=T0 + minutes(130), reason="power cut", by=instructor, now=T0 + minutes(50)
    )

    assert deadline_of(capped) == T0 + minutes(130)
    assert deadline_of(uncapped) == T0 + minutes(80)
    assert outcome.sittings_changed == 1 and exam.closes_at == T0 + minutes(130)
    assert Exam.objects.get(pk=exam.pk).closes_at == T0 + minutes(130)
    action = ProctorAction.objects.get()
    assert action.detail["before"] == {"closes_at": (T0 + minutes(100)).isoformat()}
    assert action.detail["after"] == {"closes_at": (T0 + minutes(130)).isoformat()}


@pytest.mark.parametrize(("closes_after", "error"), [(150, "later than"), (180, "later than"), (10, "later than")])
def test_the_window_only_extends(exam: Exam, instructor: User, closes_after: int, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        proctoring.window_extend(exam=exam, closes_at=T0 + minutes(closes_after), reason="x", by=instructor, now=T0)
    assert Exam.objects.get(pk=exam.pk).closes_at == T0 + minutes(180)


def test_closing_the_window_ends_running_sittings_but_keeps_their_answers(
    exam: Exam, student: User, other_student: User, instructor: User, course: Course
) -> None:
    extra = UserFactory.create(net_id="carol", full_name="Carol Diaz")
    member(extra, course, Role.STUDENT)
    Accommodation.objects.create(course=course, student=extra, time_multiplier=Decimal(2), may_exceed_window=True)
    late = UserFactory.create(net_id="dave", full_name="Dave Ortiz")
    member(late, course, Role.STUDENT)
    running = start(exam, student)
    question = Question.objects.filter(exam=exam).first()
    assert question is not None
    answer(running, student, question, True, 1, T0 + minutes(20))
    done = start(exam, other_student)
    sitting_submit(sitting=done, student=other_student, now=T0 + minutes(25))
    exempt = start(exam, extra)
    now = T0 + minutes(30)

    outcome = proctoring.window_close(exam=exam, reason="building evacuated", by=instructor, now=now)

    assert Exam.objects.get(pk=exam.pk).closes_at == now
    assert deadline_of(running) == now
    assert deadline_of(exempt) == T0 + minutes(160)
    assert "Carol Diaz" in outcome.message and "keep" in outcome.message
    assert outcome.sittings_changed == 1
    # Saves in flight within the grace are still taken; then the beat task closes the sitting.
    answer(running, student, question, False, 2, now + timedelta(seconds=20))
    assert sittings_close_expired(now=now + grace() + timedelta(seconds=1)) == 1
    running.refresh_from_db()
    assert (running.status, running.submitted_at) == (SittingStatus.EXPIRED, now)
    assert Answer.objects.get(sitting=running).value is False
    assert Sitting.objects.get(pk=exempt.pk).status == SittingStatus.IN_PROGRESS
    with pytest.raises(SittingRefused) as refused:
        start(exam, late, at=now + minutes(1))
    assert refused.value.code == "window"
    action = ProctorAction.objects.get()
    assert action.detail["sittings"] == [
        {"sitting": running.pk, "before": (T0 + minutes(80)).isoformat(), "after": now.isoformat()}
    ]
    assert action.detail["kept"] == [{"sitting": exempt.pk, "deadline": (T0 + minutes(160)).isoformat()}]
    with pytest.raises(ValidationError, match="already closed"):
        proctoring.window_close(exam=exam, reason="again", by=instructor, now=now + minutes(1))


def test_the_window_does_not_close_before_it_opens(exam: Exam, instructor: User) -> None:
    with pytest.raises(ValidationError, match="not opened yet"):
        proctoring.window_close(exam=exam, reason="x", by=instructor, now=T0 - minutes(90))


def test_changing_the_access_code(exam: Exam, student: User, instructor: User) -> None:
    exam.access_code = "OWL"
    exam.save()

    outcome = proctoring.access_code_change(exam=exam, code=" HAWK ", reason="leaked", by=instructor, now=T0)

    assert Exam.objects.get(pk=exam.pk).access_code == "HAWK" and "HAWK" in outcome.message
    action = ProctorAction.objects.get()
    assert (action.kind, action.detail["before"], action.detail["after"]) == (
        ProctorActionKind.ACCESS_CODE,
        {"access_code": "OWL"},
        {"access_code": "HAWK"},
    )
    with pytest.raises(ValidationError, match="already"):
        proctoring.access_code_change(exam=exam, code="HAWK", reason="x", by=instructor, now=T0)
    proctoring.access_code_change(exam=exam, code="", reason="no more codes", by=instructor, now=T0)
    assert Exam.objects.get(pk=exam.pk).access_code == ""


# --- the board --------------------------------------------------------------------------------------------


@pytest.fixture
def room(course: Course, exam: Exam, student: User, other_student: User, instructor: User) -> dict[str, User]:
    """alice (AA) in progress with two answers and a blank, bob (AB) submitted, carol (AA) not
    started, dan dropped without a sitting, erin dropped after starting."""
    carol = UserFactory.create(net_id="carol", full_name="Carol Diaz")
    member(carol, course, Role.STUDENT, quiz_section="AA")
    dan = UserFactory.create(net_id="dan", full_name="Dan Dropped")
    member(dan, course, Role.STUDENT, quiz_section="AB")
    erin = UserFactory.create(net_id="erin", full_name="Erin Early")
    member(erin, course, Role.STUDENT, quiz_section="AB")
    questions = list(Question.objects.filter(exam=exam).order_by("pk"))

    alice_sitting = start(exam, student, ip="10.0.0.7")
    answer(alice_sitting, student, questions[0], True, 1, T0 + minutes(5))
    answer(alice_sitting, student, questions[1], False, 2, T0 + minutes(6))
    answer(alice_sitting, student, questions[2], None, 3, T0 + minutes(7))  # answered, then cleared: blank
    for kind in ("focus_loss", "visibility", "focus_loss", "paste"):
        proctor_event_record(sitting=alice_sitting, kind=kind, detail={}, ip="10.0.0.7", now=T0 + minutes(8))
    sitting_claim(sitting=alice_sitting, device=OTHER_DEVICE, ip="10.0.0.99", now=T0 + minutes(9))
    proctoring.extension_grant(exam=exam, student=student, minutes=10, reason="late", by=instructor, now=T0)
    Accommodation.objects.create(course=course, student=student, time_multiplier=Decimal("1.5"))

    bob_sitting = start(exam, other_student, ip="10.0.0.8")
    sitting_submit(sitting=bob_sitting, student=other_student, now=T0 + minutes(30))
    erin_sitting = start(exam, erin, ip="10.0.0.9")
    sitting_submit(sitting=erin_sitting, student=erin, now=T0 + minutes(31))
    Membership.objects.filter(user__in=[dan, erin]).update(active=False)
    return {"alice": student, "bob": other_student, "carol": carol, "dan": dan, "erin": erin}


def test_the_board_has_a_row_per_student_and_the_counts(exam: Exam, room: dict[str, User]) -> None:
    now = T0 + minutes(40)

    board = proctor_board(exam=exam, now=now)

    assert [row.net_id for row in board.rows] == ["alice", "bob", "carol", "erin"]
    assert board.counts.as_json() == {
        "not_started": 1,
        "in_progress": 1,
        "submitted": 2,
        "expired": 0,
        "voided": 0,
        "total": 4,
    }
    alice, bob, carol, erin = board.rows
    assert (alice.state, alice.section, alice.started_at, alice.deadline) == (
        "in_progress",
        "AA",
        T0,
        T0 + minutes(90),
    )
    assert alice.seconds_left == 50 * 60 and alice.time_left == "50:00"
    assert (alice.answered, alice.focus_losses, alice.takeovers) == (2, 3, 1)
    assert alice.ips == ("10.0.0.7", "10.0.0.99")
    assert alice.last_saved_at == T0 + minutes(7)
    assert (alice.accommodation_label, alice.extension_minutes) == ("×1.5", 10)
    assert (bob.state, bob.seconds_left, bob.ips) == ("submitted", None, ("10.0.0.8",))
    assert (carol.state, carol.sitting_id, carol.answered, carol.ips) == ("not_started", None, 0, ())
    assert (erin.state, erin.on_roster) == ("submitted", False)
    assert board.sections == ["AA", "AB"]
    assert board.questions == 3
    json_row = alice.as_json()
    assert json_row["state_label"] == "In progress" and json_row["ips"] == ["10.0.0.7", "10.0.0.99"]


def test_the_board_follows_the_server_clock(exam: Exam, room: dict[str, User]) -> None:
    deadline = T0 + minutes(90)
    assert proctor_board(exam=exam, now=deadline + timedelta(seconds=10)).rows[0].state == "time_up"
    late = proctor_board(exam=exam, now=deadline + grace() + timedelta(seconds=1))
    assert (late.rows[0].state, late.rows[0].seconds_left) == ("expired", 0)
    assert (late.counts.in_progress, late.counts.expired) == (0, 1)


def test_the_board_searches_and_filters_by_section(exam: Exam, room: dict[str, User]) -> None:
    now = T0 + minutes(40)
    assert [r.net_id for r in proctor_board(exam=exam, now=now, section="AA").rows] == ["alice", "carol"]
    assert [r.net_id for r in proctor_board(exam=exam, now=now, query="DIAZ").rows] == ["carol"]
    assert [r.net_id for r in proctor_board(exam=exam, now=now, query="bo").rows] == ["bob"]
    filtered = proctor_board(exam=exam, now=now, query="a", section="AA")
    assert [r.net_id for r in filtered.rows] == ["alice", "carol"]
    assert filtered.counts.total == 2 and filtered.counts.not_started == 1
    assert proctor_board(exam=exam, now=now, section="ZZ").rows == []
    row = proctor_row(exam=exam, student_id=room["bob"].pk, now=now)
    assert row is not None and row.net_id == "bob"
    assert proctor_row(exam=exam, student_id=room["dan"].pk, now=now) is None


def test_the_board_takes_a_fixed_number_of_queries(course: Course, exam: Exam, room: dict[str, User]) -> None:
    with CaptureQueriesContext(connection) as few:
        proctor_board(exam=exam, now=T0 + minutes(40))
    for n in range(15):
        extra = UserFactory.create(net_id=f"s{n}", full_name=f"Student {n}")
        member(extra, course, Role.STUDENT, quiz_section="AC")
        sitting = start(exam, extra)
        proctor_event_record(sitting=sitting, kind="focus_loss", detail={}, ip="10.0.1.1", now=T0 + minutes(1))
    with CaptureQueriesContext(connection) as many:
        board = proctor_board(exam=exam, now=T0 + minutes(40))
    assert len(board.rows) == 19
    assert len(many.captured_queries) == len(few.captured_queries) <= 8


def test_recent_actions_include_the_course_accommodations(
    exam: Exam, course: Course, student: User, other_student: User, instructor: User
) -> None:
    other_exam = make_exam(course, title="Quiz")
    proctoring.extension_grant(exam=exam, student=student, minutes=5, reason="a", by=instructor, now=T0)
    proctoring.extension_grant(exam=other_exam, student=student, minutes=5, reason="b", by=instructor, now=T0)
    proctoring.accommodation_set(
        course=course, student=other_student, multiplier=2, may_exceed_window=False, reason="c", by=instructor, now=T0
    )
    proctoring.access_code_change(exam=exam, code="K", reason="d", by=instructor, now=T0 + minutes(1))

    actions = proctor_actions(exam=exam)

    assert [a.reason for a in actions] == ["d", "c", "a"]
    assert actions[1].student == "Bob Okafor (bob)" and actions[1].summary == "×2"
    assert actions[0].actor == "Maya Rivera" and actions[0].kind_label == "Changed the access code"
    assert [a.reason for a in proctor_actions(exam=exam, student_id=student.pk)] == ["a"]
