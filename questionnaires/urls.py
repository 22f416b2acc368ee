"""URLs of the questionnaires app. Every name must also be in trial/access_matrix.py's MATRIX.

Patients: /q/<token>/, then the token-less /q/... (personal link) and /tablet/... (clinic
tablet, bound to a session a member of staff started). Staff:
/participants/<trial_number>/questionnaires/... and /questionnaires/ (links waiting for answers).
"""

from django.urls import path

from questionnaires import views

app_name = "questionnaires"

urlpatterns = [
    # The patient's personal link: /q/<token>/ remembers the link in the browser session and
    # redirects to the token-less pages, so the token stays out of history and Referer.
    path("q/", views.patient_home, name="patient_home"),
    path("q/submit/", views.patient_submit, name="patient_submit"),
    path("q/done/", views.patient_done, name="patient_done"),
    path("q/<str:token>/", views.patient_start, name="patient_start"),
    path("q/<str:instrument>/<int:step>/", views.patient_step, name="patient_step"),
    # The clinic tablet.
    path("tablet/", views.tablet_start, name="tablet_start"),
    path("tablet/submit/", views.tablet_submit, name="tablet_submit"),
    path("tablet/done/", views.tablet_done, name="tablet_done"),
    path("tablet/exit/", views.tablet_exit, name="tablet_exit"),
    path("tablet/<str:instrument>/<int:step>/", views.tablet_step, name="tablet_step"),
    # Staff.
    path("questionnaires/", views.link_list, name="link_list"),
    path(
        "participants/<str:trial_number>/questionnaires/",
        views.staff_overview,
        name="staff_overview",
    ),
    path(
        "participants/<str:trial_number>/questionnaires/<str:visit_code>/send/",
        views.staff_send,
        name="staff_send",
    ),
    path(
        "participants/<str:trial_number>/questionnaires/<str:visit_code>/revoke/",
        views.staff_revoke,
        name="staff_revoke",
    ),
    path(
        "participants/<str:trial_number>/questionnaires/<str:visit_code>/tablet/",
        views.staff_tablet,
        name="staff_tablet",
    ),
    path(
        "participants/<str:trial_number>/questionnaires/<str:visit_code>/<str:instrument>/enter/",
        views.staff_enter,
        name="staff_enter",
    ),
    path(
        "participants/<str:trial_number>/questionnaires/<str:visit_code>/<str:instrument>/correct/",
        views.staff_correct,
        name="staff_correct",
    ),
]
