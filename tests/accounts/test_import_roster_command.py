"""``manage.py import_roster``: prints the report; fails only when the file or course is unusable."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Course, Membership

ROSTER = (
    "Student,ID,SIS User ID,SIS Login ID,Section\n"
    "    Points Possible,,,,\n"
    '"Nguyen, Alice",1,,alice,CSE 493 G1 AA\n'
    '"Lives, Nine",2,,9lives,CSE 493 G1 AB\n'
)


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_roster", *args, stdout=out)
    return out.getvalue()


def test_the_command_imports_and_prints_every_refused_line(course: Course, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")

    output = run(course.code, str(path))

    assert "1 created, 0 updated, 0 unchanged, 0 dropped, 1 refused, 1 skipped" in output
    assert "refused line 4: “9lives” is not a UW NetID" in output
    assert '"Lives, Nine",2,,9lives,CSE 493 G1 AB' in output
    assert "skipped line 2: Canvas's “Points Possible” row" in output
    assert Membership.objects.get(course=course).user.net_id == "alice"


def test_an_unknown_course_is_an_error(db: None, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")

    with pytest.raises(CommandError, match="No course with code “cse999-xx”"):
        run("cse999-xx", str(path))


def test_a_missing_file_is_an_error(course: Course, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"Cannot read .*nope\.csv: No such file"):
        run(course.code, str(tmp_path / "nope.csv"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('Student,SIS Login ID\n"Müller, Jörg",jmuller\n'.encode("latin-1"), "not UTF-8 text"),
        (b"Name,Email\nAlice,alice@uw.edu\n", "no .*SIS Login ID.* column"),
    ],
)
def test_an_unreadable_file_is_an_error(course: Course, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(content)

    with pytest.raises(CommandError, match=message):
        run(course.code, str(path))
    assert not Membership.objects.filter(course=course).exists()
