from django.urls import path

from exams import clarification_views, proctor_views, sitting_views, views

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
    # Clarifications: staff publish, every open exam page shows them (through the API's pulse).
    path("<int:exam_id>/clarifications/", clarification_views.exam_clarifications, name="clarifications"),
    # Exam day: the proctor page, its rows, and the audited actions (exams.proctor_views).
    path("<int:exam_id>/proctor/", proctor_views.proctor_page, name="proctor"),
    path("<int:exam_id>/proctor/rows.json", proctor_views.proctor_rows, name="proctor_rows"),
    path("<int:exam_id>/proctor/window/extend/", proctor_views.proctor_window_extend, name="proctor_window_extend"),
    path("<int:exam_id>/proctor/window/close/", proctor_views.proctor_window_close, name="proctor_window_close"),
    path("<int:exam_id>/proctor/access-code/", proctor_views.proctor_access_code, name="proctor_access_code"),
    path("<int:exam_id>/proctor/students/<int:student_id>/", proctor_views.proctor_student, name="proctor_student"),
    path(
        "<int:exam_id>/proctor/students/<int:student_id>/extend/", proctor_views.proctor_extend, name="proctor_extend"
    ),
    path(
        "<int:exam_id>/proctor/students/<int:student_id>/accommodation/",
        proctor_views.proctor_accommodation,
        name="proctor_accommodation",
    ),
    path("<int:exam_id>/proctor/students/<int:student_id>/void/", proctor_views.proctor_void, name="proctor_void"),
    path(
        "<int:exam_id>/proctor/students/<int:student_id>/reopen/", proctor_views.proctor_reopen, name="proctor_reopen"
    ),
]
