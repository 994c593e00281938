from django.urls import path

from centers import views

urlpatterns = [
    path("", views.home, name="home"),
    path("directory/", views.directory, name="directory"),
    path("healthz", views.healthz, name="healthz"),
]
