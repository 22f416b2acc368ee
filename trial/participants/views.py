"""The participant pages: the list, a participant's page and history, and death and
withdrawal, the two records that end a participant's follow-up at once.

Which participants a user sees is decided by ``trial.access.participants_for``.
The death and withdrawal forms only validate and convert;
``trial.participants.services.death_record`` / ``withdrawal_record``
decide, lock the participant and stop every contact in the same transaction. The follow-up
call log offers the same two services from the nurse's call form.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from trial import access
from trial.audit import audit_entries, mask_identity_changes
from trial.audit_display import audit_lines
from trial.concurrency import VERSION_FIELD
from trial.errors import ServiceError
from trial.forms import DateField, DateInput, apply_errors
from trial.http import AuthedHttpRequest
from trial.models import (
    Death,
    DeathRelation,
    Identity,
    Participant,
    ParticipantStatus,
    SiteKind,
    Withdrawal,
    WithdrawalInitiator,
)
from trial.participants import selectors, services
from trial.participants.forms import ContactDetailsForm, ParticipantFilterForm
from trial.registry import TimelineEvent, lock_message, registry
from trial.staff.selectors import sites_for
from trial.views import PAGE_SIZE, page_number_from


@require_safe
def participant_list(request: AuthedHttpRequest) -> HttpResponse:
    sites = sites_for(request.user).filter(kind=SiteKind.HEMATOLOGY)
    form = ParticipantFilterForm(request.GET or None, sites=sites)
    qs = access.participants_for(request.user).select_related("site")
    if form.is_valid():
        qs = selectors.participant_search(qs, form.cleaned_data["q"])
        if form.cleaned_data["site"]:
            qs = qs.filter(site=form.cleaned_data["site"])
    page = Paginator(qs.order_by("site__code", "sequence"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "trial/participant_list.html", {"form": form, "page": page})


@require_safe
def participant_detail(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = selectors.participant_get_for(request.user, trial_number)
    can_see_identity = access.can_see_identity(request.user, participant)
    identity = (
        Identity.objects.filter(participant=participant).first() if can_see_identity else None
    )
    panels = []
    for panel in registry.panels:
        context = panel.context(request, participant)
        if context:
            panels.append({"template": panel.template, "context": context, "code": panel.code})
    return render(
        request,
        "trial/participant_detail.html",
        {
            "participant": participant,
            "identity": identity,
            "can_see_identity": can_see_identity,
            "can_edit_contact": identity is not None
            and access.can(request.user, "trial:contact_details_edit"),
            "panels": panels,
            "locked": lock_message(participant),
            "timeline": selectors.participant_timeline(request.user, participant),
        },
    )


@require_safe
def participant_history(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = selectors.participant_get_for(request.user, trial_number)
    page_number = page_number_from(request)
    entries = audit_entries(
        participant_id=participant.id, limit=PAGE_SIZE + 1, offset=(page_number - 1) * PAGE_SIZE
    )
    if not access.can_see_identity(request.user, participant):
        entries = mask_identity_changes(entries)
    return render(
        request,
        "trial/participant_history.html",
        {
            "participant": participant,
            "entries": entries[:PAGE_SIZE],
            "lines": audit_lines(entries[:PAGE_SIZE]),
            "page_number": page_number,
            "has_next": len(entries) > PAGE_SIZE,
        },
    )


GET_POST = require_http_methods(["GET", "POST"])


@GET_POST
def contact_details_edit(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    """Change the phone, e-mail, address and language of a participant, with a reason."""
    participant = selectors.participant_get_for(request.user, trial_number)
    # The matrix admits the roles that read identifying data; this is the same rule asked of
    # the participant itself, so a wider matrix entry could not show another site's details.
    if not access.can_see_identity(request.user, participant):
        raise Http404
    identity = Identity.objects.filter(participant=participant).first()
    initial = {"language": participant.language}
    if identity is not None:
        initial.update(phone=identity.phone, email=identity.email, address=identity.address)
    form = ContactDetailsForm(request.POST or None, initial=initial)
    form.fields[VERSION_FIELD] = forms.CharField(
        widget=forms.HiddenInput,
        required=False,
        initial=services.contact_details_version(participant, identity),
    )
    if request.method == "POST" and identity is not None and form.is_valid():
        data = form.cleaned_data
        try:
            changed = services.contact_details_set(
                participant=participant,
                user=request.user,
                phone=data["phone"],
                email=data["email"],
                address=data["address"],
                language=data["language"],
                reason=data["reason"],
                loaded_version=data[VERSION_FIELD] if VERSION_FIELD in request.POST else None,
            )
        except (ValidationError, ServiceError) as exc:
            apply_errors(form, exc)
        else:
            if changed:
                messages.success(request, _("The contact details are saved with the reason."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect(participant)
    return render(
        request,
        "trial/contact_details.html",
        {"participant": participant, "identity": identity, "form": form},
    )


YES_NO = [("", "---------"), ("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]


def yes_no_field(label, help_text="") -> forms.TypedChoiceField:
    """A required yes/no question: unlike a checkbox, 'not answered' cannot pass as 'no'."""
    return forms.TypedChoiceField(
        label=label,
        help_text=help_text,
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        empty_value=None,
    )


class DeathForm(forms.Form):
    date_of_death = DateField(label=gettext_lazy("Date of death"), widget=DateInput())
    relation = forms.ChoiceField(
        label=gettext_lazy("Related to"), choices=[("", "---------"), *DeathRelation.choices]
    )
    cause = forms.CharField(
        label=gettext_lazy("Cause of death"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    source = forms.CharField(
        label=gettext_lazy("How the death became known"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("For example: relative on the phone, hospital record."),
    )


class WithdrawalForm(forms.Form):
    withdrawn_on = DateField(label=gettext_lazy("Date of withdrawal"), widget=DateInput())
    initiated_by = forms.ChoiceField(
        label=gettext_lazy("Withdrawn by"),
        choices=WithdrawalInitiator.choices,
        initial=WithdrawalInitiator.PARTICIPANT,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    data_use_allowed = yes_no_field(
        gettext_lazy("May the data collected so far be used?"),
        gettext_lazy("As the participant decided when withdrawing."),
    )


def _event_page(request, participant, form, *, title: str, lead: str) -> HttpResponse:
    return render(
        request,
        "trial/events/form.html",
        {"participant": participant, "form": form, "title": title, "lead": lead},
    )


@GET_POST
def death_record(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = selectors.participant_get_for(request.user, trial_number)
    # A post goes on to the service even so: if the death was recorded while this form was
    # filled in, the page shows what was recorded next to the entries instead of dropping them.
    if request.method != "POST" and Death.objects.filter(participant=participant).exists():
        messages.info(request, _("The death of this participant is already recorded."))
        return redirect(participant)
    form = DeathForm(request.POST or None, initial={"date_of_death": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.death_record(participant=participant, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The death is recorded. All planned contacts of %(number)s are cancelled.")
                % {"number": participant.trial_number},
            )
            return redirect(participant)
    return _event_page(
        request,
        participant,
        form,
        title=_("Record death"),
        lead=_(
            "Recording the death cancels every planned contact and questionnaire reminder "
            "at once, so that nobody calls the family."
        ),
    )


@GET_POST
def withdrawal_record(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = selectors.participant_get_for(request.user, trial_number)
    if request.method != "POST" and Withdrawal.objects.filter(participant=participant).exists():
        messages.info(request, _("The withdrawal of this participant is already recorded."))
        return redirect(participant)
    form = WithdrawalForm(request.POST or None, initial={"withdrawn_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.withdrawal_record(
                participant=participant, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The withdrawal is recorded. All planned contacts of %(number)s are cancelled.")
                % {"number": participant.trial_number},
            )
            return redirect(participant)
    return _event_page(
        request,
        participant,
        form,
        title=_("Record withdrawal"),
        lead=_("Recording the withdrawal cancels every planned contact at once."),
    )


# --- participant page ------------------------------------------------------------------


def end_of_trial_context(request, participant: Participant) -> dict:
    """The panel with the death and withdrawal records, and the buttons to record them."""
    death = Death.objects.select_related("recorded_by").filter(participant=participant).first()
    withdrawal = (
        Withdrawal.objects.select_related("recorded_by").filter(participant=participant).first()
    )
    user = request.user
    can_death = death is None and participant.status != ParticipantStatus.NOT_INCLUDED
    can_withdraw = withdrawal is None and participant.status in services.WITHDRAWABLE_STATUSES
    can = {
        "death": can_death and access.can(user, "trial:death_record"),
        "withdrawal": can_withdraw and access.can(user, "trial:withdrawal_record"),
    }
    if death is None and withdrawal is None and not any(can.values()):
        return {}
    return {"participant": participant, "death": death, "withdrawal": withdrawal, "can": can}


def end_of_trial_timeline(user, participant: Participant) -> list[TimelineEvent]:
    page = participant.get_absolute_url() + "#end-of-trial"
    events = []
    death = Death.objects.filter(participant=participant).first()
    if death is not None:
        events.append(
            TimelineEvent(
                when=death.date_of_death,
                title=_("Died (%(relation)s)") % {"relation": death.get_relation_display()},
                detail=death.cause,
                kind="death",
                url=page,
            )
        )
    withdrawal = Withdrawal.objects.filter(participant=participant).first()
    if withdrawal is not None:
        events.append(
            TimelineEvent(
                when=withdrawal.withdrawn_on,
                title=_("Withdrew from the trial"),
                detail=withdrawal.reason,
                kind="withdrawal",
                url=page,
            )
        )
    return events
