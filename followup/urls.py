"""URLs of the followup app. Every name must also be in trial/access_matrix.py's MATRIX."""

from django.urls import path

from followup import views

app_name = "followup"

urlpatterns = [
    path("followup/", views.worklist, name="worklist"),
    path("followup/contacts/<int:contact_id>/call/", views.call_log, name="call_log"),
    path("followup/weekly/", views.weekly_list, name="weekly_list"),
    path("followup/weekly.pdf", views.weekly_list_pdf, name="weekly_list_pdf"),
    path("followup/completeness/", views.completeness, name="completeness"),
    path("followup/missing-data/", views.missing_data, name="missing_data"),
    path("followup/missing-data.csv", views.missing_data_csv, name="missing_data_csv"),
]
