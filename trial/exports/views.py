"""Export pages: start an export, follow its progress, download the ZIP.

Access is decided in trial/access.py (coordinators and data managers start exports, monitors
read the log); identified exports are refused by the service for anyone but data managers.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from trial import access
from trial.exports import services as export_services
from trial.exports.models import ExportFormat, ExportRun, ExportStatus
from trial.exports.registry import autodiscover
from trial.http import AuthedHttpRequest
from trial.monitoring.locks import export_lock_note
from trial.views import PAGE_SIZE


class ExportForm(forms.Form):
    exporter = forms.ChoiceField(label=gettext_lazy("What to export"))
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=ExportFormat.choices)
    identified = forms.BooleanField(
        label=gettext_lazy("Identified export (names, CPR numbers, contact details)"),
        required=False,
        help_text=gettext_lazy("Data managers only; the reason is kept in the export log."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for an identified export"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, can_identify: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        exporter = self.fields["exporter"]
        # Declared above as a ChoiceField; the check narrows the base Field that fields holds.
        if isinstance(exporter, forms.ChoiceField):
            exporter.choices = autodiscover().choices()
        if not can_identify:
            del self.fields["identified"]
            del self.fields["reason"]


@require_http_methods(["GET", "POST"])
def export_list(request: AuthedHttpRequest) -> HttpResponse:
    can_identify = access.can(request.user, "export_identified")
    form = ExportForm(request.POST or None, can_identify=can_identify)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = export_services.export_request(
                user=request.user,
                exporter=data["exporter"],
                format=data["format"],
                identified=data.get("identified", False),
                reason=data.get("reason", ""),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("The export is queued; this page shows when it is ready."))
            return redirect("trial:export_detail", run_id=run.id)
    # The whole log stays readable (monitors audit it), a page at a time, newest first.
    runs = ExportRun.objects.select_related("requested_by").order_by("-requested_at", "-pk")
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "trial/exports/list.html",
        {
            "form": form,
            "runs": page,
            "page": page,
            "can_start": access.can(request.user, "export_run"),
            "database_lock": export_lock_note(),
        },
    )


def _run(run_id) -> ExportRun:
    return get_object_or_404(ExportRun.objects.select_related("requested_by"), id=run_id)


@require_GET
def export_detail(request: AuthedHttpRequest, run_id) -> HttpResponse:
    run = _run(run_id)
    # A rendered export says what its README says; one still waiting, the state right now.
    note = run.database_lock or export_lock_note()
    return render(request, "trial/exports/detail.html", {"run": run, "database_lock": note})


@require_GET
def export_status(request: AuthedHttpRequest, run_id) -> JsonResponse:
    run = _run(run_id)
    return JsonResponse(
        {
            "status": run.status,
            "status_display": run.get_status_display(),
            "progress": run.progress,
            "error": run.error,
            "done": run.status in (ExportStatus.DONE, ExportStatus.FAILED, ExportStatus.EXPIRED),
            "download_url": (
                reverse("trial:export_download", args=[run.id])
                if run.status == ExportStatus.DONE
                else ""
            ),
        }
    )


@require_GET
def export_download(request: AuthedHttpRequest, run_id) -> FileResponse:
    run = _run(run_id)
    # The file leaves the system only through here, and only to those who may start exports;
    # an identified file only to data managers.
    if not access.can_download_export(request.user, run):
        raise PermissionDenied
    path = export_services.export_root() / run.file_name
    if run.status != ExportStatus.DONE or not run.file_name or not path.exists():
        raise Http404(_("The export file is not available (expired or failed)."))
    export_services.export_download_record(run=run)
    name = export_services.export_download_name(run)
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)


@require_GET
def annotated_crf(request: AuthedHttpRequest) -> HttpResponse:
    """The blank annotated CRF as PDF, in ``?language=da|en`` (default: the page's language)."""
    from trial.exports.crf import LANGUAGES, annotated_crf_pdf

    language = request.GET.get("language") or (translation.get_language() or "da")[:2]
    if language not in LANGUAGES:
        raise BadRequest(_("The annotated CRF is in Danish (da) or English (en)."))
    response = HttpResponse(annotated_crf_pdf(language), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="vertebra-annotated-crf-{language}.pdf"'
    )
    return response
