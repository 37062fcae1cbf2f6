"""Roster import: creation, re-import, renames, refusals, drops and roles (accounts.roster)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from accounts.models import Course, Membership, Role, User
from accounts.roster import (
    RosterFileError,
    full_name_from_canvas,
    quiz_section_from_canvas,
    roster_import,
)
from tests.factories import UserFactory, member

HEADER = "Student,ID,SIS User ID,SIS Login ID,Section,Homework 1 (451203)"
REGID_ALICE = "D8ADCF82E2212B78536AC2A38BFAA51C"
REGID_BOB = "B9AEEF1B71FD511E0250DC837E062174"


def roster(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def membership(net_id: str, course: Course) -> Membership:
    return Membership.objects.select_related("user").get(user__net_id=net_id, course=course)


CANVAS_EXPORT = roster(
    "    Points Possible,,,,,100.00",
    f'"Nguyen, Alice",7120588,{REGID_ALICE},alice,CSE 493 G1 AA,71.80',
    f'"Okafor, Bob",7120655,{REGID_BOB},BOB@uw.edu,CSE 493 G1 AB,96.85',
    '"Martínez, Sofía",7120743,,smartine,CSE 493 G1 A and CSE 493 G1 AC,74.92',
    '"Student, Test",7122268,,,CSE 493 G1 AA,',
)


def test_import_creates_users_and_memberships(course: Course) -> None:
    report = roster_import(course=course, csv_text=CANVAS_EXPORT)

    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    assert report.refused == []
    assert [(r.line, r.reason) for r in report.skipped] == [
        (2, "Canvas's “Points Possible” row"),
        (6, "Canvas's test student (no SIS Login ID)"),
    ]
    alice = membership("alice", course)
    assert (alice.user.full_name, alice.user.uw_regid) == ("Alice Nguyen", REGID_ALICE)
    assert alice.user.email == "alice@uw.edu"
    assert (alice.role, alice.quiz_section, alice.active) == (Role.STUDENT, "AA", True)
    assert membership("bob", course).quiz_section == "AB"
    sofia = membership("smartine", course)
    assert (sofia.user.full_name, sofia.user.uw_regid, sofia.quiz_section) == ("Sofía Martínez", None, "AC")
    assert not alice.user.has_usable_password()  # they sign in through SSO


def test_reimporting_the_same_file_changes_nothing(course: Course) -> None:
    roster_import(course=course, csv_text=CANVAS_EXPORT)
    users_before = User.objects.count()

    report = roster_import(course=course, csv_text=CANVAS_EXPORT)

    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert report.dropped == []
    assert User.objects.count() == users_before
    assert Membership.objects.filter(course=course).count() == 3


def test_reimport_updates_names_and_sections_without_duplicating(course: Course) -> None:
    roster_import(course=course, csv_text=CANVAS_EXPORT)
    changed = roster(
        f'"Nguyen, Alice Thu",7120588,{REGID_ALICE},alice,CSE 493 G1 AC,71.80',
        f'"Okafor, Bob",7120655,{REGID_BOB},bob,CSE 493 G1 AB,96.85',
        '"Martínez, Sofía",7120743,,smartine,CSE 493 G1 AC,74.92',
    )

    report = roster_import(course=course, csv_text=changed)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    alice = membership("alice", course)
    assert (alice.user.full_name, alice.quiz_section) == ("Alice Thu Nguyen", "AC")
    assert User.objects.filter(full_name__startswith="Alice").count() == 1


def test_a_known_regid_with_a_new_net_id_renames_the_user(course: Course) -> None:
    old = UserFactory.create(net_id="anguyen", full_name="Alice Nguyen", uw_regid=REGID_ALICE)
    member(old, course, Role.STUDENT, quiz_section="AA")

    report = roster_import(
        course=course, csv_text=roster(f'"Nguyen, Alice",7120588,{REGID_ALICE.lower()},alice2,CSE 493 G1 AA,')
    )

    assert report.renamed == [("anguyen", "alice2")]
    assert (report.created, report.updated) == (0, 1)
    old.refresh_from_db()
    assert old.net_id == "alice2"
    assert not User.objects.filter(net_id="anguyen").exists()
    assert Membership.objects.filter(course=course).count() == 1


def test_a_user_found_by_net_id_gets_the_files_regid(course: Course, student: User) -> None:
    report = roster_import(course=course, csv_text=roster(f'"Nguyen, Alice",1,{REGID_ALICE},alice,CSE 493 G1 AA,'))

    student.refresh_from_db()
    assert student.uw_regid == REGID_ALICE
    assert report.updated == 1


def test_bad_lines_are_refused_with_line_numbers_and_reasons_and_the_rest_applied(course: Course) -> None:
    UserFactory.create(net_id="zoe", full_name="Zoe Park", uw_regid="AAAA1111")
    UserFactory.create(net_id="yuki", full_name="Yuki Sato")
    text = roster(
        '"Nguyen, Alice",1,,alice,CSE 493 G1 AA,',  # line 2, fine
        '"Lives, Nine",2,,9lives,CSE 493 G1 AA,',  # 3: not a NetID
        ",3,,carol,CSE 493 G1 AA,",  # 4: no name
        '"Nguyen, Alice",4,,ALICE,CSE 493 G1 AB,',  # 5: duplicate NetID
        '"Sato, Yuki",5,AAAA1111,yuki,CSE 493 G1 AA,',  # 6: RegID of zoe, NetID of yuki
        '"Diaz, Dan",6,,,CSE 493 G1 AA,',  # 7: no NetID
        '"Evans, Eve",7,not-a-regid!,eve,CSE 493 G1 AA,',  # 8: bad RegID
        '"Okafor, Bob",8,,bob,CSE 493 G1 AB,',  # 9, fine
    )

    report = roster_import(course=course, csv_text=text)

    assert report.created == 2
    refused = {r.line: r for r in report.refused}
    assert sorted(refused) == [3, 4, 5, 6, 7, 8]
    assert "“9lives” is not a UW NetID" in refused[3].reason
    assert refused[3].raw == '"Lives, Nine",2,,9lives,CSE 493 G1 AA,'
    assert refused[4].reason == "missing name: the Student column is empty"
    assert refused[5].reason == "NetID alice already appears on line 2"
    assert "RegID AAAA1111 belongs to zoe" in refused[6].reason
    assert refused[7].reason == "missing NetID: the SIS Login ID column is empty"
    assert "is not a UW RegID" in refused[8].reason
    assert set(Membership.objects.filter(course=course).values_list("user__net_id", flat=True)) == {"alice", "bob"}
    assert not User.objects.filter(net_id__in=["9lives", "carol", "eve"]).exists()
    assert membership("alice", course).quiz_section == "AA"  # the first line wins


def test_a_net_id_registered_with_another_regid_is_refused(course: Course) -> None:
    UserFactory.create(net_id="alice", full_name="Alice Nguyen", uw_regid=REGID_BOB)

    report = roster_import(course=course, csv_text=roster(f'"Nguyen, Alice",1,{REGID_ALICE},alice,,'))

    assert [r.line for r in report.refused] == [2]
    assert f"another RegID ({REGID_BOB})" in report.refused[0].reason
    assert not Membership.objects.filter(course=course).exists()


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ('"Nguyen, Alice",1,,alice,CSE 493 G1 AA,,,professor', "unknown role “professor”"),
        ('"Nguyen, Alice",1,,alice,CSE 493 G1 AA,,not-an-email,', "“not-an-email” is not a valid email address"),
    ],
)
def test_optional_columns_are_validated(course: Course, row: str, reason: str) -> None:
    report = roster_import(course=course, csv_text=roster(row, header=HEADER + ",Email,Role"))

    assert len(report.refused) == 1
    assert reason in report.refused[0].reason


def test_email_and_role_columns_are_applied(course: Course) -> None:
    text = roster(
        '"Nguyen, Alice",1,,alice,CSE 493 G1 AA,,alice.nguyen@cs.washington.edu,',
        '"Chen, Jordan",2,,jchen,CSE 493 G1 AB,,,TA',
        header="STUDENT,id,sis user id,SIS LOGIN ID,Section,Homework,Email,Role",
    )

    report = roster_import(course=course, csv_text=text)

    assert report.created == 2
    assert membership("alice", course).user.email == "alice.nguyen@cs.washington.edu"
    assert membership("jchen", course).role == Role.TA


def test_students_missing_from_a_reimport_are_dropped_not_deleted(
    course: Course, student: User, other_student: User
) -> None:
    report = roster_import(course=course, csv_text=roster('"Nguyen, Alice",1,,alice,CSE 493 G1 AA,'))

    assert report.dropped == ["bob"]
    bob = membership("bob", course)
    assert bob.active is False
    assert User.objects.filter(net_id="bob").exists()

    back = roster_import(
        course=course,
        csv_text=roster('"Nguyen, Alice",1,,alice,CSE 493 G1 AA,', '"Okafor, Bob",2,,bob,CSE 493 G1 AB,'),
    )

    assert back.dropped == []
    assert back.updated == 1  # bob's name and membership
    assert membership("bob", course).active is True


def test_a_refused_line_does_not_drop_the_student_it_names(course: Course, student: User, other_student: User) -> None:
    text = roster(
        '"Nguyen, Alice",1,,alice,CSE 493 G1 AA,,',
        '"Okafor, Bob",2,,bob,CSE 493 G1 AB,,bob at uw',
        header=HEADER + ",Email",
    )

    report = roster_import(course=course, csv_text=text)

    assert [r.line for r in report.refused] == [3]
    assert report.dropped == []
    assert membership("bob", course).active is True


def test_a_file_with_no_applicable_line_drops_nobody(course: Course, student: User, other_student: User) -> None:
    report = roster_import(course=course, csv_text=roster('"Nobody, Valid",1,,9bad,CSE 493 G1 AA,'))

    assert report.dropped == []
    assert report.drops_withheld is True
    assert Membership.objects.filter(course=course, active=True).count() == 2
    assert "no student was marked as dropped" in "\n".join(report.lines())


def test_a_roster_never_lowers_a_staff_role(course: Course, instructor: User, ta: User, student: User) -> None:
    text = roster(
        '"Rivera, Maya",1,,mrivera,CSE 493 G1 A,,student',
        '"Chen, Jordan",2,,jchen,CSE 493 G1 AA,,',
        '"Nguyen, Alice",3,,alice,CSE 493 G1 AA,,ta',
        header=HEADER + ",Role",
    )

    report = roster_import(course=course, csv_text=text)

    assert membership("mrivera", course).role == Role.INSTRUCTOR
    assert membership("jchen", course).role == Role.TA
    assert membership("alice", course).role == Role.TA  # raising a role is fine
    assert [(r.line, r.reason.split(";")[0]) for r in report.roles_kept] == [
        (2, "mrivera is on the course staff (Instructor)"),
        (3, "jchen is on the course staff (TA)"),
    ]


def test_staff_missing_from_the_file_are_not_dropped(course: Course, instructor: User, student: User) -> None:
    report = roster_import(course=course, csv_text=roster('"Nguyen, Alice",1,,alice,CSE 493 G1 AA,'))

    assert report.dropped == []
    assert membership("mrivera", course).active is True


def test_other_courses_are_untouched(course: Course, other_course: Course) -> None:
    bob = UserFactory.create(net_id="bob", full_name="Bob Okafor")
    member(bob, other_course, Role.STUDENT, quiz_section="BB")

    roster_import(course=course, csv_text=roster('"Nguyen, Alice",1,,alice,CSE 493 G1 AA,'))

    assert membership("bob", other_course).active is True
    assert membership("bob", other_course).quiz_section == "BB"


def test_without_a_section_column_quiz_sections_are_kept(course: Course, student: User) -> None:
    no_section = "Student,ID,SIS User ID,SIS Login ID"
    roster_import(course=course, csv_text=roster('"Nguyen, Alice",1,,alice', header=no_section))

    assert membership("alice", course).quiz_section == "AA"


def test_line_numbers_count_physical_lines_with_bom_crlf_and_multiline_cells(course: Course) -> None:
    text = (
        "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Notes\r\n"
        '"Nguyen, Alice",1,,alice,CSE 493 G1 AA,"two\r\nlines"\r\n'
        "\r\n"
        '"Bad, Net",2,,Bad_Id,CSE 493 G1 AA,\r\n'
    )

    report = roster_import(course=course, csv_text=text)

    assert report.created == 1
    assert [(r.line, r.raw) for r in report.refused] == [(5, '"Bad, Net",2,,Bad_Id,CSE 493 G1 AA,')]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("Student,ID,SIS User ID,Section\n", "the header has no “SIS Login ID” column"),
        ("Name,NetID\nAlice,alice\n", "the header has no “Student” or “SIS Login ID” column"),
        ("Student,SIS Login ID,student\n", "names the column “Student” twice"),
    ],
)
def test_an_unusable_file_is_refused_as_a_whole(course: Course, text: str, message: str) -> None:
    with pytest.raises(RosterFileError, match=message):
        roster_import(course=course, csv_text=text)
    assert not Membership.objects.filter(course=course).exists()


@pytest.mark.parametrize(
    ("section", "quiz_section"),
    [
        ("CSE 493 G1 AA", "AA"),
        ("AB", "AB"),
        ("cse 493 g1 ac", "AC"),
        ("CSE 493 G1 A", ""),
        ("CSE 493 G1", ""),
        ("CSE 493 G1 A and CSE 493 G1 AB", "AB"),
        ("CSE 493 G1 A, CSE 493 G1 BC", "BC"),
        ("", ""),
    ],
)
def test_quiz_section_rule(section: str, quiz_section: str) -> None:
    assert quiz_section_from_canvas(section) == quiz_section


@pytest.mark.parametrize(
    ("student", "full_name"),
    [
        ("Nguyen, Alice", "Alice Nguyen"),
        ("García Márquez,  Gabriel ", "Gabriel García Márquez"),
        ("Smith, John, Jr.", "John Smith Jr."),
        ("Alice Nguyen", "Alice Nguyen"),
        ("Cher,", "Cher"),
        ("", ""),
    ],
)
def test_canvas_sortable_names_become_first_last(student: str, full_name: str) -> None:
    assert full_name_from_canvas(student) == full_name


def test_a_line_that_cannot_be_saved_is_refused_and_leaves_nothing(
    course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    create = Membership.objects.create

    def clash(**fields: object) -> Membership:
        if getattr(fields["user"], "net_id", "") == "bob":
            raise IntegrityError("duplicate key value violates unique constraint")
        return create(**fields)

    monkeypatch.setattr(Membership.objects, "create", clash)
    text = roster('"Nguyen, Alice",1,,alice,CSE 493 G1 AA,', '"Okafor, Bob",2,,bob,CSE 493 G1 AB,')

    report = roster_import(course=course, csv_text=text)

    assert report.created == 1
    assert [(r.line, r.reason.split(":")[0]) for r in report.refused] == [(3, "could not be saved")]
    assert not User.objects.filter(net_id="bob").exists()  # the user created on that line was rolled back
    assert membership("alice", course).active
