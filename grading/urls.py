from django.urls import path

from grading import group_views, integrity_views, release_views, review_views, rubric_views, views

app_name = "grading"
urlpatterns = [
    # Course staff: an exam's results, its scoring job, and its grades as CSV.
    path("exams/<int:exam_id>/results/", views.exam_results, name="results"),
    path("exams/<int:exam_id>/score/", views.exam_score, name="score"),
    path("exams/<int:exam_id>/job/", views.exam_job, name="job"),
    path("exams/<int:exam_id>/export.csv", views.exam_export, name="export"),
    # Release and regrades: the instructors' release page (and its preview of a student's
    # results), the student's results and regrade requests, the staff's regrade queue.
    path("exams/<int:exam_id>/release/", release_views.exam_release, name="release"),
    path(
        "exams/<int:exam_id>/release/preview/<int:sitting_id>/",
        release_views.release_preview,
        name="release-preview",
    ),
    path("sittings/<int:sitting_id>/results/", release_views.sitting_results_view, name="sitting-results"),
    path("sittings/<int:sitting_id>/regrades/", release_views.regrade_request, name="regrade-request"),
    path("exams/<int:exam_id>/regrades/", release_views.exam_regrades, name="regrades"),
    path("regrades/<int:request_id>/reply/", release_views.regrade_reply_view, name="regrade-reply"),
    path("regrades/<int:request_id>/grade/", release_views.regrade_grade, name="regrade-grade"),
    # Grading by hand: the exam's dashboard, a question's queue (the next ungraded answer) and its
    # answers, one answer's page (grade, override, skip).
    path("exams/<int:exam_id>/grading/", review_views.grading_dashboard_view, name="grading-dashboard"),
    path("questions/<int:question_id>/grade/", review_views.grade_next, name="grade-next"),
    path("questions/<int:question_id>/answers/", review_views.question_answers_view, name="question-answers"),
    path("scores/<int:score_id>/evaluation/", review_views.score_evaluation, name="score-evaluation"),
    path("evaluations/<int:evaluation_id>/", review_views.evaluation_page, name="evaluation"),
    path("evaluations/<int:evaluation_id>/skip/", review_views.evaluation_skip, name="evaluation-skip"),
    # Rubrics and answer groups: a question's rubric page (settings, items; every change posts to it),
    # the confirmation before deleting a used item, the groups of identical answers, grading a group.
    path("questions/<int:question_id>/rubric/", rubric_views.rubric_edit, name="rubric"),
    path(
        "questions/<int:question_id>/rubric/items/<int:item_id>/delete/",
        rubric_views.rubric_item_delete_confirm,
        name="rubric-item-delete",
    ),
    path("questions/<int:question_id>/groups/", group_views.answer_groups, name="groups"),
    path("questions/<int:question_id>/groups/<int:group_id>/", group_views.answer_group_grade, name="group-grade"),
    # Integrity report: flagged sittings and pairs sharing unusually many identical wrong answers.
    path("exams/<int:exam_id>/integrity/", integrity_views.integrity_page, name="integrity"),
    path("exams/<int:exam_id>/integrity.csv", integrity_views.integrity_export, name="integrity-csv"),
]
