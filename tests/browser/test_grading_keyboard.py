"""In a real browser, keys only: a TA grades five short answers from the question's queue with
the rubric's keys, the adjustment box, the comment box (Ctrl+Enter) and Enter, moves with the
arrows and opens the list of shortcuts with "?", all under the strict CSP. The database then
holds five graded evaluations with the points the keys chose, each audited."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Course, User
from exams.models import Exam
from grading.models import AnswerScore, Evaluation, GradeEvent, RubricItem, ScoreSource
from grading.review import rubric_for
from tests.browser.conftest import log_in
from tests.factories import ExamFactory, SectionFactory, add_question
from tests.grading.sat_exam import q, score, sit

pytestmark = pytest.mark.browser

EVALUATION_URL = re.compile(r"/grading/evaluations/(\d+)/")


def short_answer_exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course, published=True, title="Midterm Exam")
    section = SectionFactory.create(exam=exam, number=1, title="Short answers")
    add_question(section, kind="short_answer", points=4, prompt="Why does *batch norm* help?")
    for index in range(5):
        sit(exam, f"kb{index}", {"1.1": f"Because of $\\mu_{index}$ and the variance ({index})."})
    score(exam)
    rubric = rubric_for(q(exam, "1.1"))
    RubricItem.objects.create(rubric=rubric, position=1, points=Decimal("-1"), description="Missing units")
    RubricItem.objects.create(rubric=rubric, position=2, points=Decimal("-0.5"), description="Sign error")
    RubricItem.objects.create(
        rubric=rubric, position=3, points=Decimal("-2"), description="No justification", shortcut="j"
    )
    return exam


def evaluation_id(page: Page) -> int:
    match = EVALUATION_URL.search(page.url)
    assert match, page.url
    return int(match.group(1))


def wait_away_from(page: Page, current: int) -> None:
    """Wait for the page to move on from evaluation ``current`` (to another one, or elsewhere)."""

    def moved(url: str) -> bool:
        match = EVALUATION_URL.search(url)
        return match is None or int(match.group(1)) != current

    page.wait_for_url(moved)


def tab_to(page: Page, element_id: str) -> None:
    """Press Tab until the element has the focus, as a grader would."""
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_a_ta_grades_five_answers_with_the_keyboard_only(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, ta: User
) -> None:
    exam = short_answer_exam(course)
    question = q(exam, "1.1")
    log_in(page, ta.net_id)
    page.goto(f"/grading/questions/{question.pk}/grade/")
    total = page.locator("#points-total")
    expected: dict[int, Decimal] = {}

    # 1: two items by their digits → 4 − 1 − 0.5; Enter saves and moves on.
    first = evaluation_id(page)
    expect(total).to_have_text("4")
    page.keyboard.press("1")
    page.keyboard.press("2")
    expect(total).to_have_text("2.5")
    expect(page.locator("input[name=items]").nth(0)).to_be_checked()
    page.keyboard.press("Enter")
    wait_away_from(page, first)
    expected[first] = Decimal("2.5")

    # 2: a toggle on and off again, the item's own shortcut (j) and the digit 3 it also answers to.
    second = evaluation_id(page)
    page.keyboard.press("1")
    page.keyboard.press("1")
    page.keyboard.press("j")
    expect(total).to_have_text("2")
    page.keyboard.press("3")
    page.keyboard.press("3")
    expect(total).to_have_text("2")
    page.keyboard.press("Enter")
    wait_away_from(page, second)
    expected[second] = Decimal(2)

    # 3: "?" shows the shortcuts and Esc closes them; Tab to the adjustment, type, Enter saves.
    third = evaluation_id(page)
    dialog = page.locator("#shortcuts-dialog")
    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Apply or remove “No justification” (−2)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("j")
    tab_to(page, "adjustment")
    page.keyboard.press("Control+a")
    page.keyboard.type("0.75")
    expect(total).to_have_text("2.75")
    page.keyboard.press("Enter")
    wait_away_from(page, third)
    expected[third] = Decimal("2.75")

    # 4: the arrows move without saving: → to the next answer in queue order, ← back again.
    fourth = evaluation_id(page)
    next_link = page.locator("#next-link")
    if next_link.count():
        target = next_link.get_attribute("href")
        page.keyboard.press("ArrowRight")
        page.wait_for_url(f"**{target}")
        page.keyboard.press("ArrowLeft")
        page.wait_for_url(f"**/grading/evaluations/{fourth}/")
    else:
        target = page.locator("#previous-link").get_attribute("href")
        page.keyboard.press("ArrowLeft")
        page.wait_for_url(f"**{target}")
        page.keyboard.press("ArrowRight")
        page.wait_for_url(f"**/grading/evaluations/{fourth}/")
    assert Evaluation.objects.get(pk=fourth).graded_at is None
    # A comment typed in its box: Enter is a new line there, Ctrl+Enter saves.
    page.keyboard.press("2")
    tab_to(page, "comment")
    page.keyboard.type("Close, but")
    page.keyboard.press("Enter")
    page.keyboard.type("check the sign.")
    expect(total).to_have_text("3.5")
    page.keyboard.press("Control+Enter")
    wait_away_from(page, fourth)
    expected[fourth] = Decimal("3.5")

    # 5: nothing applied: full marks; after the last answer, the dashboard says all are graded.
    fifth = evaluation_id(page)
    assert fifth not in expected
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/grading/exams/{exam.pk}/grading/**")
    expected[fifth] = Decimal(4)
    expect(page.get_by_text("All answers to question 1.1 are graded.")).to_be_visible()
    expect(page.locator(f"#question-{question.pk}")).to_contain_text("5 of 5 graded")

    graded = {e.pk: e for e in Evaluation.objects.filter(question=question, graded_at__isnull=False)}
    assert {pk: e.points for pk, e in graded.items()} == expected
    assert all(e.graded_by_id == ta.pk for e in graded.values())
    assert graded[fourth].comment == "Close, but\ncheck the sign."
    assert graded[third].adjustment == Decimal("0.75")
    scores = AnswerScore.objects.filter(question=question)
    assert {(s.pk, s.points, s.source) for s in scores} == {
        (graded[pk].score_id, points, ScoreSource.MANUAL) for pk, points in expected.items()
    }
    events = list(GradeEvent.objects.filter(question=question))
    assert len(events) == 5 and all(e.actor_id == ta.pk and e.source == "manual" for e in events)
    assert {e.score_id: e.new_points for e in events} == {graded[pk].score_id: p for pk, p in expected.items()}
    assert page_errors == []
