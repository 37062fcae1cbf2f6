"""The sitting rules: the deadline, saving in order, refusals, takeover, closing, reopening."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Course, User
from exams import sittings
from exams.models import (
    Accommodation,
    Answer,
    AnswerRevision,
    Exam,
    Extension,
    HonorCodeSignature,
    ProctorEvent,
    Question,
    Sitting,
)
from exams.sittings import (
    SaveItem,
    SaveResult,
    SittingRefused,
    answers_save,
    deadline_compute,
    name_matches,
    proctor_event_record,
    receipt_display,
    sitting_claim,
    sitting_recompute_deadline,
    sitting_refresh,
    sitting_reopen,
    sitting_start,
    sitting_submit,
    sittings_close_expired,
)
from tests.factories import ExamFactory, SectionFactory, add_choices, add_question

T0 = datetime(2023, 5, 4, 17, 0, tzinfo=UTC)
DEVICE = uuid.UUID("00000000-0000-4000-8000-000000000001")
OTHER_DEVICE = uuid.UUID("00000000-0000-4000-8000-000000000002")


# --- the deadline rule, as a property ------------------------------------------------------

starts = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
multipliers = st.decimals(min_value=Decimal(1), max_value=Decimal(3), places=2)


@given(
    start=starts,
    duration=st.integers(1, 600),
    multiplier=multipliers,
    extension=st.integers(0, 300),
    close_after=st.one_of(st.none(), st.integers(0, 60 * 24 * 60)),
    may_exceed=st.booleans(),
)
def test_deadline_rule(
    start: datetime, duration: int, multiplier: Decimal, extension: int, close_after: int | None, may_exceed: bool
) -> None:
    closes = start + timedelta(seconds=close_after) if close_after is not None else None
    deadline = deadline_compute(
        started_at=start,
        duration_minutes=duration,
        multiplier=multiplier,
        extension_minutes=extension,
        closes_at=closes,
        may_exceed_window=may_exceed,
    )
    uncapped = start + timedelta(seconds=int(duration * 60 * multiplier) + extension * 60)
    if closes is None or may_exceed:
        assert deadline == uncapped
    else:
        assert deadline == min(uncapped, closes)
        assert deadline <= closes
    assert deadline >= start if closes is None or closes >= start else True
    # More time never gives an earlier deadline.
    longer = deadline_compute(
        started_at=start,
        duration_minutes=duration,
        multiplier=multiplier,
        extension_minutes=extension + 1,
        closes_at=closes,
        may_exceed_window=may_exceed,
    )
    assert longer >= deadline


def test_deadline_examples() -> None:
    assert deadline_compute(started_at=T0, duration_minutes=80) == T0 + timedelta(minutes=80)
    assert deadline_compute(started_at=T0, duration_minutes=80, multiplier=Decimal("1.5")) == T0 + timedelta(
        minutes=120
    )
    capped = deadline_compute(
        started_at=T0, duration_minutes=80, multiplier=Decimal(2), closes_at=T0 + timedelta(minutes=100)
    )
    assert capped == T0 + timedelta(minutes=100)


@pytest.mark.parametrize(
    ("typed", "ok"),
    [("Alice Nguyen", True), ("  alice   nguyen ", True), ("ALICENGUYEN", True), ("Alice", False), ("", False)],
)
def test_signature_matches_ignoring_case_and_spacing(typed: str, ok: bool) -> None:
    assert name_matches(typed, "Alice Nguyen") is ok


# --- a small exam and a started sitting ------------------------------------------------------


@pytest.fixture
def exam(course: Course) -> Exam:
    exam = ExamFactory.create(
        course=course,
        published=True,
        duration_minutes=80,
        opens_at=T0 - timedelta(hours=1),
        closes_at=T0 + timedelta(hours=3),
    )
    section = SectionFactory.create(exam=exam, number=1)
    add_question(section, kind="true_false", points=2, key={"value": True})
    ms = add_question(section, kind="multiple_select", points=4)
    add_choices(ms, "one", "two", "three", correct="AB")
    add_question(section, kind="short_answer", points=2, config={"parts": ["a", "b"]})
    return exam


def tf(exam: Exam) -> Question:
    return Question.objects.get(exam=exam, kind="true_false")


def ms(exam: Exam) -> Question:
    return Question.objects.get(exam=exam, kind="multiple_select")


@pytest.fixture
def sitting(exam: Exam, student: User) -> Sitting:
    sitting = sitting_start(
        exam=exam, student=student, typed_name="alice nguyen", ip="10.1.2.3", user_agent="UA", now=T0
    )
    return sitting_claim(sitting=sitting, device=DEVICE, ip="10.1.2.3", now=T0)


def save(
    sitting: Sitting,
    student: User,
    question: Question,
    value: object,
    seq: int,
    *,
    device: uuid.UUID = DEVICE,
    flagged: bool = False,
    now: datetime = T0 + timedelta(minutes=5),
) -> SaveResult:
    return answers_save(
        sitting_id=sitting.pk,
        student=student,
        device=device,
        items=[SaveItem(question.pk, value, flagged, seq)],
        ip="10.1.2.3",
        now=now,
    )


@pytest.fixture(params=["postgresql", "orm"])
def writer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Saves are written by one PostgreSQL statement, or by the ORM on other databases: both
    keep every rule, so the tests of saving run with each."""
    if request.param == "orm":
        monkeypatch.setattr(sittings, "_answers_write_postgresql", sittings._answers_write_orm)
    return str(request.param)


def test_start_fixes_deadline_and_signs(sitting: Sitting) -> None:
    assert sitting.deadline == T0 + timedelta(minutes=80)
    signature = HonorCodeSignature.objects.get(sitting=sitting)
    assert (signature.typed_name, signature.ip, signature.user_agent) == ("alice nguyen", "10.1.2.3", "UA")
    assert signature.signed_at == T0
    assert "Honor Code" in signature.statement


def test_signature_is_immutable(sitting: Sitting) -> None:
    signature = HonorCodeSignature.objects.get(sitting=sitting)
    signature.typed_name = "Someone Else"
    with pytest.raises(ValidationError):
        signature.save()
    with pytest.raises(ValidationError):
        signature.delete()
    assert HonorCodeSignature.objects.get(sitting=sitting).typed_name == "alice nguyen"


def test_start_with_accommodation_and_extension_capped_by_window(exam: Exam, student: User, instructor: User) -> None:
    Accommodation.objects.create(course=exam.course, student=student, time_multiplier=Decimal("2"))
    Extension.objects.create(
        exam=exam, student=student, minutes=30, reason="fire alarm", granted_by=instructor, granted_at=T0
    )
    sitting = sitting_start(exam=exam, student=student, typed_name="Alice Nguyen", ip=None, user_agent="", now=T0)
    # 80 × 2 + 30 = 190 minutes, but the window closes 180 minutes after the start.
    assert sitting.deadline == exam.closes_at == T0 + timedelta(minutes=180)
    Accommodation.objects.filter(student=student).update(may_exceed_window=True)
    assert sitting_recompute_deadline(sitting=sitting, now=T0).deadline == T0 + timedelta(minutes=190)


def test_start_refusals_name_their_rule(exam: Exam, student: User, other_course: Course) -> None:
    with pytest.raises(SittingRefused) as error:
        sitting_start(exam=exam, student=student, typed_name="Bob", ip=None, user_agent="", now=T0)
    assert error.value.code == "signature"
    with pytest.raises(SittingRefused) as error:
        sitting_start(
            exam=exam, student=student, typed_name="Alice Nguyen", ip=None, user_agent="", now=T0 + timedelta(hours=4)
        )
    assert error.value.code == "window"
    exam.allowed_networks = "10.0.0.0/8"
    exam.save()
    with pytest.raises(SittingRefused) as error:
        sitting_start(exam=exam, student=student, typed_name="Alice Nguyen", ip="192.168.1.5", user_agent="", now=T0)
    assert error.value.code == "network"
    assert not Sitting.objects.exists()


def test_saves_apply_in_sequence_order_never_backwards(
    sitting: Sitting, student: User, exam: Exam, writer: str
) -> None:
    assert save(sitting, student, tf(exam), True, seq=2).outcomes[0].status == "saved"
    assert save(sitting, student, tf(exam), False, seq=1).outcomes[0].status == "stale"  # out of order
    assert save(sitting, student, tf(exam), False, seq=2).outcomes[0].status == "stale"  # replayed
    answer = Answer.objects.get(sitting=sitting, question=tf(exam))
    assert (answer.value, answer.seq) == (True, 2)
    assert save(sitting, student, tf(exam), None, seq=3).outcomes[0].status == "saved"  # blank is an answer
    answer.refresh_from_db()
    assert (answer.value, answer.seq) == (None, 3)
    assert list(AnswerRevision.objects.filter(sitting=sitting).values_list("seq", "value")) == [(2, True), (3, None)]
    sitting.refresh_from_db()
    assert sitting.last_seq == 3


def test_invalid_answers_are_reported_not_stored(sitting: Sitting, student: User, exam: Exam, writer: str) -> None:
    result = save(sitting, student, ms(exam), ["Z"], seq=1)
    assert result.outcomes[0].status == "invalid" and "No such choice" in result.outcomes[0].error
    assert not Answer.objects.filter(sitting=sitting).exists()
    result = save(sitting, student, ms(exam), ["C", "A"], seq=2, flagged=True)
    answer = Answer.objects.get(sitting=sitting, question=ms(exam))
    assert (answer.value, answer.flagged) == (["A", "C"], True)


def test_late_save_is_refused_and_logged(sitting: Sitting, student: User, exam: Exam, writer: str) -> None:
    in_grace = sitting.deadline + timedelta(seconds=30)
    assert save(sitting, student, tf(exam), True, seq=1, now=in_grace).outcomes[0].status == "saved"
    with pytest.raises(SittingRefused) as error:
        save(sitting, student, tf(exam), False, seq=2, now=sitting.deadline + timedelta(seconds=61))
    assert error.value.code == "time_up"
    assert ProctorEvent.objects.filter(sitting=sitting, kind="late_save").count() == 1
    sitting.refresh_from_db()
    assert sitting.status == "expired" and sitting.submitted_at == sitting.deadline
    assert Answer.objects.get(sitting=sitting).value is True


def test_another_device_takes_over(sitting: Sitting, student: User, exam: Exam, writer: str) -> None:
    sitting_claim(sitting=sitting, device=OTHER_DEVICE, ip="10.9.9.9", now=T0 + timedelta(minutes=1))
    with pytest.raises(SittingRefused) as error:
        save(sitting, student, tf(exam), True, seq=1)
    assert error.value.code == "taken_over"
    assert save(sitting, student, tf(exam), True, seq=1, device=OTHER_DEVICE).outcomes[0].status == "saved"
    event = ProctorEvent.objects.get(sitting=sitting, kind="takeover")
    assert event.detail == {"from": str(DEVICE), "to": str(OTHER_DEVICE)} and event.ip == "10.9.9.9"


def test_a_batch_keeps_its_order_when_it_repeats_a_question(
    sitting: Sitting, student: User, exam: Exam, writer: str
) -> None:
    question = tf(exam).pk
    forward = [
        SaveItem(question, True, False, 3),
        SaveItem(ms(exam).pk, ["A"], False, 4),
        SaveItem(question, False, True, 5),
    ]
    result = answers_save(sitting_id=sitting.pk, student=student, device=DEVICE, items=forward, ip=None, now=T0)
    assert [o.status for o in result.outcomes] == ["saved", "saved", "saved"]
    answer = Answer.objects.get(sitting=sitting, question_id=question)
    assert (answer.value, answer.flagged, answer.seq) == (False, True, 5)
    backward = [
        SaveItem(question, True, False, 7),
        SaveItem(question, None, False, 6),
        SaveItem(question, True, False, 7),
    ]
    result = answers_save(sitting_id=sitting.pk, student=student, device=DEVICE, items=backward, ip=None, now=T0)
    assert [o.status for o in result.outcomes] == ["saved", "stale", "stale"]  # 6 is older; 7 is there
    assert list(
        AnswerRevision.objects.filter(sitting=sitting, question_id=question)
        .order_by("pk")
        .values_list("seq", flat=True)
    ) == [3, 5, 7]
    assert result.last_seq == 7


def test_last_seq_only_grows_and_the_result_carries_the_deadline(
    sitting: Sitting, student: User, exam: Exam, writer: str
) -> None:
    assert save(sitting, student, tf(exam), True, seq=9).last_seq == 9
    result = save(sitting, student, ms(exam), ["B"], seq=4)  # a late arrival from before seq 9
    assert [o.status for o in result.outcomes] == ["saved"]
    assert result.last_seq == 9 and result.deadline == sitting.deadline
    sitting.refresh_from_db()
    assert sitting.last_seq == 9 and sitting.last_saved_at == T0 + timedelta(minutes=5)


def test_a_refusal_comes_before_the_answers_are_judged(
    sitting: Sitting, student: User, exam: Exam, writer: str
) -> None:
    sitting_submit(sitting=sitting, student=student, now=T0 + timedelta(minutes=1))
    with pytest.raises(SittingRefused) as error:
        save(sitting, student, ms(exam), ["Z"], seq=1)  # invalid too, but the sitting is closed
    assert error.value.code == "closed" and error.value.message == "This sitting is submitted; answers are final."


def test_a_sitting_saved_to_before_stays_its_students_alone(
    sitting: Sitting, student: User, other_student: User, exam: Exam, writer: str
) -> None:
    save(sitting, student, tf(exam), True, seq=1)  # this process now knows the sitting's exam
    with pytest.raises(Sitting.DoesNotExist):
        save(sitting, other_student, tf(exam), False, seq=2)
    assert Answer.objects.get(sitting=sitting).value is True


def test_first_claim_is_not_a_takeover(exam: Exam, student: User) -> None:
    sitting = sitting_start(exam=exam, student=student, typed_name="Alice Nguyen", ip=None, user_agent="", now=T0)
    sitting_claim(sitting=sitting, device=DEVICE, ip=None, now=T0)
    sitting_claim(sitting=sitting, device=DEVICE, ip=None, now=T0)  # a reload of the same tab
    assert not ProctorEvent.objects.filter(sitting=sitting).exists()


def test_other_students_sitting_does_not_exist_for_them(
    sitting: Sitting, other_student: User, exam: Exam, writer: str
) -> None:
    with pytest.raises(Sitting.DoesNotExist):
        save(sitting, other_student, tf(exam), True, seq=1)


def test_submit_then_no_more_saves_and_receipt(sitting: Sitting, student: User, exam: Exam, writer: str) -> None:
    save(sitting, student, tf(exam), True, seq=1)
    submitted = sitting_submit(sitting=sitting, student=student, now=T0 + timedelta(minutes=30))
    assert submitted.status == "submitted" and submitted.submitted_at == T0 + timedelta(minutes=30)
    assert len(submitted.receipt_code) == 64
    assert receipt_display(submitted.receipt_code).count("-") == 3
    with pytest.raises(SittingRefused) as error:
        save(sitting, student, tf(exam), False, seq=2)
    assert error.value.code == "closed"
    again = sitting_submit(sitting=submitted, student=student, now=T0 + timedelta(minutes=31))
    assert again.submitted_at == submitted.submitted_at and again.receipt_code == submitted.receipt_code


def test_receipt_depends_on_the_answers(exam: Exam, student: User, other_student: User) -> None:
    codes = []
    for user, value in ((student, True), (other_student, False)):
        sitting = sitting_start(exam=exam, student=user, typed_name=user.full_name, ip=None, user_agent="", now=T0)
        sitting_claim(sitting=sitting, device=DEVICE, ip=None, now=T0)
        save(sitting, user, tf(exam), value, seq=1)
        codes.append(sitting_submit(sitting=sitting, student=user, now=T0 + timedelta(minutes=2)).receipt_code)
    assert codes[0] != codes[1]


def test_vanished_students_are_closed_with_their_answers(sitting: Sitting, student: User, exam: Exam) -> None:
    save(sitting, student, tf(exam), True, seq=1)
    assert sittings_close_expired(now=sitting.deadline + timedelta(seconds=59)) == 0
    assert sittings_close_expired(now=sitting.deadline + timedelta(seconds=61)) == 1
    sitting.refresh_from_db()
    assert (sitting.status, sitting.closed_by) == ("expired", "beat")
    assert Answer.objects.get(sitting=sitting).value is True
    assert sittings_close_expired(now=sitting.deadline + timedelta(hours=1)) == 0


def test_lazy_close_on_access(sitting: Sitting) -> None:
    assert sitting_refresh(sitting=sitting, now=sitting.deadline).status == "in_progress"
    closed = sitting_refresh(sitting=sitting, now=sitting.deadline + timedelta(minutes=2))
    assert (closed.status, closed.closed_by) == ("expired", "lazy")


def test_extension_only_grows_the_deadline(sitting: Sitting, student: User, instructor: User) -> None:
    Extension.objects.create(
        exam=sitting.exam, student=student, minutes=15, reason="late start", granted_by=instructor, granted_at=T0
    )
    assert sitting_recompute_deadline(sitting=sitting, now=T0).deadline == T0 + timedelta(minutes=95)
    Accommodation.objects.create(course=sitting.exam.course, student=student, time_multiplier=Decimal("1.5"))
    assert sitting_recompute_deadline(sitting=sitting, now=T0).deadline == T0 + timedelta(minutes=135)


def test_reopen_only_by_an_instructor_with_a_reason(
    sitting: Sitting, student: User, ta: User, instructor: User
) -> None:
    with pytest.raises(SittingRefused) as error:
        sitting_reopen(sitting=sitting, by=instructor, reason="early", minutes=1, now=T0 + timedelta(minutes=1))
    assert error.value.code == "open"
    sitting_submit(sitting=sitting, student=student, now=T0 + timedelta(minutes=10))
    with pytest.raises(SittingRefused):
        sitting_reopen(sitting=sitting, by=ta, reason="asked", minutes=10, now=T0 + timedelta(minutes=11))
    with pytest.raises(ValidationError):
        sitting_reopen(sitting=sitting, by=instructor, reason=" ", minutes=10, now=T0 + timedelta(minutes=11))
    reopened = sitting_reopen(
        sitting=sitting, by=instructor, reason="browser crashed", minutes=10, now=T0 + timedelta(minutes=11)
    )
    assert reopened.status == "in_progress" and reopened.deadline == T0 + timedelta(minutes=21)
    event = ProctorEvent.objects.get(sitting=sitting, kind="reopened")
    assert event.actor == instructor and event.detail["reason"] == "browser crashed"
    assert event.detail["before"]["status"] == "submitted"


def test_page_events_are_rate_limited(sitting: Sitting, settings: object) -> None:
    settings.EXAMHALL_PROCTOR_EVENTS_PER_MINUTE = 3  # type: ignore[attr-defined]
    now = T0 + timedelta(minutes=3)
    recorded = [
        proctor_event_record(sitting=sitting, kind="focus_loss", detail={"x": 1}, ip=None, now=now) for _ in range(5)
    ]
    assert recorded == [True, True, True, False, False]
    assert ProctorEvent.objects.filter(sitting=sitting, kind="focus_loss").count() == 3
    with pytest.raises(ValidationError):
        proctor_event_record(sitting=sitting, kind="takeover", detail={}, ip=None, now=now)
