"""The course-role rules behind authoring: who may enter the admin, author, read, delete parts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.access import (
    access_exam_for_staff,
    can_remove_exam_parts,
    exams_for_staff,
    is_course_author,
    is_course_staff,
)
from accounts.models import Course, User
from exams.models import Exam
from tests.factories import ExamFactory, UserFactory


@pytest.fixture
def exam(course: Course) -> Exam:
    return ExamFactory.create(course=course)


def test_only_instructors_are_authors(instructor: User, ta: User, student: User) -> None:
    assert is_course_author(instructor)
    assert not is_course_author(ta)
    assert not is_course_author(student)
    assert not is_course_author(AnonymousUser())


def test_course_staff_are_instructors_and_tas(instructor: User, ta: User, student: User) -> None:
    assert is_course_staff(instructor) and is_course_staff(ta)
    assert not is_course_staff(student)
    assert not is_course_staff(AnonymousUser())


def test_an_inactive_membership_or_account_counts_for_nothing(instructor: User) -> None:
    instructor.memberships.update(active=False)
    assert not is_course_author(instructor) and not is_course_staff(instructor)
    instructor.memberships.update(active=True)
    instructor.is_active = False
    instructor.save()
    assert not is_course_author(instructor) and not is_course_staff(instructor)


def test_a_superuser_is_an_author_without_memberships(db: None) -> None:
    root = UserFactory.create(net_id="root", is_superuser=True)
    assert is_course_author(root) and is_course_staff(root)


def test_parts_can_be_removed_only_by_instructors_while_unpublished(
    exam: Exam, instructor: User, ta: User, other_instructor: User
) -> None:
    assert can_remove_exam_parts(instructor, exam)
    assert not can_remove_exam_parts(ta, exam)
    assert not can_remove_exam_parts(other_instructor, exam)
    exam.published = True
    assert not can_remove_exam_parts(instructor, exam)


def test_staff_access_to_an_exam_by_role(
    exam: Exam, instructor: User, ta: User, student: User, other_instructor: User
) -> None:
    assert access_exam_for_staff(instructor, exam.pk, write=True) == exam
    assert access_exam_for_staff(ta, exam.pk) == exam
    with pytest.raises(PermissionDenied):
        access_exam_for_staff(ta, exam.pk, write=True)
    for outsider in (student, other_instructor, AnonymousUser()):
        with pytest.raises(Http404):
            access_exam_for_staff(outsider, exam.pk)
    with pytest.raises(Http404):
        access_exam_for_staff(instructor, exam.pk + 1000)


def test_staff_list_only_their_courses_exams(
    exam: Exam, other_course: Course, ta: User, other_instructor: User
) -> None:
    theirs = ExamFactory.create(course=other_course, title="Final")
    assert list(exams_for_staff(ta)) == [exam]
    assert list(exams_for_staff(other_instructor)) == [theirs]
