"""URLs of the randomization app. Every name must also be in trial/access_matrix.py's MATRIX."""

from django.urls import path

from randomization import views

app_name = "randomization"

urlpatterns = [
    path("randomisation/envelopes/", views.envelopes, name="envelopes"),
    path("randomisation/batches/new/", views.batch_create, name="batch_create"),
    path("randomisation/batches/<int:batch_id>/", views.batch_detail, name="batch_detail"),
    path("randomisation/batches/<int:batch_id>/envelopes.pdf", views.batch_pdf, name="batch_pdf"),
    path("randomisation/allocations/", views.allocation_list, name="allocation_list"),
    path("randomisation/allocations.csv", views.allocation_list_csv, name="allocation_list_csv"),
    path("randomisation/allocations/log/", views.allocation_views, name="allocation_views"),
    path("randomisation/deviations/", views.deviation_list, name="deviations"),
    path("randomisation/envelopes/report/", views.envelope_report, name="envelope_report"),
    path("randomisation/verification/", views.verification, name="verification"),
    path("randomisation/verification.pdf", views.verification_pdf, name="verification_pdf"),
    path(
        "participants/<str:trial_number>/randomise/",
        views.participant_randomise,
        name="participant_randomise",
    ),
    path(
        "participants/<str:trial_number>/randomise/confirm/",
        views.allocation_confirm,
        name="allocation_confirm",
    ),
]
