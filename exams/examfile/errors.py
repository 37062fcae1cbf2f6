"""The one exception the exam-file importer raises for a bad file."""

from __future__ import annotations

from collections.abc import Iterable


class ExamFileError(Exception):
    """Everything wrong with an exam file, each with its 1-based line number (or None).

    ``str(error)`` has one line per problem, ``line 12: message``, sorted by line, so a
    command can print it as it is and an instructor can fix the whole file in one pass.
    """

    errors: list[tuple[int | None, str]]

    def __init__(self, errors: Iterable[tuple[int | None, str]]) -> None:
        self.errors = sorted(errors, key=lambda item: item[0] or 0)
        super().__init__("\n".join(format_error(line, message) for line, message in self.errors))


def format_error(line: int | None, message: str) -> str:
    return f"line {line}: {message}" if line is not None else message


class Problems:
    """Collects errors while a file is read, so all of them are reported at once."""

    def __init__(self) -> None:
        self.errors: list[tuple[int | None, str]] = []

    def add(self, line: int | None, message: str) -> None:
        self.errors.append((line, message))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ExamFileError(self.errors)
