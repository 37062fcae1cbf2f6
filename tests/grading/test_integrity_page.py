"""The integrity report's page and CSV: who may see them, what they show, and a download that a
spreadsheet cannot turn into formulas. The exam is ``copied_exam`` (tests/grading/integrity_data.py):
Pia and Quinn share eight wrong answers (flagged), and Tom's sitting was taken over from a second
address."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Course, Role, User
from tests.factories import UserFactory, member
from tests.grading.integrity_data import COPIED_P, EVIL_NAME, SatExam, copied_exam
from tests.grading.results_data import small_exam

pytestmark = pytest.mark.django_db


@pytest.fixture
def copied(course: Course) -> SatExam:
    return copied_exam(course)


@pytest.fixture
def other_ta(other_course: Course) -> User:
    user = UserFactory.create(net_id="dana", full_name="Dana Lee")
    member(user, other_course, Role.TA)
    return user


def page(client: Client, user: User, exam_id: int) -> str:
    client.force_login(user)
    response = client.get(reverse("grading:integrity", args=[exam_id]))
    assert response.status_code == 200
    return response.content.decode()


def table_row(html: str, attribute: str, value: str) -> list[str]:
    found = re.search(rf'<tr {attribute}="{re.escape(value)}">(.*?)</tr>', html, re.S)
    assert found, f"no row {attribute}={value}"
    return [
        " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", found.group(1), re.S)
    ]


# --- who may see it -----------------------------------------------------------------------------


def test_instructors_and_tas_of_the_course_see_the_report(
    client: Client, copied: SatExam, instructor: User, ta: User
) -> None:
    for user in (instructor, ta):
        assert "Integrity report: Midterm Exam" in page(client, user, copied.exam.pk)
        response = client.get(reverse("grading:integrity-csv", args=[copied.exam.pk]))
        assert response.status_code == 200


@pytest.mark.parametrize("name", ["integrity", "integrity-csv"])
def test_students_and_other_courses_staff_get_404(
    client: Client, copied: SatExam, student: User, other_instructor: User, other_ta: User, name: str
) -> None:
    pia = copied.sittings["pia"].student
    for user in (student, pia, other_instructor, other_ta):
        client.force_login(user)
        assert client.get(reverse(f"grading:{name}", args=[copied.exam.pk])).status_code == 404, user
    client.force_login(other_ta)
    assert client.get(reverse(f"grading:{name}", args=[copied.exam.pk + 1000])).status_code == 404


@pytest.mark.parametrize("name", ["integrity", "integrity-csv"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, copied: SatExam, name: str) -> None:
    response = client.get(reverse(f"grading:{name}", args=[copied.exam.pk]))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_only_get_is_allowed(client: Client, copied: SatExam, instructor: User) -> None:
    client.force_login(instructor)
    assert client.post(reverse("grading:integrity", args=[copied.exam.pk])).status_code == 405


# --- what the page shows --------------------------------------------------------------------------


def test_the_page_shows_both_tables_with_links_to_the_sittings(
    client: Client, copied: SatExam, instructor: User
) -> None:
    html = page(client, instructor, copied.exam.pk)

    assert "A flag is a reason to look, not proof." in html
    assert "1 of 6 sittings flagged." in html
    tom = copied.sittings["tom"]
    assert table_row(html, "data-sitting", str(tom.pk)) == [
        "=HYPERLINK(&quot;http://x&quot;) (tom)",
        "Submitted",
        "0",
        "0",
        "0",
        "1",
        "10.0.0.7 192.168.4.20",
        "Seen from 2 IP addresses Another tab or device took the sitting over",
        f"Sitting {tom.pk}",
    ]
    assert f'href="{reverse("admin:exams_sitting_change", args=[tom.pk])}"' in html

    pia, quinn = copied.sittings["pia"], copied.sittings["quinn"]
    assert "6 scored sittings (15 pairs) compared on 8 auto-scored questions" in html
    assert table_row(html, "data-pair", f"{pia.pk}-{quinn.pk}") == [
        "Pia (pia) Quinn (quinn)",
        "8",
        "8",
        "2.24",
        "3.78 × 10⁻⁵",
        "5.67 × 10⁻⁴",
        "1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8",
        "Flagged",
    ]
    for sitting in (pia, quinn):
        assert f'href="{reverse("admin:exams_sitting_change", args=[sitting.pk])}"' in html
    assert f'href="{reverse("grading:integrity-csv", args=[copied.exam.pk])}"' in html


def test_the_page_holds_under_the_strict_csp(client: Client, copied: SatExam, ta: User) -> None:
    html = page(client, ta, copied.exam.pk)
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<[^>]+\son[a-z]+=", html)
    for tag in re.findall(r"<script[^>]*>", html):
        assert " src=" in tag, tag


def test_an_exam_nobody_sat_says_so(client: Client, course: Course, instructor: User) -> None:
    exam = small_exam(course)
    html = page(client, instructor, exam.pk)
    assert "0 of 0 sittings flagged." in html and "No sitting raised a flag." in html
    assert "it appears once at least two sittings are scored" in html


def test_the_results_page_links_to_the_report(client: Client, copied: SatExam, ta: User) -> None:
    client.force_login(ta)
    html = client.get(reverse("grading:results", args=[copied.exam.pk])).content.decode()
    assert f'href="{reverse("grading:integrity", args=[copied.exam.pk])}"' in html


# --- the CSV ------------------------------------------------------------------------------------


def test_the_csv_has_both_tables_with_a_kind_column(client: Client, copied: SatExam, ta: User) -> None:
    client.force_login(ta)
    response = client.get(reverse("grading:integrity-csv", args=[copied.exam.pk]))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="cse493g1-sp23-exam{copied.exam.pk}-integrity.csv"'
    )
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    assert text.splitlines()[0].removeprefix("\ufeff").startswith("kind,sitting,net_id,name,status,")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [row["kind"] for row in rows] == ["sitting", "pair"]
    tom, pair = rows
    assert tom == {
        "kind": "sitting",
        "sitting": str(copied.sittings["tom"].pk),
        "net_id": "tom",
        "name": "'" + EVIL_NAME,  # shown as text, never run as a formula
        "status": "submitted",
        "focus_losses": "0",
        "visibility_changes": "0",
        "pastes": "0",
        "takeovers": "1",
        "ip_addresses": "10.0.0.7 192.168.4.20",
        "other_sitting": "",
        "other_net_id": "",
        "other_name": "",
        "identical_wrong_answers": "",
        "both_wrong": "",
        "expected_by_chance": "",
        "p_value": "",
        "adjusted_p_value": "",
        "questions": "",
        "flagged": "yes",
        "reasons": "Seen from 2 IP addresses; Another tab or device took the sitting over",
    }
    assert {key: pair[key] for key in ("sitting", "net_id", "other_sitting", "other_net_id", "flagged")} == {
        "sitting": str(copied.sittings["pia"].pk),
        "net_id": "pia",
        "other_sitting": str(copied.sittings["quinn"].pk),
        "other_net_id": "quinn",
        "flagged": "yes",
    }
    assert (pair["identical_wrong_answers"], pair["both_wrong"], pair["expected_by_chance"]) == ("8", "8", "2.240")
    assert float(pair["p_value"]) == pytest.approx(COPIED_P, rel=1e-2)
    assert float(pair["adjusted_p_value"]) == pytest.approx(15 * COPIED_P, rel=1e-2)
    assert pair["questions"] == "1.1 1.2 1.3 1.4 1.5 1.6 1.7 1.8"
    assert pair["focus_losses"] == pair["status"] == ""


def test_every_text_cell_is_neutralised(client: Client, copied: SatExam, instructor: User) -> None:
    client.force_login(instructor)
    text = client.get(reverse("grading:integrity-csv", args=[copied.exam.pk])).content.decode("utf-8-sig")
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
