from django.urls import path

from referral import views

urlpatterns = [
    path("", views.queue, name="queue"),
    path("sent/", views.outgoing, name="outgoing"),
    path("new/", views.create, name="create"),
    path("new/many/", views.create_many, name="create_many"),
    path("bulk-assign/", views.bulk_assign, name="bulk_assign"),
    path("notifications/", views.notification_list, name="notifications"),
    path("appointments/", views.appointments_day, name="appointments_day"),
    path("cases/<int:pk>/", views.case_referrals_live, name="case_referrals"),
    path("imports/<int:pk>/report.xlsx", views.import_report, name="import_report"),
    path("<int:pk>/", views.detail, name="detail"),
    # Before `act`, whose slug would take "postings", "slots" or "appointment" for a lifecycle action.
    path("<int:pk>/postings/", views.offer_postings, name="offer_postings"),
    path("<int:pk>/slip/", views.slip, name="slip"),
    path("<int:pk>/slots/", views.appointment_slots, name="appointment_slots"),
    path("<int:pk>/appointment/", views.appointment_book, name="appointment_book"),
    path("<int:pk>/appointment/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("<int:pk>/<slug:action>/", views.act, name="act"),
]
