"""Views of the randomisation app: thin. The matrix (trial/access.py) admits the request, a
selector finds the object within the user's scope, a form validates, a service writes."""

from __future__ import annotations

import csv
import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from randomization import oversight, pdf, printing, selectors, services
from randomization import verification as envelope_verification
from randomization.forms import (
    BatchForm,
    ConfirmForm,
    DeviationAcknowledgeForm,
    DeviationDecideArmForm,
    EnvelopeReportForm,
)
from randomization.models import Arm, BatchPrint, PrintStatus, ProtocolDeviation
from randomization.strata import STRATA
from trial import access
from trial.errors import ServiceError
from trial.http import AuthedHttpRequest
from trial.models import ParticipantStatus, Site, SiteKind
from trial.participants.selectors import participant_get_for, randomisation_blockers


@require_safe
def envelopes(request: AuthedHttpRequest) -> HttpResponse:
    """The coordinator's envelope dashboard: stock per site and stratum, batches, deviations."""
    return render(
        request,
        "randomization/envelopes.html",
        {
            "stock": selectors.stock_overview(),
            "strata": list(STRATA.values()),
            "batches": selectors.batches_for(request.user).order_by("-created_at")[:50],
            "deviations": ProtocolDeviation.objects.select_related(
                "participant", "reported_by"
            ).filter(acknowledged_at=None)[:50],
            "threshold": settings.RANDOMISATION_STOCK_THRESHOLD,
            "form": BatchForm() if access.can(request.user, "randomization:batch_create") else None,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def batch_create(request: AuthedHttpRequest) -> HttpResponse:
    form = BatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            batch = services.envelope_batch_generate(
                site=data["site"],
                stratum=data["stratum"],
                count=data["count"],
                block_sizes=data["block_sizes"],
                note=data["note"],
                user=request.user,
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Batch generated: %(count)d envelopes, %(range)s.")
                % {"count": batch.size, "range": batch.serial_range()},
            )
            return redirect("randomization:batch_detail", batch_id=batch.pk)
    return render(request, "randomization/batch_form.html", {"form": form})


@require_safe
def batch_detail(request: AuthedHttpRequest, batch_id: int) -> HttpResponse:
    batch = selectors.batch_get_for(request.user, batch_id)
    return render(
        request,
        "randomization/batch_detail.html",
        {
            "batch": batch,
            "stratum": STRATA[batch.stratum],
            "rows": selectors.batch_overview(batch),
            "prints": (prints := selectors.print_jobs(batch)),
            # While a job is queued or generating the page reloads itself to show its state.
            "refresh": any(not job.finished for job in prints),
            "can_print": access.can(request.user, "randomization:batch_pdf"),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def batch_pdf(request: AuthedHttpRequest, batch_id: int) -> HttpResponse | FileResponse:
    """POST: have the batch PDF rendered (in the background; logged). GET ``?print=<id>``:
    download a rendered one."""
    batch = selectors.batch_get_for(request.user, batch_id)
    if request.method == "POST":
        record = printing.batch_print_request(
            batch=batch, user=request.user, language=translation.get_language() or ""
        )
        # Say what really happened: with tasks run in-process the PDF is ready already.
        state = selectors.print_state(BatchPrint.objects.get(pk=record.pk))
        if state == "ready":
            messages.success(request, _("The PDF is ready: download it under “Printed” below."))
        elif state == "failed":
            messages.error(
                request, _("The PDF could not be prepared. See “Printed” below to try again.")
            )
        else:
            messages.info(
                request,
                _("The PDF is queued. Its state is shown under “Printed” below as it changes."),
            )
        return redirect("randomization:batch_detail", batch_id=batch.pk)
    print_id = request.GET.get("print", "")
    if not print_id.isdigit():
        # No rendered file asked for: offer to prepare one (a GET never renders).
        return render(request, "randomization/batch_pdf.html", {"batch": batch})
    record = get_object_or_404(BatchPrint, batch=batch, pk=print_id, status=PrintStatus.READY)
    path = printing.batch_pdf_path(record)
    if not path.exists():
        raise Http404
    printing.batch_print_downloaded(record=record)
    filename = f"envelopes-{batch.site.code}-{batch.stratum}-{batch.pk}.pdf"
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf"
    )
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def allocation_list(request: AuthedHttpRequest) -> HttpResponse:
    # The matrix admits data managers, and coordinators only if the trial allows; this repeats
    # the rule so that the list stays closed even if the matrix were loosened by mistake.
    if not selectors.can_see_allocation_list(request.user):
        raise PermissionDenied
    services.allocation_list_view_record(user=request.user, what=request.get_full_path())
    site, stratum = _allocation_filter(request)
    response = render(
        request,
        "randomization/allocation_list.html",
        {
            "envelopes": selectors.allocation_list(site=site, stratum=stratum),
            "site_codes": Site.objects.filter(kind=SiteKind.HEMATOLOGY)
            .order_by("code")
            .values_list("code", flat=True),
            "strata": list(STRATA.values()),
            "chosen": {"site": site, "stratum": stratum},
            "csv_query": request.GET.urlencode(),
            "log_url": reverse("randomization:allocation_views")
            if access.can(request.user, "randomization:allocation_views")
            else "",
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def allocation_list_csv(request: AuthedHttpRequest) -> StreamingHttpResponse:
    """The allocation list as CSV; logged like every view of the page."""
    if not selectors.can_see_allocation_list(request.user):
        raise PermissionDenied
    services.allocation_list_view_record(user=request.user, what=request.get_full_path())
    site, stratum = _allocation_filter(request)
    writer = csv.writer(_Echo())
    header = [
        "serial",
        "site",
        "stratum",
        "batch",
        "block_number",
        "block_size",
        "position_in_block",
        "arm",
        "participant",
        "used_at",
        "state",
        "card_arm",
    ]

    def rows():
        yield writer.writerow(header)
        for e in selectors.allocation_list(site=site, stratum=stratum).iterator(chunk_size=500):
            yield writer.writerow(
                [
                    e.serial,
                    e.site.code,
                    e.stratum,
                    e.batch_id,
                    e.block_number,
                    e.block_size,
                    e.position_in_block,
                    e.arm,
                    e.participant.trial_number if e.participant else "",
                    e.used_at.isoformat() if e.used_at else "",
                    e.state,
                    e.card_arm,
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="allocation-list-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _allocation_filter(request: HttpRequest) -> tuple[str, str]:
    """The site code and stratum asked for; anything unknown is ignored (the whole list)."""
    site = request.GET.get("site", "").strip().upper()
    stratum = request.GET.get("stratum", "").strip().upper()
    if site and not Site.objects.filter(code=site, kind=SiteKind.HEMATOLOGY).exists():
        site = ""
    return site, stratum if stratum in STRATA else ""


@require_safe
def allocation_views(request: AuthedHttpRequest) -> HttpResponse:
    """The log of the allocation list: who looked, when, page or CSV, with which filter."""
    page = Paginator(selectors.allocation_list_views(), VIEW_LOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "randomization/allocation_views.html",
        {"page": page, "looks": [selectors.allocation_list_look(v) for v in page]},
    )


VIEW_LOG_PAGE_SIZE = 50


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_http_methods(["GET", "HEAD", "POST"])
def deviation_list(request: AuthedHttpRequest) -> HttpResponse:
    """Protocol deviations, unacknowledged first; the coordinator acknowledges with a note and
    may decide the arm that stands. Below them, envelopes reported spoiled or missing."""
    can_acknowledge = access.can(request.user, "randomization:deviations")
    can_decide = access.can(request.user, "deviation_decide_arm")
    if request.method == "POST" and request.POST.get("action") == "decide":
        if not can_decide:
            raise PermissionDenied
        decide_form = DeviationDecideArmForm(request.POST)
        if decide_form.is_valid():
            data = decide_form.cleaned_data
            deviation = get_object_or_404(ProtocolDeviation, pk=data["deviation"])
            try:
                oversight.deviation_decide_arm(
                    deviation=deviation, user=request.user, arm=data["arm"], reason=data["reason"]
                )
            except ServiceError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request,
                    _("The arm that stands for %(number)s is recorded.")
                    % {"number": deviation.participant.trial_number},
                )
                return redirect("randomization:deviations")
        else:
            messages.error(request, _("Choose the arm that stands and give a reason."))
    elif request.method == "POST":
        if not can_acknowledge:
            raise PermissionDenied
        form = DeviationAcknowledgeForm(request.POST)
        if form.is_valid():
            deviation = get_object_or_404(ProtocolDeviation, pk=form.cleaned_data["deviation"])
            try:
                oversight.deviation_acknowledge(
                    deviation=deviation, user=request.user, note=form.cleaned_data["note"]
                )
            except ServiceError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request,
                    _("Deviation for %(number)s acknowledged.")
                    % {"number": deviation.participant.trial_number},
                )
                return redirect("randomization:deviations")
        else:
            messages.error(request, _("Write a note saying what was done about the deviation."))
    return render(
        request,
        "randomization/deviations.html",
        {
            "deviations": selectors.deviations_for_review()[:500],
            "reported": selectors.envelopes_reported()[:500],
            "can_acknowledge": can_acknowledge,
            "can_decide": can_decide,
            "decidable_kinds": oversight.DECIDABLE_KINDS,
            "arms": Arm.choices,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def envelope_report(request: AuthedHttpRequest) -> HttpResponse:
    """Site staff report a sealed envelope spoiled or missing (serial and reason)."""
    form = EnvelopeReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            envelope = services.envelope_report(
                user=request.user, serial=data["serial"], state=data["state"], reason=data["reason"]
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Envelope %(serial)s is recorded as %(state)s. The coordinator can see it.")
                % {"serial": envelope.serial, "state": envelope.get_state_display()},
            )
            return redirect("randomization:envelope_report")
    # Only a link back; an odd value is dropped rather than reversed into a URL.
    back = request.GET.get("participant", "")
    return render(
        request,
        "randomization/envelope_report.html",
        {"form": form, "back": back if re.fullmatch(r"[\w-]{1,30}", back) else ""},
    )


@require_safe
def verification(request: AuthedHttpRequest) -> HttpResponse:
    return render(
        request,
        "randomization/verification.html",
        {"report": envelope_verification.verification_report()},
    )


@require_safe
def verification_pdf(request: AuthedHttpRequest) -> HttpResponse:
    response = HttpResponse(
        pdf.verification_pdf(envelope_verification.verification_report()),
        content_type="application/pdf",
    )
    response["Content-Disposition"] = 'attachment; filename="randomisation-verification.pdf"'
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def participant_randomise(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = participant_get_for(request.user, trial_number)
    allocation = selectors.allocation_for(participant)
    if allocation is not None:
        # Re-opened (a bookmark, the back button, a second tab): say so instead of silently
        # moving on, and point to what is left to do. Nothing here shows the arm.
        return render(
            request,
            "randomization/already_randomised.html",
            {
                "participant": participant,
                "allocation": allocation,
                "can_confirm": not allocation.is_confirmed
                and access.can(request.user, "randomization:allocation_confirm", participant),
            },
            status=409 if request.method == "POST" else 200,
        )
    if request.method == "POST":
        try:
            services.participant_randomize(participant=participant, user=request.user)
        except services.RandomisationRefused as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("randomization:participant_randomise", trial_number=trial_number)
        return redirect("randomization:allocation_confirm", trial_number=trial_number)
    stratum, stratum_problems = services.participant_stratum_check(participant)
    blockers = randomisation_blockers(participant)
    stock = selectors.sealed_envelopes_left(participant.site, stratum.code) if stratum else None
    # An empty stratum is said before the click, not only refused after it.
    stock_problems = (
        [services.no_stock_message(participant.site, stratum)]
        if stratum is not None and not stock
        else []
    )
    return render(
        request,
        "randomization/randomise.html",
        {
            "participant": participant,
            "stratum": stratum,
            "problems": [*blockers, *stratum_problems, *stock_problems],
            "stock": stock,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def allocation_confirm(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = participant_get_for(request.user, trial_number)
    allocation = selectors.allocation_for(participant)
    if allocation is None:
        return redirect("randomization:participant_randomise", trial_number=trial_number)
    if allocation.is_confirmed:
        return redirect(participant.get_absolute_url())
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            allocation = services.allocation_confirm(
                allocation=allocation,
                user=request.user,
                serial=form.cleaned_data["serial"],
                arm=form.cleaned_data["arm"],
                named_still_sealed=form.cleaned_data["named_still_sealed"],
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            if allocation.mismatch:
                messages.warning(
                    request,
                    _(
                        "The envelope does not match the envelope named or its arm. This is "
                        "recorded as a protocol deviation and the coordinator has been told. "
                        "The allocation that stands is the arm on the card: %(arm)s, unless "
                        "the coordinator decides otherwise."
                    )
                    % {"arm": allocation.get_arm_display()},
                )
            else:
                messages.success(
                    request,
                    _("Envelope %(serial)s confirmed: %(arm)s.")
                    % {"serial": allocation.envelope.serial, "arm": allocation.get_arm_display()},
                )
            return redirect(participant.get_absolute_url())
    return render(
        request,
        "randomization/confirm.html",
        {
            "participant": participant,
            "allocation": allocation,
            "stratum": STRATA[allocation.stratum],
            "form": form,
        },
    )


# --- the participant page: panel and timeline (registered in apps.py) -----------------------


def participant_panel(request: HttpRequest, participant) -> dict:
    allocation = selectors.allocation_for(participant)
    may_confirm = access.can_change(request.user, "randomization:allocation_confirm", participant)
    may_randomise = access.can_change(
        request.user, "randomization:participant_randomise", participant
    )
    if allocation is not None:
        revealed = selectors.allocation_revealed(allocation)
        return {
            "participant": participant,
            "allocation": allocation,
            "revealed": revealed,
            # The template never reads the allocation's arm itself: only this label, once
            # the allocation is revealed.
            "arm_label": allocation.get_arm_display() if revealed else "",
            "stratum": STRATA.get(allocation.stratum),
            "can_confirm": may_confirm and not allocation.is_confirmed,
            "deviations": participant.protocol_deviations.all(),
        }
    if participant.status != ParticipantStatus.SCREENING:
        return {}
    stratum, stratum_problems = services.participant_stratum_check(participant)
    blockers = randomisation_blockers(participant)
    return {
        "participant": participant,
        "allocation": None,
        "stratum": stratum,
        "stratum_problems": stratum_problems,
        "blocker_count": len(blockers),
        "can_randomise": may_randomise and not blockers and stratum is not None,
        "randomise_url": reverse(
            "randomization:participant_randomise", args=[participant.trial_number]
        ),
    }
