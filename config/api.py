"""The REST API's router: every app's viewsets, under /api/ (schema and docs are in config.urls)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from exams import sitting_api
from exams.api import CourseViewSet, ExamViewSet, QuestionViewSet, SectionViewSet

router = DefaultRouter()
router.register("courses", CourseViewSet, basename="course")
router.register("exams", ExamViewSet, basename="exam")
router.register("sections", SectionViewSet, basename="section")
router.register("questions", QuestionViewSet, basename="question")

# The open exam page's endpoints (students, their own sittings only).
sitting_urls = [
    path("sittings/<int:sitting_id>/", sitting_api.StateView.as_view(), name="sitting-state"),
    path("sittings/<int:sitting_id>/answers/", sitting_api.AnswersView.as_view(), name="sitting-answers"),
    path("sittings/<int:sitting_id>/claim/", sitting_api.ClaimView.as_view(), name="sitting-claim"),
    path("sittings/<int:sitting_id>/events/", sitting_api.EventsView.as_view(), name="sitting-events"),
    path(
        "sittings/<int:sitting_id>/questions/<int:question_id>/expression-preview/",
        sitting_api.ExpressionPreviewView.as_view(),
        name="sitting-expression-preview",
    ),
]
urlpatterns = router.urls + sitting_urls
