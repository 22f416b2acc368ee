"""``/api/v1/``: every name here has a row in the permission matrix (trial/api/access_rules.py)."""

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView

from trial.api import views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularJSONAPIView.as_view(), name="schema"),
    path("metadata/", views.metadata, name="metadata"),
    path("participants/", views.participants, name="participants"),
    path("participants/<str:trial_number>/randomise/", views.randomise, name="randomise"),
    path("records/", views.records, name="records"),
    path("exports/", views.export_list, name="export_list"),
    path("exports/<uuid:run_id>/", views.export_detail, name="export_detail"),
    path("exports/<uuid:run_id>/download/", views.export_download, name="export_download"),
]
