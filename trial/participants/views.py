"""Death and withdrawal: the two records that end a participant's follow-up at once.

The forms only validate and convert; ``trial.services.death_record`` / ``withdrawal_record``
decide, lock the participant and stop every contact in the same transaction. The follow-up
call log offers the same two services from the nurse's call form.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from trial import access, selectors, services
from trial.forms import DateInput
from trial.http import AuthedHttpRequest
from trial.models import (
    Death,
    DeathRelation,
    Participant,
    ParticipantStatus,
    Withdrawal,
    WithdrawalInitiator,
)
from trial.registry import TimelineEvent
from trial.screening.views import _apply_errors

GET_POST = require_http_methods(["GET", "POST"])

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
    date_of_death = forms.DateField(label=gettext_lazy("Date of death"), widget=DateInput())
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
    withdrawn_on = forms.DateField(label=gettext_lazy("Date of withdrawal"), widget=DateInput())
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
    if Death.objects.filter(participant=participant).exists():
        messages.info(request, _("The death of this participant is already recorded."))
        return redirect(participant)
    form = DeathForm(request.POST or None, initial={"date_of_death": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.death_record(participant=participant, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
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
    if Withdrawal.objects.filter(participant=participant).exists():
        messages.info(request, _("The withdrawal of this participant is already recorded."))
        return redirect(participant)
    form = WithdrawalForm(request.POST or None, initial={"withdrawn_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.withdrawal_record(
                participant=participant, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
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
