"""Roster import from a Canvas roster or gradebook export (the format: docs/roster-import.md).

``roster_import`` is the one writer of course memberships from a file; the admin upload,
``manage.py import_roster`` and the demo loader all call it. It checks no permissions:
callers decide who may import (``accounts.access.can_manage_roster``).

Each line stands alone: a bad line is refused with its number and a reason, and the others
are still applied. Nothing is ever deleted: students missing from the file keep their
record, with an inactive membership.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from accounts.models import Course, Membership, Role, User
from accounts.netid import normalize_net_id, validate_net_id

logger = logging.getLogger(__name__)

# Header names, lowercased; Canvas's gradebook export adds one column per assignment,
# which the import ignores.
COL_STUDENT = "student"
COL_CANVAS_ID = "id"
COL_REGID = "sis user id"
COL_NET_ID = "sis login id"
COL_SECTION = "section"
COL_EMAIL = "email"
COL_ROLE = "role"
REQUIRED_COLUMNS = (COL_STUDENT, COL_NET_ID)
KNOWN_COLUMNS = (COL_STUDENT, COL_CANVAS_ID, COL_REGID, COL_NET_ID, COL_SECTION, COL_EMAIL, COL_ROLE)
COLUMN_TITLES = {
    COL_STUDENT: "Student",
    COL_CANVAS_ID: "ID",
    COL_REGID: "SIS User ID",
    COL_NET_ID: "SIS Login ID",
    COL_SECTION: "Section",
    COL_EMAIL: "Email",
    COL_ROLE: "Role",
}

# UW quiz sections are two letters (AA, AB…); lecture sections are one letter and course
# codes such as "G1" carry a digit, so neither is mistaken for a quiz section.
QUIZ_SECTION_RE = re.compile(r"[A-Za-z]{2}")
SECTION_SEPARATOR_RE = re.compile(r"\s+and\s+|\s*[,;]\s*", re.IGNORECASE)
REGID_RE = re.compile(r"[0-9A-Za-z]{1,32}")
FULL_NAME_MAX = User._meta.get_field("full_name").max_length or 200

ROLE_NAMES: dict[str, Role] = {
    "student": Role.STUDENT,
    "studentenrollment": Role.STUDENT,
    "ta": Role.TA,
    "teaching assistant": Role.TA,
    "taenrollment": Role.TA,
    "instructor": Role.INSTRUCTOR,
    "teacher": Role.INSTRUCTOR,
    "teacherenrollment": Role.INSTRUCTOR,
}
# A roster may raise a role (student → TA) but never lower one (report it instead).
ROLE_RANK = {Role.STUDENT: 0, Role.TA: 1, Role.INSTRUCTOR: 2}

POINTS_POSSIBLE = "points possible"
TEST_STUDENT_NAMES = {"student, test", "test student"}


class RosterFileError(ValueError):
    """The file as a whole is not a readable roster (empty, or a header without the needed columns)."""


@dataclass(frozen=True)
class RefusedRow:
    """A line of the file that was not applied: its number (from 1, the header is line 1), text and why."""

    line: int
    raw: str
    reason: str


@dataclass
class RosterReport:
    """What an import did.

    ``created``, ``updated`` and ``unchanged`` count the applied lines by what happened to
    the membership (or the user) they name. ``skipped`` holds lines set aside on purpose
    (Canvas's "Points Possible" row, its test student); ``refused`` the lines in error.
    ``dropped`` lists the NetIDs of students whose membership was made inactive because the
    file no longer names them; ``renamed`` the (old, new) NetIDs changed through a RegID;
    ``roles_kept`` the staff whom the file listed with a lower role.
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[RefusedRow] = field(default_factory=list)
    skipped: list[RefusedRow] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    roles_kept: list[RefusedRow] = field(default_factory=list)
    drops_withheld: bool = False

    @property
    def applied(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.dropped)} dropped, {len(self.refused)} refused, {len(self.skipped)} skipped"
        )

    def lines(self) -> list[str]:
        """The report as plain text lines, every refused line with its reason."""
        out = [self.summary()]
        out += [f"renamed: {old} → {new}" for old, new in self.renamed]
        if self.dropped:
            out.append("dropped (membership now inactive): " + ", ".join(self.dropped))
        if self.drops_withheld:
            out.append("no line was applied, so no student was marked as dropped")
        out += [f"role kept, line {r.line}: {r.reason}" for r in self.roles_kept]
        out += [f"skipped line {r.line}: {r.reason}" for r in self.skipped]
        out += [f"refused line {r.line}: {r.reason}\n    {r.raw}" for r in self.refused]
        return out


@dataclass(frozen=True)
class _Record:
    line: int
    raw: str
    cells: dict[str, str]


@dataclass(frozen=True)
class _Entry:
    """One parsed, validated line: who it names and what the course should record."""

    line: int
    raw: str
    full_name: str
    net_id: str
    regid: str | None
    quiz_section: str | None  # None: the file has no Section column, leave it as it is
    email: str
    role: Role


class _Skip(Exception):
    pass


class _Refuse(Exception):
    def __init__(self, reason: str, *, net_id: str = "", regid: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.net_id = net_id
        self.regid = regid


def roster_decode(data: bytes) -> str:
    """The text of an uploaded roster file; Canvas writes UTF-8, often with a byte-order mark.

    Raises RosterFileError for anything else rather than guessing an encoding and
    garbling names.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RosterFileError(
            f"the file is not UTF-8 text (byte {error.start}); export it from Canvas again or save it as “CSV UTF-8”"
        ) from None


def full_name_from_canvas(student: str) -> str:
    """Canvas's sortable name "Last, First" (or "Last, First, Suffix") as "First Last [Suffix]".

    A name without a comma is kept as written; whitespace is collapsed.
    """
    parts = [p.strip() for p in student.split(",")]
    if len(parts) in (2, 3) and all(parts):
        last, first, *suffix = parts
        student = " ".join([first, last, *suffix])
    elif len(parts) == 2:
        student = " ".join(p for p in parts if p)
    return " ".join(student.split())


def quiz_section_from_canvas(section: str) -> str:
    """The quiz section named by a Canvas section: "CSE 493 G1 AA" → "AA".

    Canvas may list several sections ("CSE 493 G1 A and CSE 493 G1 AA"); the first whose
    last word is two letters wins, upper-cased. Without one, the result is "".
    """
    for part in SECTION_SEPARATOR_RE.split(section.strip()):
        words = part.split()
        if words and QUIZ_SECTION_RE.fullmatch(words[-1]):
            return words[-1].upper()
    return ""


def _records(csv_text: str) -> tuple[list[str], list[_Record]]:
    """The header's known columns and each data line, with its line number and raw text."""
    source = io.StringIO(csv_text.removeprefix("\ufeff"), newline="")
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for text in source:
            consumed.append(text)
            yield text

    reader = csv.reader(lines())
    header: list[str] | None = None
    columns: dict[str, int] = {}
    records: list[_Record] = []
    try:
        for row in reader:
            first_line = reader.line_num - len(consumed) + 1
            raw = "".join(consumed).rstrip("\r\n")
            consumed.clear()
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                for index, name in enumerate(header):
                    if name in KNOWN_COLUMNS:
                        if name in columns:
                            raise RosterFileError(f"the header names the column “{COLUMN_TITLES[name]}” twice")
                        columns[name] = index
                missing = [COLUMN_TITLES[c] for c in REQUIRED_COLUMNS if c not in columns]
                if missing:
                    found = ", ".join(f"“{cell.strip()}”" for cell in row)
                    raise RosterFileError(
                        f"line {first_line}: the header has no {' or '.join(f'“{m}”' for m in missing)} column "
                        f"(found {found}); expected a Canvas roster export with Student, ID, SIS User ID, "
                        "SIS Login ID and Section columns"
                    )
                continue
            cells = {name: (row[index].strip() if index < len(row) else "") for name, index in columns.items()}
            records.append(_Record(line=first_line, raw=raw, cells=cells))
    except csv.Error as error:
        raise RosterFileError(f"line {reader.line_num}: not valid CSV ({error})") from None
    if header is None:
        raise RosterFileError("the file is empty")
    return list(columns), records


def _parse(record: _Record, has_section: bool) -> _Entry:
    """Validate one line; raise _Skip for Canvas's own rows and _Refuse for errors."""
    cells = record.cells
    student = cells.get(COL_STUDENT, "")
    raw_net_id = cells.get(COL_NET_ID, "")
    if student.lower() == POINTS_POSSIBLE:
        raise _Skip("Canvas's “Points Possible” row")
    if student.lower() in TEST_STUDENT_NAMES and not raw_net_id:
        raise _Skip("Canvas's test student (no SIS Login ID)")
    if not any(cells.get(c) for c in (COL_STUDENT, COL_CANVAS_ID, COL_REGID, COL_NET_ID)):
        raise _Skip("no student on this line (no name, ID or NetID)")

    regid = cells.get(COL_REGID, "").upper() or None
    if regid is not None and not REGID_RE.fullmatch(regid):
        raise _Refuse(f"“{cells[COL_REGID]}” in SIS User ID is not a UW RegID: 1–32 letters and digits")
    if not raw_net_id:
        raise _Refuse("missing NetID: the SIS Login ID column is empty", regid=regid)
    net_id = normalize_net_id(raw_net_id)
    try:
        validate_net_id(net_id)
    except ValidationError as error:
        raise _Refuse(error.messages[0].replace(repr(net_id), f"“{raw_net_id}”"), regid=regid) from None

    full_name = full_name_from_canvas(student)
    if not full_name:
        raise _Refuse("missing name: the Student column is empty", net_id=net_id, regid=regid)
    if len(full_name) > FULL_NAME_MAX:
        raise _Refuse(f"the name is longer than {FULL_NAME_MAX} characters", net_id=net_id, regid=regid)

    email = cells.get(COL_EMAIL, "")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise _Refuse(f"“{email}” is not a valid email address", net_id=net_id, regid=regid) from None

    role_text = cells.get(COL_ROLE, "")
    role = ROLE_NAMES.get(" ".join(role_text.lower().split()) or "student")
    if role is None:
        raise _Refuse(f"unknown role “{role_text}”: use student, ta or instructor", net_id=net_id, regid=regid)

    return _Entry(
        line=record.line,
        raw=record.raw,
        full_name=full_name,
        net_id=net_id,
        regid=regid,
        quiz_section=quiz_section_from_canvas(cells.get(COL_SECTION, "")) if has_section else None,
        email=email,
        role=role,
    )


def _apply(entry: _Entry, course: Course, memberships: dict[int, Membership], report: RosterReport) -> User:
    """Create or update the user and their membership; return the user. Raises _Refuse."""
    by_regid = User.objects.filter(uw_regid=entry.regid).first() if entry.regid else None
    by_net_id = User.objects.filter(net_id=entry.net_id).first()
    if by_regid and by_net_id and by_regid.pk != by_net_id.pk:
        raise _Refuse(
            f"RegID {entry.regid} belongs to {by_regid.net_id} ({by_regid.full_name}), but NetID {entry.net_id} "
            f"belongs to another user ({by_net_id.full_name}); an administrator must reconcile the two accounts"
        )
    if by_regid is None and by_net_id and entry.regid and by_net_id.uw_regid:
        raise _Refuse(
            f"NetID {entry.net_id} belongs to a user with another RegID ({by_net_id.uw_regid}), not {entry.regid}"
        )

    user = by_regid or by_net_id
    user_changed = False
    if user is None:
        user = User.objects.create_user(
            entry.net_id,
            password=None,
            full_name=entry.full_name,
            # UW addresses follow the NetID; a file's Email column overrides it.
            email=entry.email or f"{entry.net_id}@uw.edu",
            uw_regid=entry.regid,
        )
    else:
        changed: list[str] = []
        old_net_id = user.net_id
        if user.net_id != entry.net_id:
            user.net_id = entry.net_id
            changed.append("net_id")
        if user.full_name != entry.full_name:
            user.full_name = entry.full_name
            changed.append("full_name")
        if entry.email and user.email != entry.email:
            user.email = entry.email
            changed.append("email")
        if entry.regid and user.uw_regid != entry.regid:
            user.uw_regid = entry.regid
            changed.append("uw_regid")
        if changed:
            user.save(update_fields=changed)
            user_changed = True
        if old_net_id != user.net_id:
            report.renamed.append((old_net_id, user.net_id))

    membership = memberships.get(user.pk)
    if membership is None:
        memberships[user.pk] = Membership.objects.create(
            user=user, course=course, role=entry.role, quiz_section=entry.quiz_section or ""
        )
        report.created += 1
        return user

    changed = []
    current = Role(membership.role)
    if ROLE_RANK[entry.role] > ROLE_RANK[current]:
        membership.role = entry.role
        changed.append("role")
    elif ROLE_RANK[entry.role] < ROLE_RANK[current]:
        report.roles_kept.append(
            RefusedRow(
                entry.line,
                entry.raw,
                f"{entry.net_id} is on the course staff ({current.label}); the file lists them as "
                f"{entry.role.label}, and a roster never lowers a role",
            )
        )
    if entry.quiz_section is not None and membership.quiz_section != entry.quiz_section:
        membership.quiz_section = entry.quiz_section
        changed.append("quiz_section")
    if not membership.active:
        membership.active = True
        changed.append("active")
    if changed:
        membership.save(update_fields=changed)
    if changed or user_changed:
        report.updated += 1
    else:
        report.unchanged += 1
    return user


def _known_user_id(net_id: str, regid: str | None) -> int | None:
    """The user a refused line names, if any, so a typo elsewhere on it does not drop them."""
    if regid:
        found = User.objects.filter(uw_regid=regid).values_list("pk", flat=True).first()
        if found is not None:
            return found
    if net_id:
        return User.objects.filter(net_id=net_id).values_list("pk", flat=True).first()
    return None


def roster_import(*, course: Course, csv_text: str, by: User | None = None) -> RosterReport:
    """Apply a Canvas roster to the course's memberships, in one transaction.

    Users are matched by RegID (SIS User ID) first, so a renamed NetID renames the user,
    then by NetID; unknown people are created without a usable password (they sign in
    through SSO). Re-importing the same file changes nothing. Active students whom the
    file does not name are marked inactive ("dropped"), unless no line of the file could
    be applied. Staff roles are never lowered.

    Raises RosterFileError when the file as a whole is unusable; bad lines are refused in
    the report and never stop the others.
    """
    columns, records = _records(csv_text)
    has_section = COL_SECTION in columns
    report = RosterReport()
    with transaction.atomic():
        # Imports into one course run one at a time: each waits for the course row.
        Course.objects.select_for_update().get(pk=course.pk)
        memberships = {m.user_id: m for m in Membership.objects.filter(course=course)}
        named: set[int] = set()  # users the file names, applied or not: never dropped
        net_id_lines: dict[str, int] = {}
        regid_lines: dict[str, int] = {}
        for record in records:
            net_id, regid = "", None
            try:
                entry = _parse(record, has_section)
                net_id, regid = entry.net_id, entry.regid
                if net_id in net_id_lines:
                    raise _Refuse(f"NetID {net_id} already appears on line {net_id_lines[net_id]}")
                if regid and regid in regid_lines:
                    raise _Refuse(f"RegID {regid} already appears on line {regid_lines[regid]}")
                net_id_lines[net_id] = record.line
                if regid:
                    regid_lines[regid] = record.line
                try:
                    with transaction.atomic():  # a line that cannot be saved leaves nothing behind
                        named.add(_apply(entry, course, memberships, report).pk)
                except IntegrityError:
                    # Another import or edit took this NetID or RegID meanwhile; reload what we hold.
                    memberships.update({m.user_id: m for m in Membership.objects.filter(course=course)})
                    raise _Refuse(
                        "could not be saved: the same person was changed elsewhere at the same time; "
                        "import the file again"
                    ) from None
            except _Skip as skip:
                report.skipped.append(RefusedRow(record.line, record.raw, str(skip)))
            except _Refuse as refusal:
                report.refused.append(RefusedRow(record.line, record.raw, refusal.reason))
                known = _known_user_id(net_id or refusal.net_id, regid or refusal.regid)
                if known is not None:
                    named.add(known)

        leaving = [m for m in memberships.values() if m.role == Role.STUDENT and m.active and m.user_id not in named]
        if report.applied == 0:
            # A file in which no line could be applied is the wrong file, not an empty class.
            report.drops_withheld = bool(leaving)
        else:
            Membership.objects.filter(pk__in=[m.pk for m in leaving]).update(active=False)
            report.dropped = sorted(
                User.objects.filter(pk__in=[m.user_id for m in leaving]).values_list("net_id", flat=True)
            )
    logger.info("roster import into %s by %s: %s", course.code, by.net_id if by else "(command line)", report.summary())
    return report
