"""The project's URLs. Every name here must also appear in trial/access_matrix.py."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from trial import views
from trial.monitoring import sdv_views, signature_views
from trial.monitoring import views as monitoring_views
from trial.participants import views as participant_views
from trial.screening import views as screening_views
from trial.staff import views as staff_views
from trial.treatment import views as treatment_views

trial_patterns = (
    [
        path("participants/", participant_views.participant_list, name="participant_list"),
        path(
            "participants/<str:trial_number>/",
            participant_views.participant_detail,
            name="participant_detail",
        ),
        path(
            "participants/<str:trial_number>/history/",
            participant_views.participant_history,
            name="participant_history",
        ),
        path(
            "participants/<str:trial_number>/contact/",
            participant_views.contact_details_edit,
            name="contact_details_edit",
        ),
        path("audit/", views.audit_log, name="audit_log"),
        # Staff accounts, managed by the coordinator
        path("staff/", staff_views.staff_list, name="staff_list"),
        path("staff/invite/", staff_views.staff_invite, name="staff_invite"),
        path("staff/<int:user_id>/", staff_views.staff_edit, name="staff_edit"),
        path(
            "staff/<int:user_id>/deactivate/",
            staff_views.staff_deactivate,
            name="staff_deactivate",
        ),
        path(
            "staff/<int:user_id>/second-factor/",
            staff_views.staff_second_factor_reset,
            name="staff_second_factor_reset",
        ),
        # Screening path
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
            "participants/<str:trial_number>/referral/cancel/",
            screening_views.referral_cancel,
            name="referral_cancel",
        ),
        path(
            "screening/<int:entry_id>/edit/",
            screening_views.screening_log_edit,
            name="screening_log_edit",
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
        # Death and withdrawal
        path(
            "participants/<str:trial_number>/death/",
            participant_views.death_record,
            name="death_record",
        ),
        path(
            "participants/<str:trial_number>/withdrawal/",
            participant_views.withdrawal_record,
            name="withdrawal_record",
        ),
        path("sites/", staff_views.site_list, name="site_list"),
        # --- treatment and clinical events ---
        path(
            "participants/<str:trial_number>/procedure/",
            treatment_views.procedure,
            name="procedure",
        ),
        path(
            "participants/<str:trial_number>/usual-care/",
            treatment_views.usual_care,
            name="usual_care",
        ),
        path(
            "participants/<str:trial_number>/crossover/",
            treatment_views.crossover,
            name="crossover",
        ),
        path(
            "participants/<str:trial_number>/adverse-events/new/",
            treatment_views.adverse_event_create,
            name="adverse_event_create",
        ),
        path(
            "participants/<str:trial_number>/adverse-events/<int:ae_id>/",
            treatment_views.adverse_event_edit,
            name="adverse_event_edit",
        ),
        path(
            "participants/<str:trial_number>/radiographs/<str:control_kind>/",
            treatment_views.radiograph,
            name="radiograph",
        ),
        path("serious-adverse-events/", treatment_views.sae_list, name="sae_list"),
        # Monitoring: queries on recorded items
        path("queries/", monitoring_views.query_list, name="query_list"),
        path("queries/<int:query_id>/", monitoring_views.query_detail, name="query_detail"),
        path("edit-checks/", monitoring_views.edit_checks, name="edit_checks"),
        path(
            "participants/<str:trial_number>/queries/new/",
            monitoring_views.query_raise,
            name="query_raise",
        ),
        # Monitoring: the investigator's signatures
        path("signatures/", signature_views.signature_list, name="signature_list"),
        path(
            "participants/<str:trial_number>/sign/",
            signature_views.signature_sign,
            name="signature_sign",
        ),
        # Monitoring: source-data verification
        path("source-data-verification/", sdv_views.sdv_worklist, name="sdv_worklist"),
        path(
            "participants/<str:trial_number>/source-data-verification/",
            sdv_views.sdv_mark,
            name="sdv_mark",
        ),
        # Monitoring: data locks
        path(
            "participants/<str:trial_number>/lock/",
            monitoring_views.participant_lock,
            name="participant_lock",
        ),
        path("database-lock/", monitoring_views.trial_lock, name="trial_lock"),
        # --- end treatment and clinical events ---
    ],
    "trial",
)

# --- dashboard and outcome report ---
from trial.reports import dmc_views  # noqa: E402
from trial.reports import views as dashboard_views  # noqa: E402

trial_patterns[0].extend(
    [
        path("dashboard/", dashboard_views.dashboard_view, name="dashboard"),
        path("reports/outcomes/", dashboard_views.outcome_report, name="outcome_report"),
        path("reports/outcomes.pdf", dashboard_views.outcome_report_pdf, name="outcome_report_pdf"),
        path("reports/dmc/", dmc_views.dmc_open, name="dmc_open"),
        path("reports/dmc/open.pdf", dmc_views.dmc_open_pdf, name="dmc_open_pdf"),
        path("reports/dmc/closed/", dmc_views.dmc_closed, name="dmc_closed"),
        path("reports/dmc/closed.pdf", dmc_views.dmc_closed_pdf, name="dmc_closed_pdf"),
        path("reports/dmc/settings/", dmc_views.dmc_settings, name="dmc_settings"),
    ]
)
# --- end dashboard and outcome report ---

# --- exports ---
from trial.exports import views as export_views  # noqa: E402

trial_patterns[0].extend(
    [
        path("exports/", export_views.export_list, name="export_list"),
        path("exports/<uuid:run_id>/", export_views.export_detail, name="export_detail"),
        path("exports/<uuid:run_id>/status/", export_views.export_status, name="export_status"),
        path(
            "exports/<uuid:run_id>/download/", export_views.export_download, name="export_download"
        ),
        path("exports/annotated-crf.pdf", export_views.annotated_crf, name="annotated_crf"),
    ]
)
# --- end exports ---

# --- web API ---
from trial.api import pages as api_pages  # noqa: E402

trial_patterns[0].append(path("api-tokens/", api_pages.api_token_list, name="api_token_list"))
# --- end web API ---
# --- casebooks ---
from trial.monitoring.casebook import views as casebook_views  # noqa: E402

trial_patterns[0].extend(
    [
        path(
            "participants/<str:trial_number>/casebook/",
            casebook_views.casebook,
            name="casebook",
        ),
        path(
            "participants/<str:trial_number>/casebook/<uuid:casebook_id>/status/",
            casebook_views.casebook_status,
            name="casebook_status",
        ),
        path(
            "participants/<str:trial_number>/casebook/<uuid:casebook_id>/download/",
            casebook_views.casebook_download,
            name="casebook_download",
        ),
        path("casebooks/archive/", casebook_views.casebook_archive, name="casebook_archive"),
        path(
            "casebooks/archive/<uuid:archive_id>/status/",
            casebook_views.casebook_archive_status,
            name="casebook_archive_status",
        ),
        path(
            "casebooks/archive/<uuid:archive_id>/download/",
            casebook_views.casebook_archive_download,
            name="casebook_archive_download",
        ),
    ]
)
# --- end casebooks ---

urlpatterns = [
    path("", views.home, name="home"),
    path("api/v1/", include("trial.api.urls")),
    path("api/docs/", api_pages.api_docs, name="api_docs"),
    path("api/docs/openapi.json", api_pages.api_docs_schema, name="api_docs_schema"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("account/", include("trial.staff.urls")),
    path("", include(trial_patterns)),
    path("", include("questionnaires.urls")),
    path("", include("randomization.urls")),
    path("", include("followup.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "trial.errors.bad_request"
handler403 = "trial.errors.permission_denied"
handler404 = "trial.errors.page_not_found"
handler500 = "trial.errors.server_error"
