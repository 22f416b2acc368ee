"""The DMC safety report's pages: the open version (pooled) and the closed one (by arm), each
on screen and as PDF, every look logged; and the coordinator's page naming who may open the
closed version. The tables come from trial.reports.dmc, the CONSORT figure from
trial.reports.consort_figure."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from trial import access
from trial.errors import ServiceError
from trial.forms import apply_errors
from trial.http import AuthedHttpRequest
from trial.models import Role
from trial.reports import dmc, dmc_access, dmc_selectors
from trial.reports.consort_figure import consort_figure
from trial.reports.consort_flow import consort_flow
from trial.reports.models import DmcReportFormat, DmcReportVersion


def _context(closed: bool) -> dict:
    context = dmc.dmc_report(closed=closed)
    if closed:
        flow = consort_flow()
        context |= {"flow": flow, "figure": consort_figure(flow)}
    return context


def _page(request: AuthedHttpRequest, *, closed: bool) -> HttpResponse:
    version = DmcReportVersion.CLOSED if closed else DmcReportVersion.OPEN
    dmc_access.dmc_report_access_record(
        user=request.user, version=version, format=DmcReportFormat.PAGE
    )
    context = _context(closed)
    context["may_open_closed"] = access.can_open_closed_dmc_report(request.user)
    return render(request, "trial/reports/dmc_report.html", context)


def _pdf(request: AuthedHttpRequest, *, closed: bool) -> HttpResponse:
    # Aggregate tables in a constant number of queries, rendered inside the request like the
    # outcome report's PDF.
    from weasyprint import HTML

    version = DmcReportVersion.CLOSED if closed else DmcReportVersion.OPEN
    html = render_to_string("trial/reports/dmc_report_pdf.html", _context(closed), request=request)
    pdf = HTML(string=html).write_pdf()
    dmc_access.dmc_report_access_record(
        user=request.user, version=version, format=DmcReportFormat.PDF
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="vertebra-dmc-{version}-{stamp}.pdf"'
    return response


def _closed_only(request: AuthedHttpRequest) -> None:
    # Asked of the stored setting itself, besides the matrix entry that reads it too.
    if not access.can_open_closed_dmc_report(request.user):
        raise PermissionDenied


@require_safe
def dmc_open(request: AuthedHttpRequest) -> HttpResponse:
    return _page(request, closed=False)


@require_safe
def dmc_open_pdf(request: AuthedHttpRequest) -> HttpResponse:
    return _pdf(request, closed=False)


@require_safe
def dmc_closed(request: AuthedHttpRequest) -> HttpResponse:
    _closed_only(request)
    return _page(request, closed=True)


@require_safe
def dmc_closed_pdf(request: AuthedHttpRequest) -> HttpResponse:
    _closed_only(request)
    return _pdf(request, closed=True)


class DmcSettingsForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=gettext_lazy("Roles that may open the closed report (by arm)"),
        choices=lambda: [(code, Role(code).label) for code in access.dmc_nameable_roles()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    reason = forms.CharField(label=gettext_lazy("Reason for the change"), max_length=500)


@require_http_methods(["GET", "HEAD", "POST"])
def dmc_settings(request: AuthedHttpRequest) -> HttpResponse:
    current = dmc_selectors.dmc_settings()
    may_edit = access.can(request.user, "trial:dmc_settings")
    form = DmcSettingsForm(initial={"roles": current.closed_report_roles})
    if request.method == "POST":
        form = DmcSettingsForm(request.POST)
        if form.is_valid():
            try:
                dmc_access.dmc_closed_roles_set(
                    user=request.user,
                    roles=form.cleaned_data["roles"],
                    reason=form.cleaned_data["reason"],
                )
            except (ServiceError, ValidationError) as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Who may open the closed DMC report is saved."))
                return redirect("trial:dmc_settings")
    history = list(current.history.select_related("history_user")[:20]) if current.pk else []
    named = dmc_selectors.dmc_closed_roles()
    return render(
        request,
        "trial/reports/dmc_settings.html",
        {
            "form": form,
            "may_edit": may_edit,
            "named": [Role(code).label for code in access.dmc_nameable_roles() if code in named],
            "history": history,
            "accesses": dmc_selectors.dmc_report_accesses(),
            "may_open_closed": access.can_open_closed_dmc_report(request.user),
        },
    )
