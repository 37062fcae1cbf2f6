"""The REST API's router: every app's viewsets, under /api/ (schema and docs are in config.urls)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from exams import sitting_api
from exams.api import CourseViewSet, ExamViewSet, QuestionViewSet, SectionViewSet
from grading import api as grading_api
from grading import review_api

router = DefaultRouter()
router.register("courses", CourseViewSet, basename="course")
router.register("exams", ExamViewSet, basename="exam")
router.register("sections", SectionViewSet, basename="section")
router.register("questions", QuestionViewSet, basename="question")

# The open exam page's endpoints (students, their own sittings only).
sitting_urls = [
    path("sittings/<int:sitting_id>/", sitting_api.StateView.as_view(), name="sitting-state"),
    path("sittings/<int:sitting_id>/answers/", sitting_api.answers_save_view, name="sitting-answers"),
    path("sittings/<int:sitting_id>/claim/", sitting_api.claim_view, name="sitting-claim"),
    path("sittings/<int:sitting_id>/events/", sitting_api.EventsView.as_view(), name="sitting-events"),
    path(
        "sittings/<int:sitting_id>/questions/<int:question_id>/expression-preview/",
        sitting_api.ExpressionPreviewView.as_view(),
        name="sitting-expression-preview",
    ),
    path("sittings/<int:sitting_id>/pulse/", sitting_api.pulse_view, name="sitting-pulse"),
    path(
        "sittings/<int:sitting_id>/clarifications/seen/",
        sitting_api.clarifications_seen_view,
        name="sitting-clarifications-seen",
    ),
]
# Scoring: jobs, statistics, and answer-key changes (course staff; instructors write).
grading_urls = [
    path("exams/<int:pk>/score/", grading_api.ExamScoreView.as_view(), name="exam-score"),
    path("exams/<int:pk>/statistics/", grading_api.ExamStatisticsView.as_view(), name="exam-statistics"),
    path("exams/<int:pk>/key-changes/", grading_api.ExamKeyChangesView.as_view(), name="exam-key-changes"),
    path(
        "questions/<int:pk>/key-change/preview/",
        grading_api.KeyChangePreviewView.as_view(),
        name="question-key-change-preview",
    ),
    path("questions/<int:pk>/key-change/", grading_api.KeyChangeView.as_view(), name="question-key-change"),
    path("grading-jobs/<int:pk>/", grading_api.GradingJobView.as_view(), name="grading-job-detail"),
]
# Grading by hand: the queue, evaluations, rubrics, regrade requests, the release (course staff;
# students only ask for regrades and list their own).
review_urls = [
    path("questions/<int:pk>/queue/", review_api.QueueView.as_view(), name="question-queue"),
    path("questions/<int:pk>/queue/next/", review_api.QueueNextView.as_view(), name="question-queue-next"),
    path("questions/<int:pk>/rubric/", review_api.RubricView.as_view(), name="question-rubric"),
    path("questions/<int:pk>/rubric/items/", review_api.RubricItemsView.as_view(), name="question-rubric-items"),
    path("questions/<int:pk>/rubric/reorder/", review_api.RubricReorderView.as_view(), name="question-rubric-reorder"),
    path("rubric-items/<int:pk>/", review_api.RubricItemView.as_view(), name="rubric-item-detail"),
    path("evaluations/<int:pk>/", review_api.EvaluationView.as_view(), name="evaluation-detail"),
    path("evaluations/<int:pk>/release/", review_api.EvaluationReleaseView.as_view(), name="evaluation-release"),
    path("evaluations/<int:pk>/events/", review_api.EvaluationEventsView.as_view(), name="evaluation-events"),
    path("scores/<int:pk>/evaluation/", review_api.ScoreEvaluationView.as_view(), name="score-evaluation"),
    path("sittings/<int:sitting_id>/regrades/", review_api.SittingRegradesView.as_view(), name="sitting-regrades"),
    path("regrades/", review_api.RegradesView.as_view(), name="regrade-list"),
    path("regrades/<int:pk>/reply/", review_api.RegradeReplyView.as_view(), name="regrade-reply"),
    path("exams/<int:pk>/release/", review_api.ExamReleaseView.as_view(), name="exam-release"),
]
urlpatterns = router.urls + sitting_urls + grading_urls + review_urls
