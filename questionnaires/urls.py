"""URLs of the questionnaires app. Every name must also be in trial/access_matrix.py's MATRIX.

Patients: /q/<token>/, then the token-less /q/... (personal link) and /tablet/... (clinic
tablet, bound to a session a member of staff started). Staff:
/participants/<trial_number>/questionnaires/... and /questionnaires/ (links waiting for answers).
"""

from django.urls import path

from questionnaires.views import patient, staff

app_name = "questionnaires"

urlpatterns = [
    # The patient's personal link: /q/<token>/ remembers the link in the browser session and
    # redirects to the token-less pages, so the token stays out of history and Referer.
    path("q/", patient.patient_home, name="patient_home"),
    path("q/submit/", patient.patient_submit, name="patient_submit"),
    path("q/done/", patient.patient_done, name="patient_done"),
    path("q/<str:token>/", patient.patient_start, name="patient_start"),
    path("q/<str:instrument>/<int:step>/", patient.patient_step, name="patient_step"),
    # The clinic tablet.
    path("tablet/", patient.tablet_start, name="tablet_start"),
    path("tablet/submit/", patient.tablet_submit, name="tablet_submit"),
    path("tablet/done/", patient.tablet_done, name="tablet_done"),
    path("tablet/exit/", patient.tablet_exit, name="tablet_exit"),
    path("tablet/<str:instrument>/<int:step>/", patient.tablet_step, name="tablet_step"),
    # Staff.
    path("questionnaires/", staff.link_list, name="link_list"),
    path(
        "participants/<str:trial_number>/questionnaires/",
        staff.staff_overview,
        name="staff_overview",
    ),
    path(
        "participants/<str:trial_number>/questionnaires/<str:visit_code>/send/",
        staff.staff_send,
        name="staff_send",
    ),
    path(
        "participants/<str:trial_number>/questionnaires/<str:visit_code>/revoke/",
        staff.staff_revoke,
        name="staff_revoke",
    ),
    path(
        "participants/<str:trial_number>/questionnaires/<str:visit_code>/tablet/",
        staff.staff_tablet,
        name="staff_tablet",
    ),
    path(
        "participants/<str:trial_number>/questionnaires/<str:visit_code>/<str:instrument>/enter/",
        staff.staff_enter,
        name="staff_enter",
    ),
    path(
        "participants/<str:trial_number>/questionnaires/<str:visit_code>/<str:instrument>/correct/",
        staff.staff_correct,
        name="staff_correct",
    ),
]
