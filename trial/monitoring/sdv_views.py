"""Source-data verification pages: the monitor's worklist, and marking a form verified (from
the worklist, the participant page, or the participant's own verification page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from trial import access
from trial.http import AuthedHttpRequest
from trial.models import SiteKind
from trial.monitoring import panels, sdv, services
from trial.monitoring.forms import SdvFilterForm, SdvMarkForm
from trial.participants.selectors import participant_get_for
from trial.staff.selectors import sites_for
from trial.views import PAGE_SIZE


@require_safe
def sdv_worklist(request: AuthedHttpRequest) -> HttpResponse:
    sites = sites_for(request.user).filter(kind=SiteKind.HEMATOLOGY).order_by("code")
    form = SdvFilterForm(request.GET or None, sites=sites, forms_to_verify=sdv.sdv_form_choices())
    filters = form.cleaned_data if form.is_valid() else {}
    rows = sdv.worklist(
        request.user, site_code=filters.get("site") or "", form=filters.get("form") or ""
    )
    object_list: Any = rows if rows is not None else []
    page = Paginator(object_list, PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {k: v for k, v in request.GET.items() if k != "page" and v}
    return render(
        request,
        "trial/monitoring/sdv_worklist.html",
        {
            "form": form,
            "page": page,
            "rows": sdv.worklist_page(page.object_list),
            "query": urlencode(kept),
            "may_verify": access.can(request.user, "trial:sdv_mark"),
            "here": request.get_full_path(),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def sdv_mark(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    """GET: the participant's forms to verify, on a page of their own; POST: mark one."""
    participant = participant_get_for(request.user, trial_number)
    if request.method != "POST":
        return render(
            request,
            "trial/monitoring/sdv_participant.html",
            {"participant": participant, "ctx": panels.sdv_context(request, participant)},
        )
    form = SdvMarkForm(request.POST)
    back = participant.get_absolute_url() + "#sdv"
    if form.is_valid():
        wanted = form.cleaned_data["next"]
        # Only a path of this site: "abc" would be read as a view name, "//x" as another host.
        if wanted.startswith("/") and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = wanted
        try:
            verification = services.sdv_mark(
                participant=participant,
                form=form.cleaned_data["form"],
                visit_code=form.cleaned_data["visit_code"],
                record_id=form.cleaned_data["record"],
                user=request.user,
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            sdv_form = sdv.SDV_FORMS_BY_CODE[verification.form]
            messages.success(
                request,
                _("%(form)s of %(trial_number)s is marked verified against the source.")
                % {"form": sdv_form.label, "trial_number": participant.trial_number},
            )
    else:
        messages.error(request, _("Choose a form of this participant to verify."))
    return redirect(back)
