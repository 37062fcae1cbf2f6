"""``manage.py load_demo``: the demo course, people and open seed exam, safe to run twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings

from accounts.models import Course, Membership, Role, User
from exams.models import Exam
from grading.models import GradingJob

NOW = datetime(2023, 5, 4, 17, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _media_in_tmp(tmp_path: Path) -> Iterator[None]:
    """The seed exam's figures are stored files; keep them out of the project's var/."""
    with override_settings(MEDIA_ROOT=tmp_path):
        yield


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    return (
        Course.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        Membership.objects.filter(active=True).count(),
        Exam.objects.count(),
    )


@pytest.mark.django_db
def test_load_demo_builds_the_demo_course_and_is_idempotent() -> None:
    with time_machine.travel(NOW, tick=False):
        first = load_demo()
    after_first = counts()
    second = load_demo()

    # The current course (34 people with the admin, 33 members) and last year's: its staff
    # (3 members) and 300 simulated students.
    assert counts() == after_first == (2, 334, 336, 336, 2)
    assert "Past offering cse493g1-sp22: 300 simulated sittings" in first
    assert "Past offering cse493g1-sp22: already present, left as it is." in second
    assert "Course cse493g1-sp23: created." in first
    assert "33 created, 0 updated, 0 unchanged, 0 dropped, 0 refused, 2 skipped" in first
    assert "Superuser admin: created." in first
    assert "Course cse493g1-sp23: already present." in second
    assert "0 created, 0 updated, 33 unchanged, 0 dropped, 0 refused, 2 skipped" in second
    assert "already present, left as it is" in second

    course = Course.objects.get(code="cse493g1-sp23")
    assert (course.title, course.term) == ("CSE 493 G1 / 599 G1 Deep Learning", "Spring 2023")
    memberships = Membership.objects.filter(course=course).select_related("user")
    by_role = Counter(m.role for m in memberships)
    assert by_role == {Role.STUDENT: 30, Role.TA: 2, Role.INSTRUCTOR: 1}
    staff = {m.user.net_id: (m.role, m.user.full_name) for m in memberships if m.role != Role.STUDENT}
    assert staff == {
        "mrivera": (Role.INSTRUCTOR, "Maya Rivera"),
        "jchen": (Role.TA, "Jordan Chen"),
        "spatel": (Role.TA, "Sam Patel"),
    }
    sections = Counter(m.quiz_section for m in memberships if m.role == Role.STUDENT)
    assert sections == {"AA": 10, "AB": 10, "AC": 10}
    assert len({m.user.full_name for m in memberships}) == 33

    admin = User.objects.get(net_id="admin")
    assert admin.is_superuser
    a_student = memberships.filter(role=Role.STUDENT).order_by("pk")[0].user
    for user in (admin, User.objects.get(net_id="mrivera"), a_student):
        assert user.check_password("examhall"), user.net_id

    past = Exam.objects.get(course__code="cse493g1-sp22")
    job = GradingJob.objects.get(exam=past)
    assert job.status == "succeeded" and job.sittings_done == 300 and job.statistics is not None
    assert past.closes_at is not None and past.closes_at < NOW

    exam = Exam.objects.get(course=course)
    assert exam.published
    assert not exam.archived
    assert exam.opens_at == NOW
    assert exam.closes_at == NOW + timedelta(days=7)


@pytest.mark.django_db
def test_load_demo_keeps_a_changed_password() -> None:
    load_demo()
    student = User.objects.get(net_id="anguyen")
    student.set_password("my own passphrase")
    student.save()

    load_demo()

    student.refresh_from_db()
    assert student.check_password("my own passphrase")
