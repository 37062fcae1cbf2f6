"""The accounts admin: roster upload, memberships and users, by course role (through HTTP)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Course, Membership, Role, User
from tests.factories import UserFactory

ROSTER = (
    "Student,ID,SIS User ID,SIS Login ID,Section\n"
    "    Points Possible,,,,\n"
    '"Nguyen, Dana",1,,dnguyen,CSE 493 G1 AA\n'
    '"Lives, Nine",2,,9lives,CSE 493 G1 AB\n'
)


def upload(text: str = ROSTER) -> SimpleUploadedFile:
    return SimpleUploadedFile("roster.csv", text.encode("utf-8"), content_type="text/csv")


def import_url(course: Course) -> str:
    return reverse("admin:accounts_course_import_roster", args=[course.pk])


def test_an_instructor_imports_their_courses_roster(client: Client, course: Course, instructor: User) -> None:
    client.force_login(instructor)
    assert client.get(import_url(course)).status_code == 200

    response = client.post(import_url(course), {"file": upload()})

    assert response.status_code == 200
    page = response.content.decode()
    assert "1 created, 0 updated, 0 unchanged, 0 dropped, 1 refused, 1 skipped" in page
    assert "“9lives” is not a UW NetID" in page
    assert Membership.objects.filter(course=course, user__net_id="dnguyen", quiz_section="AA").exists()


def test_the_upload_needs_a_csrf_token(course: Course, instructor: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(instructor)

    response = client.post(import_url(course), {"file": upload()})

    assert response.status_code == 403
    assert not User.objects.filter(net_id="dnguyen").exists()


def test_an_unusable_file_shows_an_error_and_changes_nothing(client: Client, course: Course, instructor: User) -> None:
    client.force_login(instructor)

    response = client.post(import_url(course), {"file": upload("Name,NetID\nDana,dnguyen\n")})

    assert response.status_code == 200
    assert "This file is not a usable roster: line 1: the header has no" in response.content.decode()
    assert not User.objects.filter(net_id="dnguyen").exists()


def test_an_instructor_of_another_course_gets_404(client: Client, course: Course, other_instructor: User) -> None:
    client.force_login(other_instructor)

    assert client.get(import_url(course)).status_code == 404
    assert client.post(import_url(course), {"file": upload()}).status_code == 404
    assert not User.objects.filter(net_id="dnguyen").exists()


def test_a_ta_may_not_import(client: Client, course: Course, ta: User) -> None:
    client.force_login(ta)

    assert client.get(import_url(course)).status_code == 403
    assert client.post(import_url(course), {"file": upload()}).status_code == 403
    assert not User.objects.filter(net_id="dnguyen").exists()


def test_students_and_visitors_never_reach_it(client: Client, course: Course, student: User) -> None:
    response = client.get(import_url(course), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:login"))

    client.force_login(student)
    assert client.post(import_url(course), {"file": upload()}, follow=True).status_code == 403
    assert not User.objects.filter(net_id="dnguyen").exists()


def test_the_course_page_offers_the_import_to_instructors_only(
    client: Client, course: Course, instructor: User, ta: User, student: User
) -> None:
    change_url = reverse("admin:accounts_course_change", args=[course.pk])
    client.force_login(instructor)
    page = client.get(change_url).content.decode()
    assert import_url(course) in page
    assert "Alice Nguyen (alice)" in page  # the membership inline

    client.force_login(ta)
    response = client.get(change_url)
    assert response.status_code == 200
    assert import_url(course) not in response.content.decode()


def test_course_staff_see_only_their_courses(
    client: Client, course: Course, other_course: Course, instructor: User, other_instructor: User
) -> None:
    client.force_login(instructor)
    page = client.get(reverse("admin:accounts_course_changelist")).content.decode()
    assert course.code in page
    assert other_course.code not in page
    assert client.get(reverse("admin:accounts_course_change", args=[other_course.pk])).status_code == 302


def test_an_instructor_edits_memberships_of_their_course_only(
    client: Client, course: Course, instructor: User, student: User, other_instructor: User
) -> None:
    membership = Membership.objects.get(course=course, user=student)
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    data = {"role": Role.STUDENT, "quiz_section": "AC", "active": ""}

    client.force_login(other_instructor)
    client.post(url, data)
    membership.refresh_from_db()
    assert (membership.quiz_section, membership.active) == ("AA", True)

    client.force_login(instructor)
    response = client.post(url, data)
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.quiz_section, membership.active) == ("AC", False)


def test_a_ta_reads_memberships_but_cannot_change_them(client: Client, course: Course, ta: User, student: User) -> None:
    membership = Membership.objects.get(course=course, user=student)
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    client.force_login(ta)

    assert client.get(reverse("admin:accounts_membership_changelist")).status_code == 200
    assert client.get(url).status_code == 200
    assert client.post(url, {"role": Role.TA, "quiz_section": "AC", "active": "on"}).status_code == 403
    membership.refresh_from_db()
    assert (membership.role, membership.quiz_section) == (Role.STUDENT, "AA")


def test_memberships_are_never_deleted_in_the_admin(
    client: Client, course: Course, instructor: User, student: User
) -> None:
    membership = Membership.objects.get(course=course, user=student)
    client.force_login(instructor)

    response = client.post(reverse("admin:accounts_membership_delete", args=[membership.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_only_superusers_manage_users(client: Client, course: Course, instructor: User) -> None:
    client.force_login(instructor)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_user_add")).status_code == 403


@pytest.mark.parametrize("typed", ["JDoe", " jdoe@uw.edu "])
def test_a_superuser_creates_a_user_with_a_normalised_net_id(client: Client, db: None, typed: str) -> None:
    root = UserFactory.create(net_id="root", is_superuser=True, is_staff=True)
    client.force_login(root)

    response = client.post(
        reverse("admin:accounts_user_add"),
        {"net_id": typed, "full_name": "Jane Doe", "email": "", "usable_password": "false"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    jane = User.objects.get(net_id="jdoe")
    assert jane.full_name == "Jane Doe"
    assert not jane.has_usable_password()
    assert client.get(reverse("admin:accounts_user_change", args=[jane.pk])).status_code == 200
    assert client.get(reverse("admin:auth_user_password_change", args=[jane.pk])).status_code == 200


def test_a_superuser_changes_a_password_through_djangos_form(client: Client, student: User) -> None:
    root = UserFactory.create(net_id="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    new = "a long new passphrase 42"

    response = client.post(
        reverse("admin:auth_user_password_change", args=[student.pk]),
        {"usable_password": "true", "password1": new, "password2": new},
    )

    assert response.status_code == 302
    student.refresh_from_db()
    assert student.check_password(new)


def test_a_superuser_manages_courses_and_picks_members_from_all_users(
    client: Client, course: Course, student: User
) -> None:
    root = UserFactory.create(net_id="root", is_superuser=True, is_staff=True)
    client.force_login(root)

    assert client.get(reverse("admin:accounts_course_add")).status_code == 200
    page = client.get(reverse("admin:accounts_course_change", args=[course.pk])).content.decode()
    assert 'name="code"' in page  # editable for superusers
    assert "admin-autocomplete" in page  # members are chosen among all users
    assert client.get(reverse("admin:accounts_membership_add")).status_code == 200
