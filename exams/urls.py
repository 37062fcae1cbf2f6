from django.urls import path

from exams import views

app_name = "exams"
urlpatterns = [
    path("<int:exam_id>/preview/", views.exam_preview, name="preview"),
    path("markdown/preview/", views.markdown_preview, name="markdown_preview"),
]
