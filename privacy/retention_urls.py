from django.urls import path

from privacy import retention_views as views

urlpatterns = [
    path("destructions/", views.destruction_list, name="destructions"),
    path("destructions/<int:pk>/", views.destruction_detail, name="destruction_detail"),
    path("destructions/<int:pk>/approve/", views.destruction_approve_view, name="destruction_approve"),
    path("holds/", views.hold_add, name="hold_add"),
    path("review/", views.review, name="review"),
    path("review/flags/<int:pk>/note/", views.review_note_view, name="review_note"),
    path("review/signoff/", views.review_signoff_view, name="review_signoff"),
    path("access-log/", views.access_log, name="access_log"),
    path("access-log/verify/", views.access_log_verify_view, name="access_log_verify"),
    path("access-log/export/", views.access_log_export_view, name="access_log_export"),
    path("permissions/", views.permission_history, name="permission_history"),
]
