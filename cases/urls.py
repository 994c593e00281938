from django.urls import path

from cases import import_views, views

urlpatterns = [
    path("intake/", views.intake, name="intake"),
    path("", views.case_list, name="case_list"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("<int:pk>/notes/", views.case_note_add, name="case_note_add"),
    path("<int:pk>/close/", views.case_close, name="case_close"),
    path("clients/<int:pk>/", views.client_detail, name="client_detail"),
    path("clients/<int:pk>/consents/", views.consent_add, name="consent_add"),
    path("consents/<int:pk>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/upload/", import_views.import_upload, name="import_upload"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/approve/", import_views.import_approve, name="import_approve"),
    path("imports/template.<str:fmt>", import_views.import_template, name="import_template"),
]
