"""DRF permission classes for the authoring API.

They only translate HTTP methods into questions for ``accounts.access``; the rules (who
reads, who writes) live there. Visibility is the querysets' job: an object outside the
user's courses is never fetched, so it is a 404 before any of this runs.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts import access
from exams.models import Exam, Question, Section


def authoring_course_id(obj: Exam | Section | Question) -> int:
    """The course whose roles decide access to an authoring object."""
    if isinstance(obj, Exam):
        return obj.course_id
    return obj.exam.course_id


class CourseAuthoring(BasePermission):
    """Course staff read; only the course's instructors write (TAs get 403).

    Writes that create something (no object yet) need the user to instruct some course;
    which course, the view checks once the request names it.
    """

    message = "Only the course's instructors may change its exams; TAs can read them."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        # Reads are filtered by the querysets, and writes to an object are decided per
        # object, after the lookup, so a student or another course's staff gets a 404.
        if request.method in SAFE_METHODS or getattr(view, "detail", False):
            return True
        return access.is_course_author(user)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        course_id = authoring_course_id(obj)
        if request.method in SAFE_METHODS:
            return access.can_view_course_exams(request.user, course_id)
        return access.can_author_course(request.user, course_id)
