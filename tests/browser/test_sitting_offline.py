"""Nothing typed is lost when the connection drops: answers wait in the browser, survive a
reload, are merged with the server's on the way back, and all reach the server once it is
reachable again."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, Route, expect

from accounts.models import Course, User
from exams.models import Answer
from tests.browser.conftest import log_in
from tests.browser.sitting_pages import (
    SAVED,
    every_kind_exam,
    open_exam,
    question,
    start,
    unexpected,
    wait_stored,
    widget,
)

pytestmark = pytest.mark.browser


def test_answers_typed_offline_survive_a_reload_and_reach_the_server(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, student: User
) -> None:
    exam = every_kind_exam(course)
    sitting = start(exam, student)
    log_in(page, student.net_id)
    open_exam(page, sitting)
    tf, sc, num = question(exam, "true_false"), question(exam, "single_choice"), question(exam, "numeric")
    sa, grid = question(exam, "short_answer"), question(exam, "grid")
    status = page.locator("#save-status")

    widget(page, tf).get_by_label("True").check()
    wait_stored(sitting, tf, True)
    expect(status).to_have_text(SAVED)

    page.context.set_offline(True)
    widget(page, sc).get_by_label("Nom").check()
    page.fill(f"#q{num.pk}-number", "42")
    expect(status).to_have_text("Offline: 2 answers kept on this device, retrying")
    # Changing an answer that is already saved while offline: the newer one must win later.
    widget(page, tf).get_by_label("False").check()
    expect(status).to_have_text("Offline: 3 answers kept on this device, retrying")

    # A reload while offline: a browser that is really offline cannot fetch the page at all
    # (there is no service worker), so the faithful case is a page that loads while the API
    # stays unreachable. The API is cut at the network layer (requests fail as if offline),
    # the page comes from the server, and the answers must come from this browser's storage.
    def unreachable(route: Route) -> None:
        route.abort("internetdisconnected")

    page.route("**/api/sittings/**", unreachable)
    page.context.set_offline(False)
    page.once("dialog", lambda dialog: dialog.accept())  # "leave the page?": answers are not on the server yet
    page.reload()
    expect(status).to_have_text("Offline: 3 answers kept on this device, retrying")
    # The server still has True for 1.1; the page shows the newer False from this browser.
    expect(page.locator(f"#q{tf.pk}-false")).to_be_checked()
    expect(page.locator(f"#q{sc.pk}-C")).to_be_checked()
    expect(page.locator(f"#q{num.pk}-number")).to_have_value("42")
    assert not Answer.objects.filter(sitting=sitting, question__in=[sc, num]).exists()

    # Still unreachable, the student keeps answering.
    page.fill(f"#q{sa.pk}-a", "Offline, still typing $x^2$.")
    page.select_option(f"#q{grid.pk}-r0-c0", "0")
    expect(status).to_have_text("Offline: 5 answers kept on this device, retrying")
    expect(page.locator(f"#q{sa.pk}-a-preview .katex")).to_have_count(1)  # the preview needs no server

    # The connection comes back: the browser says so and every answer is sent.
    page.context.set_offline(True)
    page.unroute("**/api/sittings/**", unreachable)
    page.context.set_offline(False)
    expect(status).to_have_text(SAVED)
    wait_stored(sitting, tf, False)
    wait_stored(sitting, sc, "C")
    wait_stored(sitting, num, 42.0)
    wait_stored(sitting, sa, {"a": "Offline, still typing $x^2$.", "b": ""})
    wait_stored(sitting, grid, [["0", None], [None, None]])
    outbox = page.evaluate(f"localStorage.getItem('examhall:sitting:{sitting.pk}:outbox')")
    assert json.loads(outbox) == {}
    assert unexpected(page_errors) == []


def test_on_reload_a_newer_server_answer_beats_an_older_one_kept_in_the_browser(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, student: User
) -> None:
    exam = every_kind_exam(course)
    sitting = start(exam, student)
    log_in(page, student.net_id)
    open_exam(page, sitting)
    sc = question(exam, "single_choice")
    widget(page, sc).get_by_label("Flom").check()
    wait_stored(sitting, sc, "B")
    expect(page.locator("#save-status")).to_have_text(SAVED)
    saved_seq = Answer.objects.get(sitting=sitting, question=sc).seq

    # An older answer left in the browser, below the sequence number of the one the server holds.
    stale = {str(sc.pk): {"value": "A", "flagged": False, "seq": saved_seq - 1}}
    page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [f"examhall:sitting:{sitting.pk}:outbox", json.dumps(stale)],
    )
    page.reload()
    expect(page.locator(f"#q{sc.pk}-B")).to_be_checked()
    expect(page.locator("#save-status")).to_have_text(SAVED)
    assert Answer.objects.get(sitting=sitting, question=sc).value == "B"
    outbox = page.evaluate(f"localStorage.getItem('examhall:sitting:{sitting.pk}:outbox')")
    assert json.loads(outbox) == {}
    assert page_errors == []
