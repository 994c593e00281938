from django.urls import path

from privacy import requests_views as views

urlpatterns = [
    path("requests/", views.request_list, name="request_list"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/answer/", views.request_answer, name="request_answer"),
    path("requests/<int:pk>/report.pdf", views.request_report, name="request_report"),
    path("clients/<int:client_id>/requests/new/", views.request_new, name="request_new"),
]
