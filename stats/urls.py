from django.urls import path

from stats import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.csv", views.export, {"fmt": "csv"}, name="export_csv"),
    path("export.xlsx", views.export, {"fmt": "xlsx"}, name="export_xlsx"),
]
