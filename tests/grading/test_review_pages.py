"""The grading-by-hand pages, through HTTP: who may open them, anonymity, claims as graders move
through the queue, saving (and a stale save that keeps the grader's input), overrides that need a
reason, the dashboard's counts, and markup that holds under the strict CSP."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, Role, User
from exams.models import Exam, Sitting
from grading.models import AnswerScore, Evaluation, GradeEvent, RubricItem, ScoreSource
from grading.release import grades_release, regrade_open
from grading.review import evaluation_next, evaluation_save, queue_build, rubric_for
from grading.review_selectors import submission_numbers
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_question, member
from tests.grading.sat_exam import q, score, sit

pytestmark = pytest.mark.django_db


@pytest.fixture
def exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course, published=True, title="Midterm Exam")
    section = SectionFactory.create(exam=exam, number=1, title="Short answers")
    add_question(
        section,
        kind="short_answer",
        points=4,
        prompt="Why does *batch norm* help?",
        key={"model_answer": "It normalises the batch."},
    )
    add_question(section, kind="true_false", points=2, key={"value": True})
    return exam


@pytest.fixture
def sittings(exam: Exam) -> list[Sitting]:
    made = [
        sit(exam, net_id, {"1.1": f"Answer number {index}: $x^{index}$", "1.2": index % 2 == 0})
        for index, net_id in enumerate(["zwills", "yokafor", "xlopez", "wkimura", "vpatel", "uadams"])
    ]
    made.append(sit(exam, "tblank", {"1.2": True}))  # nothing to grade by hand
    score(exam)
    return made


@pytest.fixture
def other_ta(other_course: Course) -> User:
    user = UserFactory.create(net_id="dta", full_name="Dana Other-TA")
    member(user, other_course, Role.TA)
    return user


def items(exam: Exam) -> list[RubricItem]:
    rubric = rubric_for(q(exam, "1.1"))
    return [
        RubricItem.objects.create(rubric=rubric, position=1, points=Decimal("-1"), description="Missing units"),
        RubricItem.objects.create(rubric=rubric, position=2, points=Decimal("-0.5"), description="Sign error"),
    ]


def claim(exam: Exam, grader: User) -> Evaluation:
    evaluation = evaluation_next(question_id=q(exam, "1.1").pk, grader=grader, now=timezone.now())
    assert evaluation is not None
    return evaluation


def html_of(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status
    return response.content.decode()


def assert_strict_csp_markup(html: str) -> None:
    assert " style=" not in html and "<style" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'type="module"' in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"<[a-z]+\s[^>]*\bon[a-z]+=", html)  # no inline event handlers


# --- who may open the pages ------------------------------------------------------------------------


def page_urls(exam: Exam, evaluation: Evaluation) -> dict[str, str]:
    return {
        "dashboard": reverse("grading:grading-dashboard", args=[exam.pk]),
        "answers": reverse("grading:question-answers", args=[q(exam, "1.2").pk]),
        "evaluation": reverse("grading:evaluation", args=[evaluation.pk]),
    }


@pytest.mark.parametrize("page", ["dashboard", "answers", "evaluation"])
def test_course_staff_open_the_pages_and_nobody_else_sees_them(
    client: Client,
    exam: Exam,
    sittings: list[Sitting],
    instructor: User,
    ta: User,
    student: User,
    other_ta: User,
    other_instructor: User,
    page: str,
) -> None:
    url = page_urls(exam, claim(exam, instructor))[page]
    for staff in (instructor, ta):
        client.force_login(staff)
        assert client.get(url).status_code == 200
    for outsider in (student, other_ta, other_instructor):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_outsiders_can_neither_claim_nor_skip_nor_save(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User, student: User, other_ta: User
) -> None:
    evaluation = claim(exam, ta)
    for outsider in (student, other_ta):
        client.force_login(outsider)
        assert client.get(reverse("grading:grade-next", args=[q(exam, "1.1").pk])).status_code == 404
        assert client.post(reverse("grading:evaluation-skip", args=[evaluation.pk])).status_code == 404
        response = client.post(reverse("grading:evaluation", args=[evaluation.pk]), {"version": 0, "adjustment": "-4"})
        assert response.status_code == 404
        score_id = AnswerScore.objects.filter(question=q(exam, "1.2")).values_list("pk", flat=True)[0]
        assert client.get(reverse("grading:score-evaluation", args=[score_id])).status_code == 404
    assert Evaluation.objects.filter(question=q(exam, "1.1"), claimed_by__isnull=True).count() == 5
    assert not GradeEvent.objects.exists()


# --- anonymity ------------------------------------------------------------------------------------


def test_a_ta_never_sees_whose_answer_it_is(client: Client, exam: Exam, sittings: list[Sitting], ta: User) -> None:
    evaluation = claim(exam, ta)
    student = evaluation.sitting.student
    client.force_login(ta)
    for url in (
        reverse("grading:evaluation", args=[evaluation.pk]),
        reverse("grading:evaluation", args=[evaluation.pk]) + "?reveal=1",
        reverse("grading:question-answers", args=[q(exam, "1.1").pk]),
        reverse("grading:grading-dashboard", args=[exam.pk]),
    ):
        html = html_of(client, url)
        for sitting in sittings:
            who = sitting.student
            assert who.net_id not in html and who.full_name not in html, (url, who.net_id)
    html = html_of(client, reverse("grading:evaluation", args=[evaluation.pk]))
    assert "Show whose answer" not in html and "Submission #" in html and student.net_id not in html


def test_an_instructor_may_reveal_the_name(
    client: Client, exam: Exam, sittings: list[Sitting], instructor: User
) -> None:
    evaluation = claim(exam, instructor)
    student = evaluation.sitting.student
    client.force_login(instructor)
    url = reverse("grading:evaluation", args=[evaluation.pk])
    hidden = html_of(client, url)
    assert f"({student.net_id})" not in hidden and "Show whose answer this is" in hidden
    shown = html_of(client, url + "?reveal=1")
    assert f"<strong>{student.full_name}</strong> ({student.net_id})" in shown


# --- moving through the queue ---------------------------------------------------------------------


def test_grade_claims_the_next_answer_and_two_graders_get_different_ones(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User, instructor: User
) -> None:
    grade = reverse("grading:grade-next", args=[q(exam, "1.1").pk])
    client.force_login(ta)
    first = client.get(grade)
    assert first.status_code == 302
    mine = Evaluation.objects.get(claimed_by=ta)
    assert first["Location"] == reverse("grading:evaluation", args=[mine.pk])
    other = Client()
    other.force_login(instructor)
    theirs_response = other.get(grade)
    theirs = Evaluation.objects.get(claimed_by=instructor)
    assert theirs.pk != mine.pk and theirs_response["Location"] == reverse("grading:evaluation", args=[theirs.pk])
    assert client.get(grade)["Location"] == first["Location"]  # one's own claim first


def test_skip_gives_the_answer_back_and_moves_on(client: Client, exam: Exam, sittings: list[Sitting], ta: User) -> None:
    client.force_login(ta)
    grade = reverse("grading:grade-next", args=[q(exam, "1.1").pk])
    first = Evaluation.objects.get(pk=int(client.get(grade)["Location"].rstrip("/").split("/")[-1]))
    page = html_of(client, reverse("grading:evaluation", args=[first.pk]))
    assert 'form="skip-form"' in page
    response = client.post(reverse("grading:evaluation-skip", args=[first.pk]), {"skip": ""})
    assert response["Location"] == f"{grade}?skip={first.pk}"
    first.refresh_from_db()
    assert first.claimed_by is None
    following = client.get(response["Location"])
    second_id = int(following["Location"].split("?")[0].rstrip("/").split("/")[-1])
    assert second_id != first.pk and following["Location"].endswith(f"?skip={first.pk}")
    assert Evaluation.objects.get(pk=second_id).claimed_by == ta
    # The skipped ids ride along on the page, so the next skip adds to them.
    page = html_of(client, following["Location"])
    assert f'<input type="hidden" name="skip" value="{first.pk}">' in page
    again = client.post(reverse("grading:evaluation-skip", args=[second_id]), {"skip": str(first.pk)})
    assert again["Location"] == f"{grade}?skip={first.pk}%2C{second_id}"


def test_saving_grades_the_answer_and_goes_to_the_next(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User
) -> None:
    units, sign = items(exam)
    client.force_login(ta)
    grade = reverse("grading:grade-next", args=[q(exam, "1.1").pk])
    evaluation_url = client.get(grade)["Location"]
    response = client.post(
        evaluation_url,
        {"items": [units.pk, sign.pk], "adjustment": "0.25", "comment": "clear otherwise", "version": "0"},
    )
    assert response.status_code == 302 and response["Location"] == grade
    (graded,) = Evaluation.objects.filter(graded_at__isnull=False)
    assert (graded.points, graded.graded_by, graded.version) == (Decimal("2.75"), ta, 1)
    row = AnswerScore.objects.get(pk=graded.score_id)
    assert (row.points, row.source, row.needs_manual) == (Decimal("2.75"), ScoreSource.MANUAL, False)
    event = GradeEvent.objects.get()
    assert (event.actor, event.old_points, event.new_points, event.source) == (ta, None, Decimal("2.75"), "manual")
    followed = client.get(grade, follow=True)
    assert followed.redirect_chain[-1][0] != evaluation_url
    html = followed.content.decode()
    assert "Saved submission #" in html and "2.75 of 4 points" in html
    # The graded answer's page shows its history.
    history = html_of(client, evaluation_url)
    assert "— → 2.75" in history and "Jordan Chen" in history


def test_when_every_answer_is_graded_the_dashboard_says_so(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User
) -> None:
    client.force_login(ta)
    grade = reverse("grading:grade-next", args=[q(exam, "1.1").pk])
    for _ in range(6):
        evaluation_url = client.get(grade)["Location"]
        assert "/evaluations/" in evaluation_url
        assert client.post(evaluation_url, {"adjustment": "-1", "version": "0"}).status_code == 302
    done = client.get(grade, follow=True)
    assert done.redirect_chain[-1][0].startswith(reverse("grading:grading-dashboard", args=[exam.pk]))
    html = done.content.decode()
    assert "All answers to question 1.1 are graded." in html
    assert re.search(r"6 of 6 graded", html) and "Jordan Chen: 6" in html and "All graded" in html
    assert set(AnswerScore.objects.filter(question=q(exam, "1.1"), blank=False).values_list("points", flat=True)) == {
        Decimal(3)
    }


def test_answers_held_by_others_are_not_handed_out(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User, instructor: User
) -> None:
    queue_build(q(exam, "1.1").pk)
    Evaluation.objects.update(claimed_by=instructor, claimed_until=timezone.now() + timedelta(minutes=5))
    client.force_login(ta)
    html = client.get(reverse("grading:grade-next", args=[q(exam, "1.1").pk]), follow=True).content.decode()
    assert "the 6 still ungraded are held by other graders" in html


# --- one answer's page --------------------------------------------------------------------------------


def test_the_page_shows_the_question_the_answer_the_rubric_and_the_keys(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User
) -> None:
    units, sign = items(exam)
    sign.shortcut = "s"
    sign.save()
    evaluation = claim(exam, ta)
    client.force_login(ta)
    html = html_of(client, reverse("grading:evaluation", args=[evaluation.pk]))
    assert "Why does <em>batch norm</em> help?" in html
    assert "It normalises the batch." in html  # the model answer, for graders
    assert '<span class="math" data-math="inline">x^' in html  # the answer's math, typeset by KaTeX
    assert re.search(rf'id="item-{units.pk}" data-points="-1.00" aria-keyshortcuts="1"', html)
    assert re.search(rf'id="item-{sign.pk}" data-points="-0.50" aria-keyshortcuts="s 2"', html)
    assert "<kbd>s</kbd> <kbd>2</kbd>" in html and "<kbd>Enter</kbd>" in html and "<kbd>?</kbd>" in html
    assert '<script id="rubric-data" type="application/json">' in html
    assert '"base": "4.00"' in html and '"keys": ["s", "2"]' in html
    assert '<script type="module" src="/static/grading/review.js"></script>' in html
    # Numbered among all 7 scored answers, the blank one included, so numbers never shift.
    number = submission_numbers(evaluation.question_id)[evaluation.sitting_id]
    assert f"Submission #{number} <span" in html and "of 7</span>" in html
    assert_strict_csp_markup(html)


def test_previous_and_next_follow_the_queue_order(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User
) -> None:
    claim(exam, ta)
    ordered = list(Evaluation.objects.filter(question=q(exam, "1.1")).order_by("queue_order", "pk"))
    client.force_login(ta)
    numbers = submission_numbers(q(exam, "1.1").pk)
    first = html_of(client, reverse("grading:evaluation", args=[ordered[0].pk]))
    assert "First answer" in first and f"Submission #{numbers[ordered[0].sitting_id]} <span" in first
    assert f'href="{reverse("grading:evaluation", args=[ordered[1].pk])}" id="next-link"' in first
    middle = html_of(client, reverse("grading:evaluation", args=[ordered[2].pk]))
    assert f"Submission #{numbers[ordered[2].sitting_id]} <span" in middle
    assert f'href="{reverse("grading:evaluation", args=[ordered[1].pk])}" id="previous-link"' in middle
    assert "Last answer" in html_of(client, reverse("grading:evaluation", args=[ordered[-1].pk]))


def test_without_rubric_items_the_page_links_to_the_rubric_editor(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User
) -> None:
    evaluation = claim(exam, ta)
    client.force_login(ta)
    html = html_of(client, reverse("grading:evaluation", args=[evaluation.pk]))
    assert "This question has no rubric items yet." in html
    assert f'href="/grading/questions/{q(exam, "1.1").pk}/rubric/"' in html


def test_a_stale_save_is_refused_and_keeps_the_graders_input(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User, instructor: User
) -> None:
    units, sign = items(exam)
    evaluation = claim(exam, ta)
    evaluation_save(
        evaluation_id=evaluation.pk,
        grader=instructor,
        item_ids=[units.pk],
        adjustment=Decimal(0),
        comment="instructor's view",
        version=0,
        now=timezone.now(),
    )
    client.force_login(ta)
    response = client.post(
        reverse("grading:evaluation", args=[evaluation.pk]),
        {"items": [sign.pk], "adjustment": "-1.25", "comment": "My careful comment", "version": "0"},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Your grade was not saved: someone else changed this answer" in html
    assert "It is now <strong>3</strong> of 4 points, by Maya Rivera" in html and "−1 Missing units" in html
    assert "My careful comment</textarea>" in html and 'value="-1.25"' in html
    assert re.search(rf'value="{sign.pk}" id="item-{sign.pk}"[^>]* checked>', html)
    assert not re.search(rf'value="{units.pk}" id="item-{units.pk}"[^>]* checked>', html)
    assert '<input type="hidden" name="version" value="1">' in html  # saving again is a deliberate replacement
    row = AnswerScore.objects.get(pk=evaluation.score_id)
    assert row.points == Decimal(3) and GradeEvent.objects.count() == 1
    again = client.post(
        reverse("grading:evaluation", args=[evaluation.pk]),
        {"items": [sign.pk], "adjustment": "-1.25", "comment": "My careful comment", "version": "1"},
    )
    assert again.status_code == 302
    row.refresh_from_db()
    assert row.points == Decimal("2.25") and GradeEvent.objects.count() == 2


def test_invalid_input_is_refused_and_kept(client: Client, exam: Exam, sittings: list[Sitting], ta: User) -> None:
    evaluation = claim(exam, ta)
    client.force_login(ta)
    response = client.post(
        reverse("grading:evaluation", args=[evaluation.pk]),
        {"items": ["999999"], "adjustment": "a lot", "comment": "kept", "version": "0"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The adjustment is a number of points" in html and "Choose items of this question" in html
    assert 'value="a lot"' in html and "kept</textarea>" in html
    assert not GradeEvent.objects.exists()


# --- overrides of automatic scores ------------------------------------------------------------------


def test_an_override_starts_from_the_policy_and_needs_a_reason(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User
) -> None:
    row = AnswerScore.objects.get(sitting=sittings[1], question=q(exam, "1.2"))  # answered False: −1
    client.force_login(ta)
    answers = html_of(client, reverse("grading:question-answers", args=[q(exam, "1.2").pk]))
    assert reverse("grading:score-evaluation", args=[row.pk]) in answers and "Override" in answers
    opened = client.get(reverse("grading:score-evaluation", args=[row.pk]))
    evaluation = Evaluation.objects.get(score=row)
    assert opened["Location"] == reverse("grading:evaluation", args=[evaluation.pk])
    page = html_of(client, opened["Location"])
    assert "The policy gives <strong>−1</strong> of 2 points" in page and "Reason for the change (required)" in page
    assert '"base": "-1.00"' in page and ">False</p>" in page

    refused = client.post(opened["Location"], {"adjustment": "1", "version": "0", "reason": " "})
    assert refused.status_code == 400
    assert "Say why the automatic score is overridden" in refused.content.decode()
    assert not GradeEvent.objects.exists()

    saved = client.post(opened["Location"], {"adjustment": "1", "version": "0", "reason": "Ambiguous wording"})
    assert saved["Location"] == reverse("grading:question-answers", args=[q(exam, "1.2").pk])
    row.refresh_from_db()
    assert (row.points, row.source) == (Decimal(0), ScoreSource.OVERRIDE)
    event = GradeEvent.objects.get()
    assert (event.source, event.reason, event.old_points, event.new_points) == (
        "override",
        "Ambiguous wording",
        Decimal(-1),
        Decimal(0),
    )


# --- the dashboard ------------------------------------------------------------------------------------


def test_the_dashboard_counts_progress_per_question_and_grader(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User, instructor: User
) -> None:
    for grader in (ta, ta, instructor):
        evaluation = claim(exam, grader)
        evaluation_save(
            evaluation_id=evaluation.pk,
            grader=grader,
            item_ids=[],
            adjustment=Decimal(0),
            comment="",
            version=0,
            now=timezone.now(),
        )
    claim(exam, instructor)  # held, not graded
    client.force_login(ta)
    html = html_of(client, reverse("grading:grading-dashboard", args=[exam.pk]))
    short = q(exam, "1.1")
    row = re.search(rf'<tr id="question-{short.pk}".*?</tr>', html, re.S)
    assert row is not None
    assert 'data-graded="3" data-total="6"' in row.group(0) and "3 of 6 graded" in row.group(0)
    assert "1 being graded now" in row.group(0)
    assert "<li>Jordan Chen: 2</li><li>Maya Rivera: 1</li>" in row.group(0)
    assert f'href="{reverse("grading:grade-next", args=[short.pk])}"' in row.group(0)
    assert "No rubric items yet" in row.group(0)
    assert "3 answers still wait for a grader." in html
    automatic = re.search(rf'<tr id="question-{q(exam, "1.2").pk}".*?</tr>', html, re.S)
    assert automatic is not None and reverse("grading:question-answers", args=[q(exam, "1.2").pk]) in automatic.group(0)
    assert_strict_csp_markup(html)


def test_before_scoring_the_dashboard_points_to_the_results_page(client: Client, exam: Exam, instructor: User) -> None:
    sit(exam, "early", {"1.1": "not scored yet"})
    client.force_login(instructor)
    html = html_of(client, reverse("grading:grading-dashboard", args=[exam.pk]))
    assert "Not scored yet" in html and f'href="{reverse("grading:results", args=[exam.pk])}">results page</a>' in html


def test_the_results_page_and_home_link_to_the_dashboard(client: Client, exam: Exam, ta: User) -> None:
    client.force_login(ta)
    dashboard = reverse("grading:grading-dashboard", args=[exam.pk])
    assert f'href="{dashboard}"' in html_of(client, reverse("grading:results", args=[exam.pk]))
    assert f'href="{dashboard}"' in html_of(client, reverse("home"))


# --- from the regrade queue ---------------------------------------------------------------------------


def test_a_regrade_is_saved_as_one_and_returns_to_the_queue(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User, instructor: User
) -> None:
    evaluation = claim(exam, ta)
    evaluation_save(
        evaluation_id=evaluation.pk,
        grader=ta,
        item_ids=[],
        adjustment=Decimal(-2),
        comment="",
        version=0,
        now=timezone.now(),
    )
    now = timezone.now()
    grades_release(exam=exam, by=instructor, now=now, regrade_deadline=now + timedelta(days=7))
    student = evaluation.sitting.student
    regrade = regrade_open(
        sitting=evaluation.sitting, score=evaluation.score, student=student, reason="I did explain it.", now=now
    )
    client.force_login(ta)
    url = reverse("grading:evaluation", args=[evaluation.pk]) + f"?regrade={regrade.pk}"
    html = html_of(client, url)
    assert "I did explain it." in html and "Save the regrade" in html and 'form="skip-form"' not in html
    assert student.net_id not in html
    response = client.post(url, {"adjustment": "-1", "version": "1", "reason": ""})
    assert response["Location"] == reverse("grading:regrades", args=[exam.pk]) + f"#regrade-{regrade.pk}"
    event = GradeEvent.objects.filter(source="regrade").get()
    assert (event.old_points, event.new_points, event.reason) == (
        Decimal(2),
        Decimal(3),
        "Regrade request: I did explain it.",
    )
