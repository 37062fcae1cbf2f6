from django.urls import path

from grading import views

app_name = "grading"
urlpatterns = [
    # Course staff: an exam's results, its scoring job, and its grades as CSV.
    path("exams/<int:exam_id>/results/", views.exam_results, name="results"),
    path("exams/<int:exam_id>/score/", views.exam_score, name="score"),
    path("exams/<int:exam_id>/job/", views.exam_job, name="job"),
    path("exams/<int:exam_id>/export.csv", views.exam_export, name="export"),
]
