"""The REST API's router: every app's viewsets, under /api/ (schema and docs are in config.urls)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from exams import sitting_api
from exams.api import CourseViewSet, ExamViewSet, QuestionViewSet, SectionViewSet
from grading import api as grading_api

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
urlpatterns = router.urls + sitting_urls + grading_urls
