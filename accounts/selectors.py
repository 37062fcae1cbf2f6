"""Reads for the accounts pages: a person's courses and the exams they show on the home page."""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import F, Q

from accounts import access
from accounts.models import Course, Membership, Role, User
from exams.models import Exam


class WindowStatus(enum.StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


def exam_window_status(exam: Exam, now: datetime) -> WindowStatus:
    """Where ``now`` falls in the exam's window: before it opens (or while it has no opening
    time), between opening and closing (closing included as closed), or after."""
    if exam.opens_at is None or now < exam.opens_at:
        return WindowStatus.UPCOMING
    if exam.closes_at is not None and now >= exam.closes_at:
        return WindowStatus.CLOSED
    return WindowStatus.OPEN


@dataclass(frozen=True)
class HomeExam:
    exam: Exam
    status: WindowStatus


@dataclass(frozen=True)
class HomeCourse:
    """A course as the home page shows it to one person.

    For staff (``is_staff``), every exam, unpublished and archived ones included; for a
    student, the published exams that are not archived.
    """

    course: Course
    role_label: str
    is_staff: bool
    can_manage: bool
    exams: list[HomeExam] = field(default_factory=list)


def home_courses(*, user: User, now: datetime) -> list[HomeCourse]:
    """The user's active courses, staff courses first, each with the exams the user may see."""
    memberships = {m.course_id: m for m in Membership.objects.filter(user=user, active=True).select_related("course")}
    # Superusers oversee every course, whether or not they are on its staff.
    staff = {c.pk: c for c in access.staff_courses(user)}
    courses: list[HomeCourse] = []
    for course_id, course in staff.items():
        membership = memberships.get(course_id)
        role = Role(membership.role) if membership else None
        courses.append(
            HomeCourse(
                course=course,
                role_label=role.label if role else "Administrator",
                is_staff=True,
                can_manage=user.is_superuser or role == Role.INSTRUCTOR,
            )
        )
    for course_id, membership in memberships.items():
        if course_id not in staff and membership.role == Role.STUDENT:
            courses.append(
                HomeCourse(course=membership.course, role_label=Role.STUDENT.label, is_staff=False, can_manage=False)
            )
    courses.sort(key=lambda c: (not c.is_staff, c.course.code))

    student_ids = [c.course.pk for c in courses if not c.is_staff]
    exams = Exam.objects.filter(
        Q(course_id__in=list(staff)) | Q(course_id__in=student_ids, published=True, archived=False)
    ).order_by(F("opens_at").asc(nulls_last=True), "title", "pk")
    by_course: dict[int, list[HomeExam]] = defaultdict(list)
    for exam in exams:
        by_course[exam.course_id].append(HomeExam(exam=exam, status=exam_window_status(exam, now)))
    for home_course in courses:
        home_course.exams.extend(by_course[home_course.course.pk])
    return courses
