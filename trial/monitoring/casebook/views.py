"""Casebook pages: request a participant's casebook or a site's archive, follow its progress,
download it. Who may is in trial/access.py; a participant outside the user's sites is 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from trial import access
from trial.exports.models import ExportStatus
from trial.forms import apply_errors
from trial.http import AuthedHttpRequest
from trial.models import SiteKind
from trial.monitoring.casebook import services
from trial.monitoring.casebook.forms import CasebookForm, SiteArchiveForm
from trial.monitoring.casebook.models import CasebookKind, CasebookRun
from trial.participants.selectors import participant_get_for
from trial.staff.selectors import sites_for

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
RECENT = 10


def _status(run: CasebookRun, download_url: str) -> JsonResponse:
    return JsonResponse(
        {
            "status": run.status,
            "status_display": run.get_status_display(),
            "progress": run.progress,
            "error": run.error,
            "done": run.is_finished,
            "download_url": download_url if run.status == ExportStatus.DONE else "",
        }
    )


def _file(run: CasebookRun, filename: str) -> FileResponse:
    path = services.casebook_root() / run.file_name
    if run.status != ExportStatus.DONE or not run.file_name or not path.exists():
        raise Http404(_("The casebook file is not available (expired or failed)."))
    services.casebook_download_record(run=run)
    return FileResponse(path.open("rb"), as_attachment=True, filename=filename)


@GET_POST
def casebook(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = participant_get_for(request.user, trial_number)
    form = CasebookForm(request.POST or None, initial={"language": participant.language})
    if request.method == "POST" and form.is_valid():
        try:
            services.casebook_request(
                user=request.user,
                participant=participant,
                language=form.cleaned_data["language"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The casebook is being made; this page shows when."))
            return redirect("trial:casebook", trial_number=participant.trial_number)
    runs = list(
        CasebookRun.objects.filter(participant=participant, kind=CasebookKind.PARTICIPANT)
        .select_related("requested_by")
        .order_by("-requested_at")[:RECENT]
    )
    return render(
        request,
        "trial/monitoring/casebook/casebook.html",
        {
            "participant": participant,
            "form": form,
            "runs": runs,
            "latest": runs[0] if runs else None,
            "identified": access.can_see_identity(request.user, participant),
        },
    )


def _participant_run(request: AuthedHttpRequest, trial_number: str, casebook_id) -> CasebookRun:
    participant = participant_get_for(request.user, trial_number)
    run = get_object_or_404(
        CasebookRun, id=casebook_id, participant=participant, kind=CasebookKind.PARTICIPANT
    )
    # A casebook with the name and CPR number goes only to those who read them on the pages.
    if run.identified and not access.can_see_identity(request.user, participant):
        raise Http404
    return run


@require_safe
def casebook_status(request: AuthedHttpRequest, trial_number: str, casebook_id) -> JsonResponse:
    run = _participant_run(request, trial_number, casebook_id)
    url = reverse("trial:casebook_download", args=[trial_number, run.id])
    return _status(run, url)


@require_safe
def casebook_download(request: AuthedHttpRequest, trial_number: str, casebook_id) -> FileResponse:
    run = _participant_run(request, trial_number, casebook_id)
    stamp = run.requested_at.strftime("%Y%m%d-%H%M")
    return _file(run, f"casebook-{trial_number}-{stamp}.pdf")


@GET_POST
def casebook_archive(request: AuthedHttpRequest) -> HttpResponse:
    sites = sites_for(request.user).filter(kind=SiteKind.HEMATOLOGY).order_by("code")
    form = SiteArchiveForm(
        request.POST or None,
        sites=sites,
        initial={"language": translation.get_language() or "en"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.site_archive_request(
                user=request.user,
                site=form.cleaned_data["site"],
                language=form.cleaned_data["language"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The site archive is being made; this page shows when."))
            return redirect("trial:casebook_archive")
    runs = list(
        CasebookRun.objects.filter(kind=CasebookKind.SITE_ARCHIVE)
        .select_related("requested_by", "site")
        .order_by("-requested_at")[:RECENT]
    )
    return render(
        request,
        "trial/monitoring/casebook/archive.html",
        {"form": form, "runs": runs, "latest": runs[0] if runs else None},
    )


def _archive_run(archive_id) -> CasebookRun:
    return get_object_or_404(
        CasebookRun.objects.select_related("site"), id=archive_id, kind=CasebookKind.SITE_ARCHIVE
    )


@require_safe
def casebook_archive_status(request: AuthedHttpRequest, archive_id) -> JsonResponse:
    run = _archive_run(archive_id)
    return _status(run, reverse("trial:casebook_archive_download", args=[run.id]))


@require_safe
def casebook_archive_download(request: AuthedHttpRequest, archive_id) -> FileResponse:
    run = _archive_run(archive_id)
    assert run.site is not None
    stamp = run.requested_at.strftime("%Y%m%d-%H%M")
    return _file(run, f"site-archive-{run.site.code}-{stamp}.zip")
