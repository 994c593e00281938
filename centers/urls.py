from django.urls import path

from centers import account_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("directory/", views.directory, name="directory"),
    path("accounts/password/", account_views.password_change, name="password-change"),
    path("accounts/otp/", account_views.otp_setup, name="otp-setup"),
    path("accounts/otp/verify/", account_views.otp_verify, name="otp-verify"),
]
