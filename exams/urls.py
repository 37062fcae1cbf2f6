from django.urls import path

from exams import sitting_views, views

app_name = "exams"
urlpatterns = [
    # Staff: preview as student, and the admin's live Markdown preview.
    path("<int:exam_id>/preview/", views.exam_preview, name="preview"),
    path("markdown/preview/", views.markdown_preview, name="markdown_preview"),
    # Students: the cover page, then their own sitting.
    path("<int:exam_id>/", sitting_views.sitting_lobby, name="lobby"),
    path("sittings/<int:sitting_id>/", sitting_views.sitting_exam, name="sit"),
    path("sittings/<int:sitting_id>/review/", sitting_views.sitting_review, name="review"),
    path("sittings/<int:sitting_id>/submit/", sitting_views.sitting_submit_view, name="submit"),
    path("sittings/<int:sitting_id>/receipt/", sitting_views.sitting_receipt, name="receipt"),
]
