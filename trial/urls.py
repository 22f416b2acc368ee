"""The project's URLs. Every name here must also appear in trial/access.py."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from trial import screening_views, views

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
        # Screening path (issue 3)
        path("screening/", screening_views.screening_log, name="screening_log"),
        path("screening/new/", screening_views.screening_log_create, name="screening_log_create"),
        path(
            "screening/<int:entry_id>/",
            screening_views.screening_log_detail,
            name="screening_log_detail",
        ),
        path(
            "participants/<str:trial_number>/screening-form/",
            screening_views.screening_form,
            name="screening_form",
        ),
        path(
            "participants/<str:trial_number>/eligibility/",
            screening_views.eligibility,
            name="eligibility",
        ),
        path(
            "participants/<str:trial_number>/consent/",
            screening_views.consent,
            name="consent",
        ),
        path(
            "participants/<str:trial_number>/referral/",
            screening_views.referral_create,
            name="referral_create",
        ),
        path(
            "participants/<str:trial_number>/surgical-assessment/",
            screening_views.surgical_assessment,
            name="surgical_assessment",
        ),
        path(
            "participants/<str:trial_number>/not-included/",
            screening_views.not_included,
            name="not_included",
        ),
        path("referrals/", screening_views.referral_list, name="referral_list"),
        path("consort/", screening_views.consort, name="consort"),
        path(
            "eligibility-criteria/",
            screening_views.criteria_versions,
            name="criteria_versions",
        ),
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
