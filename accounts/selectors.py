"""Reads for the accounts pages: a person's courses and the exams they show on the home page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import F, Q

from accounts import access
from accounts.models import Course, Membership, Role, User
from exams.models import Exam, Sitting, SittingStatus
from exams.sittings import grace, window_status


@dataclass(frozen=True)
class HomeExam:
    """An exam on the home page: its window status (``exams.sittings.window_status``: upcoming,
    open or closed) and, for a student, their sitting if they started one."""

    exam: Exam
    status: str
    sitting: Sitting | None = None
    now: datetime | None = None

    @property
    def sitting_state(self) -> str:
        """not_started, in_progress, time_up (in progress but past deadline + grace: it closes
        on the next access, with its saved answers) or closed."""
        if self.sitting is None:
            return "not_started"
        if self.sitting.status != SittingStatus.IN_PROGRESS:
            return "closed"
        if self.now is not None and self.now > self.sitting.deadline + grace():
            return "time_up"
        return "in_progress"

    @property
    def results_released(self) -> bool:
        """The exam's grades are released: a student with a closed sitting may see their results.
        (``home_courses`` loads the release with the exam, so this asks no query.)"""
        return self.sitting is not None and self.sitting_state == "closed" and hasattr(self.exam, "grade_release")


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
    # With each exam, its grade release if any (HomeExam.results_released).
    exams = exams.select_related("grade_release")
    # Only a student's own sittings: staff sit no exam.
    sittings = {
        s.exam_id: s for s in Sitting.objects.filter(student=user, exam__course_id__in=student_ids, exam__in=exams)
    }
    by_course: dict[int, list[HomeExam]] = defaultdict(list)
    for exam in exams:
        by_course[exam.course_id].append(
            HomeExam(exam=exam, status=window_status(exam, now), sitting=sittings.get(exam.pk), now=now)
        )
    for home_course in courses:
        home_course.exams.extend(by_course[home_course.course.pk])
    return courses
