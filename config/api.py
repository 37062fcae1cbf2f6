"""The REST API's router: every app's viewsets, under /api/ (schema and docs are in config.urls)."""

from rest_framework.routers import DefaultRouter

from exams.api import CourseViewSet, ExamViewSet, QuestionViewSet, SectionViewSet

router = DefaultRouter()
router.register("courses", CourseViewSet, basename="course")
router.register("exams", ExamViewSet, basename="exam")
router.register("sections", SectionViewSet, basename="section")
router.register("questions", QuestionViewSet, basename="question")
urlpatterns = router.urls
