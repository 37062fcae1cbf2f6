"""Issue 3, item 11: no acknowledged answer is lost when the app server is SIGKILLed mid-save.

The test runs benchmarks/durability.py, which owns its throw-away PostgreSQL database, its
gunicorn and its simulated students (see that file), and reads the counts it prints. A second
run injects lost writes into the database to prove the check can see a lost answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.durability import lost_answers

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "durability.py"


def run_durability(*args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        pytest.fail(f"The durability test needs PostgreSQL: set DATABASE_URL=postgres://... (it is {database_url!r})")
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(done.stdout, done.stderr, sep="\n")  # shown by pytest when the test fails
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not results:
        pytest.fail(f"durability.py printed no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done, json.loads(results[-1].removeprefix("RESULT "))


def test_no_acknowledged_answer_is_lost_when_the_server_is_killed() -> None:
    done, counts = run_durability("--students", "100", "--duration", "30", "--kills", "3")

    assert counts["lost"] == 0, done.stderr
    assert counts["kills"] == 3
    assert counts["stored"] == counts["acknowledged"] > 0
    assert counts["sent"] >= counts["acknowledged"]
    assert counts["unexpected"] == counts["corrupt"] == counts["unacknowledged_at_end"] == 0
    assert done.returncode == 0, done.stderr


def test_the_check_sees_answers_the_database_did_not_keep() -> None:
    done, counts = run_durability("--students", "20", "--duration", "5", "--kills", "0", "--inject-lost-updates", "0.2")

    assert counts["lost"] > 0
    assert counts["stored"] == counts["acknowledged"] - counts["lost"]
    assert done.returncode == 1
    assert "acknowledged answers are not in the database" in done.stderr


def test_lost_answers_compares_each_acknowledgement_with_the_stored_answer_and_its_history() -> None:
    acknowledged = {(1, 10, 3): "c", (1, 11, 4): "d", (1, 12, 5): "e", (2, 10, 6): "f", (2, 11, 7): "g"}
    stored = {(1, 10): (9, "newer"), (1, 11): (4, "d"), (1, 12): (5, "other"), (2, 10): (5, "older")}
    revisions = {(1, 10, 3): "c", (1, 11, 4): "d", (1, 12, 5): "e", (2, 10, 6): "f"}

    assert lost_answers(acknowledged, stored, revisions) == [(1, 12, 5), (2, 10, 6), (2, 11, 7)]
    assert lost_answers({(1, 11, 4): "d"}, stored, {}) == [(1, 11, 4)]
