"""Who may see and change what: every role check in Examhall goes through here.

Views, API views, the admin and commands call these functions rather than testing
memberships themselves, so the permission logic is written and tested once.

Rules:
- a superuser may do everything;
- an instructor of a course reads and writes its exams, answer keys included;
- a TA of a course reads its exams and keys, and writes nothing in authoring;
- a student reads only what the sitting pages show them, never an answer key.
Objects outside a user's courses are reported as missing (404), not forbidden, so their
existence does not leak.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Course, Membership, Role, User

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from exams.models import Exam, Question, Section, Sitting

    AnyUser = User | AnonymousUser
else:
    AnyUser = Any

STAFF_ROLES = (Role.INSTRUCTOR, Role.TA)


def _real(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active)


def _uid(user: AnyUser) -> int:
    return int(user.pk or 0)


def course_role(user: AnyUser, course: Course | int) -> str | None:
    """The user's role in the course, or None."""
    if not _real(user):
        return None
    course_id = course if isinstance(course, int) else course.pk
    return (
        Membership.objects.filter(user_id=_uid(user), course_id=course_id, active=True)
        .values_list("role", flat=True)
        .first()
    )


def courses_with_role(user: AnyUser, roles: tuple[str, ...]) -> QuerySet[Course]:
    if not _real(user):
        return Course.objects.none()
    if user.is_superuser and set(roles) & set(STAFF_ROLES):
        return Course.objects.all()
    return Course.objects.filter(
        memberships__user_id=_uid(user), memberships__role__in=roles, memberships__active=True
    ).distinct()


def is_course_staff(user: AnyUser) -> bool:
    """Instructor or TA of at least one course (or a superuser): may enter the admin."""
    if not _real(user):
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user_id=_uid(user), role__in=STAFF_ROLES, active=True).exists()


def can_author_course(user: AnyUser, course: Course | int) -> bool:
    """May create and change exams (and their keys) of the course."""
    if not _real(user):
        return False
    return bool(user.is_superuser) or course_role(user, course) == Role.INSTRUCTOR


def can_view_course_exams(user: AnyUser, course: Course | int) -> bool:
    """May read the course's exams with their answer keys (instructors and TAs)."""
    if not _real(user):
        return False
    return bool(user.is_superuser) or course_role(user, course) in STAFF_ROLES


def authored_courses(user: AnyUser) -> QuerySet[Course]:
    return courses_with_role(user, (Role.INSTRUCTOR,))


def staff_courses(user: AnyUser) -> QuerySet[Course]:
    return courses_with_role(user, STAFF_ROLES)


def exams_for_staff(user: AnyUser) -> QuerySet[Exam]:
    """Exams whose authoring side (keys included) the user may read."""
    from exams.models import Exam

    if not _real(user):
        return Exam.objects.none()
    if user.is_superuser:
        return Exam.objects.all()
    return Exam.objects.filter(course__in=staff_courses(user))


def access_exam_for_staff(user: AnyUser, exam_id: int, *, write: bool = False) -> Exam:
    """The exam, if the user may read (with ``write``: change) it.

    Http404 when the exam is outside the user's courses; PermissionDenied when a TA asks
    to write.
    """
    from exams.models import Exam

    exam = Exam.objects.select_related("course").filter(pk=exam_id).first()
    if exam is None:
        raise Http404("No such exam.")
    if not can_view_course_exams(user, exam.course_id):
        raise Http404("No such exam.")
    if write and not can_author_course(user, exam.course_id):
        raise PermissionDenied("Only the course's instructors may change this exam.")
    return exam


def is_course_author(user: AnyUser) -> bool:
    """Instructor of at least one course (or a superuser): may create exams."""
    if not _real(user):
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user_id=_uid(user), role=Role.INSTRUCTOR, active=True).exists()


def can_remove_exam_parts(user: AnyUser, exam: Exam) -> bool:
    """May delete sections, questions, choices and figures of the exam.

    Only the course's instructors, and only while the exam is unpublished: once students
    can see an exam its parts may carry their answers, and student data is never deleted.
    Exams themselves are archived, never deleted.
    """
    return not exam.published and can_author_course(user, exam.course_id)


def course_roles(user: AnyUser) -> dict[int, str]:
    """The user's active role in each of their courses, by course id (one query)."""
    if not _real(user):
        return {}
    return dict(Membership.objects.filter(user_id=_uid(user), active=True).values_list("course_id", "role"))


def access_course_for_staff(user: AnyUser, course_id: int, *, write: bool = False) -> Course:
    """The course, if the user is its staff (with ``write``: its instructor).

    Http404 when the user is not on the course's staff; PermissionDenied when a TA asks
    to write.
    """
    course = Course.objects.filter(pk=course_id).first()
    if course is None or not can_view_course_exams(user, course.pk):
        raise Http404("No such course.")
    if write and not can_author_course(user, course.pk):
        raise PermissionDenied("Only the course's instructors may author its exams.")
    return course


def sections_for_staff(user: AnyUser) -> QuerySet[Section]:
    """Sections of the exams whose authoring side the user may read."""
    from exams.models import Section

    return Section.objects.filter(exam__in=exams_for_staff(user))


def questions_for_staff(user: AnyUser) -> QuerySet[Question]:
    """Questions, answer keys included, of the exams whose authoring side the user may read."""
    from exams.models import Question

    return Question.objects.filter(exam__in=exams_for_staff(user))


def can_manage_users(user: AnyUser) -> bool:
    """May create, change and deactivate user accounts: superusers only."""
    return _real(user) and bool(user.is_superuser)


def can_view_roster(user: AnyUser, course: Course | int) -> bool:
    """May read the course's memberships: its instructors and TAs (and superusers)."""
    return can_view_course_exams(user, course)


def can_manage_roster(user: AnyUser, course: Course | int) -> bool:
    """May import the course's roster and edit its memberships: its instructors (and superusers)."""
    return can_author_course(user, course)


def memberships_for_staff(user: AnyUser) -> QuerySet[Membership]:
    """Memberships of the courses whose roster the user may read."""
    if not _real(user):
        return Membership.objects.none()
    if user.is_superuser:
        return Membership.objects.all()
    return Membership.objects.filter(course__in=staff_courses(user))


def is_course_student(user: AnyUser, course: Course | int) -> bool:
    """An active student of the course (staff of the course are not its students)."""
    return course_role(user, course) == Role.STUDENT


def access_exam_lobby(user: AnyUser, exam_id: int) -> Exam:
    """The exam whose cover page (lobby) the user may open.

    The course's staff may open it for any of its exams (they see a note, never a start
    form); its active students only once it is published and not archived. For anyone else
    the exam does not exist (Http404).
    """
    from exams.models import Exam

    exam = Exam.objects.select_related("course").filter(pk=exam_id).first()
    if exam is None:
        raise Http404("No such exam.")
    if can_view_course_exams(user, exam.course_id):
        return exam
    if exam.published and not exam.archived and is_course_student(user, exam.course_id):
        return exam
    raise Http404("No such exam.")


def access_sitting_for_student(user: AnyUser, sitting_id: int) -> Sitting:
    """The user's own sitting, with its exam and course.

    Another student's sitting, and any sitting for course staff (who sit no exam), is
    Http404: the student pages of a sitting belong to its student alone.
    """
    from exams.models import Sitting

    if not _real(user):
        raise Http404("No such sitting.")
    sitting = Sitting.objects.select_related("exam__course").filter(pk=sitting_id, student_id=_uid(user)).first()
    if sitting is None:
        raise Http404("No such sitting.")
    return sitting


def sittings_for_staff(user: AnyUser) -> QuerySet[Sitting]:
    """Sittings of the exams whose authoring side the user may read (their course staff)."""
    from exams.models import Sitting

    return Sitting.objects.filter(exam__in=exams_for_staff(user))
