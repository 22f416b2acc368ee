"""The project's URLs. Every name here must also appear in trial/access.py."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from trial import views

trial_patterns = (
    [
        path("participants/", views.participant_list, name="participant_list"),
        path(
            "participants/<str:trial_number>/",
            views.participant_detail,
            name="participant_detail",
        ),
        path(
            "participants/<str:trial_number>/history/",
            views.participant_history,
            name="participant_history",
        ),
        path("audit/", views.audit_log, name="audit_log"),
        path("sites/", views.site_list, name="site_list"),
    ],
    "trial",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("account/", include("trial.account_urls")),
    path("", include(trial_patterns)),
    path("", include("questionnaires.urls")),
    path("", include("randomization.urls")),
    path("", include("followup.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "trial.errors.permission_denied"
handler404 = "trial.errors.page_not_found"
handler500 = "trial.errors.server_error"
