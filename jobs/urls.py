from django.urls import path

from jobs import views

urlpatterns = [
    path("", views.posting_list, name="posting_list"),
    path("check/", views.check, name="check"),
    path("review/", views.review_queue, name="review_queue"),
    path("suspects/", views.suspect_list, name="suspect_list"),
    path("suspects/export/", views.suspect_export, name="suspect_export"),
    path("employers/<int:pk>/", views.employer_detail, name="employer_detail"),
    path("<int:pk>/", views.posting_detail, name="posting_detail"),
    path("<int:pk>/review/", views.posting_review, name="posting_review"),
    path("<int:pk>/report/", views.posting_report, name="posting_report"),
]
