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

from typing import TYPE_CHECKING, Any, NamedTuple

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Course, Membership, Role, User

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from exams.models import Exam, Question, Section, Sitting
    from grading.models import AnswerScore

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
    # At most one row (one membership per course): no ordering, so no join for Meta.ordering.
    return (
        Membership.objects.filter(user_id=_uid(user), course_id=course_id, active=True)
        .order_by()
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


class ExamLobby(NamedTuple):
    exam: Exam
    staff: bool  # the course's staff (or a superuser): the cover with a note, never a start form


def access_exam_lobby(user: AnyUser, exam_id: int) -> ExamLobby:
    """The exam whose cover page (lobby) the user may open, and whether they open it as staff.

    The course's staff may open it for any of its exams (they see a note, never a start
    form); its active students only once it is published and not archived. For anyone else
    the exam does not exist (Http404). One query for the exam and one for the user's role.
    """
    from exams.models import Exam

    exam = Exam.objects.select_related("course").filter(pk=exam_id).first()
    if exam is None or not _real(user):
        raise Http404("No such exam.")
    role = None if user.is_superuser else course_role(user, exam.course_id)
    if user.is_superuser or role in STAFF_ROLES:  # can_view_course_exams, with the role read once
        return ExamLobby(exam, staff=True)
    if exam.published and not exam.archived and role == Role.STUDENT:  # is_course_student
        return ExamLobby(exam, staff=False)
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


# --- grading by hand, release and regrades -------------------------------------------------------


def access_question_for_grader(user: AnyUser, question_id: int) -> Question:
    """A question whose answers the user may grade: its course's instructors and TAs (Http404
    for anyone else, so other courses' questions do not exist for them)."""
    from exams.models import Question

    question = Question.objects.select_related("exam__course").filter(pk=question_id).first()
    if question is None or not can_view_course_exams(user, question.exam.course_id):
        raise Http404("No such question.")
    return question


def access_score_for_grader(user: AnyUser, score_id: int) -> AnswerScore:
    """A scored answer the user may grade (its course's staff); Http404 otherwise."""
    from grading.models import AnswerScore

    score = AnswerScore.objects.select_related("question__exam__course", "sitting").filter(pk=score_id).first()
    if score is None or not can_view_course_exams(user, score.question.exam.course_id):
        raise Http404("No such answer.")
    return score


def may_reveal_names(user: AnyUser, course: Course | int) -> bool:
    """Grading is anonymous; the course's instructors may reveal whose answer it is."""
    return can_author_course(user, course)


def may_release_grades(user: AnyUser, course: Course | int) -> bool:
    return can_author_course(user, course)


def access_released_sitting_for_student(user: AnyUser, sitting_id: int) -> Sitting:
    """The student's own sitting, once its exam's grades are released; Http404 before, so
    nothing about scores, keys or rubrics reaches a student until then."""
    from grading.models import GradeRelease

    sitting = access_sitting_for_student(user, sitting_id)
    if not GradeRelease.objects.filter(exam_id=sitting.exam_id).exists():
        raise Http404("Grades are not released yet.")
    return sitting


if TYPE_CHECKING:
    from grading.models import RegradeRequest


def access_exam_for_release(user: AnyUser, exam_id: int) -> Exam:
    """The exam whose grades the user may release (its instructors): Http404 outside the
    user's courses, PermissionDenied for its TAs."""
    exam = access_exam_for_staff(user, exam_id)
    if not may_release_grades(user, exam.course_id):
        raise PermissionDenied("Only the course's instructors may release its grades.")
    return exam


def access_sitting_for_release_preview(user: AnyUser, exam_id: int, sitting_id: int) -> Sitting:
    """A sitting of the exam, for its instructors to preview the student's released results
    (before or after release); Http404 for a sitting of another exam."""
    from exams.models import Sitting

    exam = access_exam_for_release(user, exam_id)
    sitting = Sitting.objects.select_related("exam__course", "student").filter(pk=sitting_id, exam=exam).first()
    if sitting is None:
        raise Http404("No such sitting.")
    return sitting


def access_released_score_for_student(user: AnyUser, sitting_id: int, score_id: int) -> AnswerScore:
    """A score of the student's own sitting, once the exam's grades are released (a regrade
    request is made on it); Http404 before release, and for anyone else's."""
    from grading.models import AnswerScore

    sitting = access_released_sitting_for_student(user, sitting_id)
    score = AnswerScore.objects.select_related("question").filter(pk=score_id, sitting=sitting).first()
    if score is None:
        raise Http404("No such answer.")
    return score


def access_regrade_for_grader(user: AnyUser, request_id: int) -> RegradeRequest:
    """A regrade request the user may answer: its course's instructors and TAs (Http404 for
    anyone else)."""
    from grading.models import RegradeRequest

    request = (
        RegradeRequest.objects.select_related("score__question__exam__course", "score__sitting")
        .filter(pk=request_id)
        .first()
    )
    if request is None or not can_view_course_exams(user, request.score.question.exam.course_id):
        raise Http404("No such regrade request.")
    return request


# --- the review API (grading/review_api.py) ---------------------------------------------------------

if TYPE_CHECKING:
    from grading.models import Evaluation, RubricItem


def access_evaluation_for_grader(user: AnyUser, evaluation_id: int) -> Evaluation:
    """An evaluation the user may read and grade: its course's instructors and TAs (Http404
    for anyone else, students included)."""
    from grading.models import Evaluation

    evaluation = (
        Evaluation.objects.select_related("question__exam__course", "score", "graded_by", "claimed_by")
        .filter(pk=evaluation_id)
        .first()
    )
    if evaluation is None or not can_view_course_exams(user, evaluation.question.exam.course_id):
        raise Http404("No such evaluation.")
    return evaluation


def access_rubric_item_for_grader(user: AnyUser, item_id: int) -> RubricItem:
    """An active rubric item the user may edit (its course's staff); Http404 otherwise, and for
    a deleted (inactive) item, which stays on record only for the audit."""
    from grading.models import RubricItem

    item = RubricItem.objects.select_related("rubric__question__exam").filter(pk=item_id, active=True).first()
    if item is None or not can_view_course_exams(user, item.rubric.question.exam.course_id):
        raise Http404("No such rubric item.")
    return item


def regrades_for_grader(user: AnyUser) -> QuerySet[RegradeRequest]:
    """Regrade requests on the exams of the courses the user grades (their staff)."""
    from grading.models import RegradeRequest

    return RegradeRequest.objects.filter(score__question__exam__in=exams_for_staff(user))


def regrades_for_student(user: AnyUser) -> QuerySet[RegradeRequest]:
    """The user's own regrade requests."""
    from grading.models import RegradeRequest

    if not _real(user):
        return RegradeRequest.objects.none()
    return RegradeRequest.objects.filter(student_id=_uid(user))


# --- rubrics and answer groups (issue 5) ---------------------------------------------------------
#
# Who edits a rubric: whoever grades with it, the course's instructors and TAs alike (as
# Gradescope lets TAs edit). TAs meet the cases a rubric lacks while grading, and waiting for an
# instructor would stall the queue. Nothing is lost by it: every change of points an edit causes is
# a GradeEvent naming the editor, and a deleted item stays on record, inactive. Students and other
# courses' staff get 404 for every rubric and group page.

if TYPE_CHECKING:
    from grading.models import AnswerGroup, RubricItem


def may_edit_rubric(user: AnyUser, course: Course | int) -> bool:
    """May add, change, reorder and delete rubric items and change a rubric's settings:
    the course's instructors and TAs (and superusers)."""
    return can_view_course_exams(user, course)


def access_question_for_rubric_editor(user: AnyUser, question_id: int) -> Question:
    """A question whose rubric the user may edit; Http404 outside the user's courses, and for a
    question that takes no answer (a group of sub-questions has no rubric)."""
    question = access_question_for_grader(user, question_id)
    if question.is_group:
        raise Http404("No such question.")
    if not may_edit_rubric(user, question.exam.course_id):
        raise PermissionDenied("Only the course's graders may edit this rubric.")
    return question


def access_rubric_item_for_editor(user: AnyUser, question_id: int, item_id: int) -> RubricItem:
    """An active item of the question's rubric, if the user may edit that rubric; Http404 otherwise."""
    from grading.models import RubricItem

    question = access_question_for_rubric_editor(user, question_id)
    item = (
        RubricItem.objects.select_related("rubric__question")
        .filter(pk=item_id, rubric__question=question, active=True)
        .first()
    )
    if item is None:
        raise Http404("No such rubric item.")
    return item


def access_answer_group_for_grader(user: AnyUser, question_id: int, group_id: int) -> AnswerGroup:
    """A group of identical answers to the question, if the user may grade the question; Http404 otherwise."""
    from grading.models import AnswerGroup

    question = access_question_for_grader(user, question_id)
    group = AnswerGroup.objects.select_related("question__exam__course").filter(pk=group_id, question=question).first()
    if group is None:
        raise Http404("No such group of answers.")
    return group


def may_see_released_results(user: AnyUser, sitting: Sitting) -> bool:
    """Whether the student may open their results of this sitting (their own, once the exam's
    grades are released): the pages that link there ask this."""
    from grading.models import GradeRelease

    return (
        _real(user)
        and sitting.student_id == _uid(user)
        and GradeRelease.objects.filter(exam_id=sitting.exam_id).exists()
    )


# --- exam day: the proctor page and its actions (issue 6) ------------------------------------------
#
# Who may do what on exam day. The course's instructors and TAs (and superusers) read the proctor
# page and its rows; everyone else gets 404, students included, so another course's exam does not
# exist for them. Of the actions, TAs proctor rooms and take the ones a room needs at once and that
# only ever give a student more: extending one student's time, and publishing a clarification.
# Only instructors take the ones that change an exam's rules or a student's record: standing
# accommodations, voiding or reopening a sitting, extending or closing the window for everyone,
# changing the access code. A TA asking for those gets 403. Every action is audited (ProctorAction).

if TYPE_CHECKING:
    from exams.models import ProctorActionKind

# Values of exams.models.ProctorActionKind (named here without importing the model module).
PROCTOR_ACTIONS_FOR_TAS = frozenset({"extend", "clarification"})
PROCTOR_ACTIONS_FOR_INSTRUCTORS = frozenset(
    {"extend", "clarification", "accommodation", "void", "reopen", "window_extend", "window_close", "access_code"}
)


def may_proctor(user: AnyUser, course: Course | int, action: ProctorActionKind | str) -> bool:
    """May take the proctor ``action`` (a ProctorActionKind value) in the course: instructors
    (and superusers) all of them, TAs those in PROCTOR_ACTIONS_FOR_TAS."""
    if not _real(user):
        return False
    if user.is_superuser:
        return str(action) in PROCTOR_ACTIONS_FOR_INSTRUCTORS
    role = course_role(user, course)
    if role == Role.INSTRUCTOR:
        return str(action) in PROCTOR_ACTIONS_FOR_INSTRUCTORS
    if role == Role.TA:
        return str(action) in PROCTOR_ACTIONS_FOR_TAS
    return False


def proctor_actions_allowed(user: AnyUser, course: Course | int) -> frozenset[str]:
    """The proctor actions the user may take in the course (one query), for a page to show only
    the forms that will be accepted."""
    if not _real(user):
        return frozenset()
    if user.is_superuser:
        return PROCTOR_ACTIONS_FOR_INSTRUCTORS
    role = course_role(user, course)
    if role == Role.INSTRUCTOR:
        return PROCTOR_ACTIONS_FOR_INSTRUCTORS
    if role == Role.TA:
        return PROCTOR_ACTIONS_FOR_TAS
    return frozenset()


def access_exam_for_proctor(user: AnyUser, exam_id: int, *, action: ProctorActionKind | str | None = None) -> Exam:
    """The exam whose proctor page the user may read (its course's staff), and with ``action``
    take that proctor action on it.

    Http404 outside the user's courses (students included); PermissionDenied when the user is
    on the course's staff but may not take ``action`` (a TA voiding a sitting)."""
    exam = access_exam_for_staff(user, exam_id)
    if action is not None and not may_proctor(user, exam.course_id, action):
        raise PermissionDenied("Only the course's instructors may do that.")
    return exam


def access_student_for_proctor(user: AnyUser, exam: Exam, student_id: int) -> User:
    """A student of the exam's course as the proctor page shows them: on its roster as a student
    (dropped students too, when they have a sitting of the exam). The caller has checked the
    exam with ``access_exam_for_proctor``; Http404 for anyone else."""
    from exams.models import Sitting

    membership = (
        Membership.objects.select_related("user")
        .filter(course_id=exam.course_id, user_id=student_id, role=Role.STUDENT)
        .order_by()
        .first()
    )
    if membership is None:
        raise Http404("No such student.")
    if not membership.active and not Sitting.objects.filter(exam=exam, student_id=student_id).exists():
        raise Http404("No such student.")
    return membership.user


# --- exam day: clarifications (issue 6) -----------------------------------------------------------
#
# Who publishes a clarification: the course's instructors and TAs (the proctor rules above: it is
# one of PROCTOR_ACTIONS_FOR_TAS). On exam day TAs are the ones in the rooms answering students'
# questions; making them wait for an instructor to relay an answer costs everyone time, and a
# clarification changes no grade or key. Every publication is a ProctorAction naming its author,
# and nothing is ever edited or deleted (a correction is a new clarification). Students, and the
# staff of other courses, get 404 for the page.


def may_publish_clarification(user: AnyUser, course: Course | int) -> bool:
    """May publish clarifications of the course's exams: its instructors and TAs (and superusers)."""
    return may_proctor(user, course, "clarification")


def access_exam_for_clarifications(user: AnyUser, exam_id: int) -> Exam:
    """The exam whose clarifications the user may read and publish (its course's staff);
    Http404 for anyone else, students included."""
    return access_exam_for_proctor(user, exam_id, action="clarification")
