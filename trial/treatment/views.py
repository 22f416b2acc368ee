"""Pages for treatment and clinical events: PVP procedure, usual care, crossover, adverse
events, radiographic controls and the coordinator's list of serious adverse events.

Each view: the scoped lookup, a form, a service call, a redirect. Roles that may only read a
record are sent to the participant page, where the panels show everything.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from trial import access
from trial.concurrency import form_version, version_field_add
from trial.forms import apply_errors
from trial.http import AuthedHttpRequest
from trial.models import (
    AdverseEvent,
    Participant,
    Procedure,
    RadiographicControl,
    RadiographKind,
    UsualCare,
)
from trial.participants import selectors
from trial.registry import form_prefill
from trial.treatment import adverse_events
from trial.treatment import selectors as tselectors
from trial.treatment import services as tservices
from trial.treatment.forms import (
    AdverseEventForm,
    CrossoverForm,
    RadiographForm,
    SaeAcknowledgeForm,
    UsualCareForm,
    picked_levels,
    procedure_forms,
    procedure_forms_valid,
)

GET_POST = require_http_methods(["GET", "HEAD", "POST"])


def _to_panel(participant: Participant, anchor: str = "treatment"):
    return redirect(participant.get_absolute_url() + f"#{anchor}")


def _read_page(
    request: AuthedHttpRequest,
    participant: Participant,
    *,
    title: str,
    message: str = "",
    panel: str = "treatment",
) -> HttpResponse:
    """What a role that only reads (or a refused request) sees: the records, and why the
    form is not offered."""
    from trial.treatment import panels as treatment_panels

    if panel == "adverse-events":
        template = "trial/treatment/panel_adverse_events.html"
        ctx = treatment_panels.adverse_events_context(request, participant)
    else:
        template = "trial/treatment/panel_treatment.html"
        ctx = treatment_panels.treatment_context(request, participant)
    return render(
        request,
        "trial/treatment/read.html",
        {
            "participant": participant,
            "title": title,
            "message": message,
            "panel_template": template if ctx else "",
            "ctx": ctx,
        },
    )


# --- PVP procedure ------------------------------------------------------------------------


@GET_POST
def procedure(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = selectors.participant_get_for(request.user, trial_number)
    title = _("PVP procedure")
    refusal = tservices.procedure_refusal(participant)
    if not access.can(request.user, "trial:procedure") or refusal:
        return _read_page(request, participant, title=title, message=refusal or "")
    existing = Procedure.objects.filter(participant=participant).first()
    surgical_site = participant.site.surgical_partner
    form, level_forms = procedure_forms(
        request.POST or None,
        procedure=existing,
        default_facility=surgical_site.name if surgical_site else "",
    )
    version_field_add(form, existing)
    if request.method == "POST" and procedure_forms_valid(form, level_forms):
        data = form.cleaned_data
        try:
            tservices.procedure_record(
                participant=participant,
                user=request.user,
                procedure_date=data["procedure_date"],
                facility=data["facility"],
                anaesthesia=data["anaesthesia"],
                biopsy_taken=data["biopsy_taken"],
                biopsy_result=data["biopsy_result"],
                complications=data["complications"],
                complications_details=data["complications_details"],
                discharge_date=data["discharge_date"],
                levels=[level_forms[code].as_row() for code in data["levels"]],
                reason=data.get("reason", ""),
                loaded_version=form_version(form),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The PVP procedure is saved."))
            return _to_panel(participant)
    picked = picked_levels(form)
    comparison = tselectors.level_comparison(participant, picked)
    return render(
        request,
        "trial/treatment/procedure.html",
        {
            "participant": participant,
            "form": form,
            "level_rows": [(code, level_forms[code], code in picked) for code in level_forms],
            "comparison": comparison,
            "title": title,
            "editing": existing is not None,
        },
    )


# --- usual care ---------------------------------------------------------------------------


@GET_POST
def usual_care(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = selectors.participant_get_for(request.user, trial_number)
    refusal = tservices.usual_care_refusal(participant)
    if not access.can(request.user, "trial:usual_care") or refusal:
        return _read_page(request, participant, title=_("Usual care"), message=refusal or "")
    existing = UsualCare.objects.filter(participant=participant).first()
    form = UsualCareForm(
        request.POST or None, instance=existing or UsualCare(participant=participant)
    )
    version_field_add(form, existing)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in UsualCareForm.Meta.fields}
        try:
            tservices.usual_care_record(
                participant=participant,
                user=request.user,
                reason=form.cleaned_data.get("reason", ""),
                loaded_version=form_version(form),
                **values,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Usual care is saved."))
            return _to_panel(participant)
    return render(
        request,
        "trial/treatment/form.html",
        {
            "participant": participant,
            "form": form,
            "title": _("Usual care"),
            "lead": _(
                "What usual care includes now. Update it when it changes; earlier versions "
                "stay in the audit history."
            ),
        },
    )


# --- crossover ----------------------------------------------------------------------------


@GET_POST
def crossover(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = selectors.participant_get_for(request.user, trial_number)
    refusal = tservices.crossover_refusal(participant)
    # Without a refusal the participant is randomised, so day0 is known below.
    day0 = tservices.randomised_on(participant)
    if not access.can(request.user, "trial:crossover") or refusal or day0 is None:
        return _read_page(request, participant, title=_("Crossover to PVP"), message=refusal or "")
    may_override = access.can(request.user, "crossover_allow_early")
    form = CrossoverForm(request.POST or None, may_override=may_override)
    version_field_add(form, None)  # recorded once: the page is only offered before that
    if request.method == "POST" and form.is_valid():
        try:
            tservices.crossover_record(
                participant=participant,
                user=request.user,
                crossover_date=form.cleaned_data["crossover_date"],
                reason=form.cleaned_data["reason"],
                override_reason=form.cleaned_data.get("override_reason", ""),
                loaded_version=form_version(form),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The crossover is recorded. Record the PVP procedure when it is done."),
            )
            return _to_panel(participant)
    earliest = tservices.crossover_earliest_day()
    return render(
        request,
        "trial/treatment/form.html",
        {
            "participant": participant,
            "form": form,
            "title": _("Crossover to PVP"),
            "lead": _(
                "Randomised %(date)s. A crossover is possible from day %(day)d (%(from)s); "
                "before that only the coordinator can allow it, with a reason. The allocated "
                "arm does not change."
            )
            % {
                "date": day0.isoformat(),
                "day": earliest,
                "from": (day0 + dt.timedelta(days=earliest)).isoformat(),
            },
        },
    )


# --- adverse events -----------------------------------------------------------------------


@GET_POST
def adverse_event_create(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = selectors.participant_get_for(request.user, trial_number)
    refusal = adverse_events.adverse_event_refusal(participant)
    if not access.can(request.user, "trial:adverse_event_create") or refusal:
        return _read_page(
            request,
            participant,
            title=_("Adverse events"),
            message=refusal or "",
            panel="adverse-events",
        )
    form = AdverseEventForm(
        request.POST or None,
        instance=AdverseEvent(participant=participant),
        initial=form_prefill(
            "adverse_event", user=request.user, participant=participant, params=request.GET
        ),
    )
    if request.method == "POST" and form.is_valid():
        try:
            event = adverse_events.adverse_event_record(
                participant=participant, user=request.user, **form.values()
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if event.serious:
                messages.success(
                    request,
                    _(
                        "The serious adverse event is recorded; the e-mail to the coordinator "
                        "is queued."
                    ),
                )
            else:
                messages.success(request, _("The adverse event is recorded."))
            return _to_panel(participant, "adverse-events")
    return render(
        request,
        "trial/treatment/adverse_event.html",
        {"participant": participant, "form": form, "title": _("Record adverse event")},
    )


@GET_POST
def adverse_event_edit(request: AuthedHttpRequest, trial_number: str, ae_id: int) -> HttpResponse:
    participant = selectors.participant_get_for(request.user, trial_number)
    event = get_object_or_404(AdverseEvent, pk=ae_id, participant=participant)
    if not access.can(request.user, "trial:adverse_event_edit"):
        return _read_page(request, participant, title=_("Adverse events"), panel="adverse-events")
    form = AdverseEventForm(request.POST or None, instance=event)
    version_field_add(form, event)
    if request.method == "POST" and form.is_valid():
        try:
            adverse_events.adverse_event_update(
                event=event,
                user=request.user,
                reason=form.cleaned_data.get("reason", ""),
                loaded_version=form_version(form),
                **form.values(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The adverse event is updated."))
            return _to_panel(participant, "adverse-events")
    return render(
        request,
        "trial/treatment/adverse_event.html",
        {"participant": participant, "form": form, "title": _("Update adverse event")},
    )


# --- radiographic controls ----------------------------------------------------------------


@GET_POST
def radiograph(request: AuthedHttpRequest, trial_number: str, control_kind: str) -> HttpResponse:
    participant = selectors.participant_get_for(request.user, trial_number)
    if control_kind not in RadiographKind.values:
        raise Http404
    # Rendered in this request's language either way; str() gives _read_page the str it takes.
    title = str(RadiographKind(control_kind).label)
    refusal = tservices.radiograph_refusal(participant, control_kind)
    if not access.can(request.user, "trial:radiograph") or refusal:
        return _read_page(request, participant, title=title, message=refusal or "")
    existing = RadiographicControl.objects.filter(
        participant=participant, kind=control_kind
    ).first()
    form = RadiographForm(
        request.POST or None,
        instance=existing or RadiographicControl(participant=participant, kind=control_kind),
    )
    version_field_add(form, existing)
    if request.method == "POST" and form.is_valid():
        try:
            tservices.radiograph_record(
                participant=participant,
                user=request.user,
                kind=control_kind,
                reason=form.cleaned_data.get("reason", ""),
                loaded_version=form_version(form),
                **form.values(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The radiographic control is saved."))
            return _to_panel(participant)
    return render(
        request,
        "trial/treatment/radiograph.html",
        {
            "participant": participant,
            "form": form,
            "title": title,
            "treated": list(
                Procedure.objects.filter(participant=participant).values_list(
                    "levels__level", flat=True
                )
            ),
        },
    )


# --- serious adverse events ---------------------------------------------------------------


@GET_POST
def sae_list(request: AuthedHttpRequest) -> HttpResponse:
    events = tselectors.serious_adverse_events(request.user)
    if request.method == "POST":
        form = SaeAcknowledgeForm(request.POST)
        if not form.is_valid():
            # The list's buttons always send an event's number: anything else is not ours.
            raise BadRequest("ae_id must be the number of an adverse event")
        event = get_object_or_404(events, pk=form.cleaned_data["ae_id"])
        try:
            adverse_events.sae_acknowledge(event=event, user=request.user)
        except ValidationError as exc:
            messages.warning(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("The serious adverse event of %(number)s is acknowledged.")
                % {"number": event.participant.trial_number},
            )
        return redirect("trial:sae_list")
    shown = list(events[:500])
    return render(
        request,
        "trial/treatment/sae_list.html",
        {
            "events": shown,
            "pending": sum(1 for e in shown if e.acknowledged_at is None),
            "may_acknowledge": access.can(request.user, "sae_acknowledge"),
        },
    )
