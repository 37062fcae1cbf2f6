"""The roster and user-management rules in accounts.access."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import access
from accounts.models import Course, Membership, User
from tests.factories import UserFactory


@pytest.fixture
def root(db: None) -> User:
    return UserFactory.create(net_id="root", is_superuser=True)


def test_only_superusers_manage_users(root: User, instructor: User, ta: User, student: User) -> None:
    assert access.can_manage_users(root)
    for user in (instructor, ta, student, AnonymousUser()):
        assert not access.can_manage_users(user)
    User.objects.filter(pk=root.pk).update(is_active=False)
    root.refresh_from_db()
    assert not access.can_manage_users(root)


def test_roster_rights_by_role(
    course: Course, other_course: Course, root: User, instructor: User, ta: User, student: User, other_instructor: User
) -> None:
    rights = {
        user.net_id: (access.can_view_roster(user, course), access.can_manage_roster(user, course.pk))
        for user in (root, instructor, ta, student, other_instructor)
    }

    assert rights == {
        "root": (True, True),
        "mrivera": (True, True),
        "jchen": (True, False),
        "alice": (False, False),
        "charlie": (False, False),
    }
    assert not access.can_view_roster(AnonymousUser(), course)


def test_an_inactive_membership_grants_nothing(course: Course, instructor: User) -> None:
    Membership.objects.filter(user=instructor).update(active=False)

    assert not access.can_manage_roster(instructor, course)
    assert not access.can_view_roster(instructor, course)
    assert not access.memberships_for_staff(instructor).exists()


def test_staff_read_the_memberships_of_their_courses_only(
    course: Course,
    other_course: Course,
    root: User,
    instructor: User,
    ta: User,
    student: User,
    other_student: User,
    other_instructor: User,
) -> None:
    def seen(user: User | AnonymousUser) -> set[str]:
        memberships = access.memberships_for_staff(user).select_related("user", "course")
        return {f"{m.user.net_id}@{m.course.code}" for m in memberships}

    ours = {f"{n}@{course.code}" for n in ("mrivera", "jchen", "alice", "bob")}
    assert seen(instructor) == seen(ta) == ours
    assert seen(other_instructor) == {f"charlie@{other_course.code}"}
    assert seen(root) == ours | {f"charlie@{other_course.code}"}
    assert seen(student) == set()
    assert seen(AnonymousUser()) == set()
