"""URLs of the questionnaires app. Every name must also be in trial/access.py's MATRIX."""

from django.urls import path  # noqa: F401 - used as the app grows

app_name = "questionnaires"

urlpatterns: list = []
