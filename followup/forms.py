"""Forms of the follow-up app: they validate and convert, services write."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from followup.models import CallOutcome
from followup.services import DeathInput, VisitItemsInput, WithdrawalInput
from questionnaires.instruments import get_instrument
from trial.forms import DateField
from trial.models import DeathRelation, Site, WithdrawalInitiator
from trial.protocol.schedule import ADVERSE_EVENTS, CROSSOVER, PAIN_MEDICATION

YES_NO = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]
SEND_CHOICES = [
    ("", _("Taken by phone now (or not at this call)")),
    ("email", _("Send as a personal link by e-mail")),
    ("sms", _("Send as a personal link by text message")),
]


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class SiteFilterForm(forms.Form):
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none(), required=False)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        # Form.fields is typed as plain Field; this one is the ModelChoiceField declared above.
        cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites


class CallLogForm(forms.Form):
    """One call. Which item fields exist depends on what the visit collects, the arm (crossover
    is asked in the conservative arm only) and which questionnaires are taken by phone here."""

    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=CallOutcome.choices, widget=forms.RadioSelect
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, collects, phone_instruments, conservative_arm, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.collects = set(collects)
        self.phone_instruments = phone_instruments
        self.today = today
        f = self.fields
        if PAIN_MEDICATION in self.collects:
            f["opioid_omeq_mg"] = forms.IntegerField(
                label=_("Opioids: daily oral-morphine-equivalent dose (mg)"),
                min_value=0,
                max_value=5000,
                required=False,
                help_text=_("0 when no opioids; empty when not known."),
            )
            f["pain_medication"] = forms.CharField(
                label=_("Other pain medication and changes"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        if ADVERSE_EVENTS in self.collects:
            f["new_adverse_events"] = forms.ChoiceField(
                label=_("New adverse events since the last contact?"),
                choices=YES_NO,
                required=False,
            )
            f["adverse_events_description"] = forms.CharField(
                label=_("Adverse events, short description"), required=False, max_length=500
            )
        if CROSSOVER in self.collects and conservative_arm:
            f["crossover_wish"] = forms.ChoiceField(
                label=_("Does the patient wish to cross over to PVP?"),
                choices=YES_NO,
                required=False,
            )
        for code in phone_instruments:
            for item in get_instrument(code).items:
                f[f"q_{item.code}"] = forms.IntegerField(
                    label=ITEM_LABELS.get(item.code, item.code),
                    min_value=item.min_value,
                    max_value=item.max_value,
                    required=False,
                    widget=forms.NumberInput(
                        attrs={"class": "form-control", "data-instrument": code}
                    ),
                )
        if phone_instruments:
            f["send_link_via"] = forms.ChoiceField(
                label=_("Questionnaires"), choices=SEND_CHOICES, required=False
            )
        # Death and withdrawal are asked in the same form, shown by outcome (js/screening.js).
        f["date_of_death"] = DateField(
            label=_("Date of death"),
            required=False,
        )
        f["death_relation"] = forms.ChoiceField(
            label=_("Death related to"),
            choices=DeathRelation.choices,
            initial=DeathRelation.UNKNOWN,
            required=False,
        )
        f["death_cause"] = forms.CharField(label=_("Cause of death (if known)"), required=False)
        f["withdrawn_on"] = DateField(
            label=_("Date of withdrawal"),
            required=False,
            initial=today,
        )
        f["withdrawal_reason"] = forms.CharField(label=_("Reason for withdrawal"), required=False)
        f["data_use_allowed"] = forms.ChoiceField(
            label=_("May the data collected so far be used?"), choices=YES_NO, required=False
        )
        f["withdrawal_initiated_by"] = forms.ChoiceField(
            label=_("Withdrawn by"),
            choices=WithdrawalInitiator.choices,
            initial=WithdrawalInitiator.PARTICIPANT,
            required=False,
        )

    def questionnaire_fields(self):
        return [self[name] for name in self.fields if name.startswith("q_")]

    def questionnaire_groups(self):
        """(instrument label, bound fields) per questionnaire taken in this form."""
        from trial.protocol.visits import INSTRUMENT_LABELS

        return [
            (
                INSTRUMENT_LABELS.get(code, code),
                [self[f"q_{item.code}"] for item in get_instrument(code).items],
            )
            for code in self.phone_instruments
        ]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        outcome = data.get("outcome")
        if outcome == CallOutcome.REACHED:
            if (
                data.get("new_adverse_events") == "yes"
                and not data.get("adverse_events_description", "").strip()
            ):
                self.add_error(
                    "adverse_events_description", _("Describe the new adverse events briefly.")
                )
            if data.get("send_link_via") and any(
                data.get(name) is not None for name in self.fields if name.startswith("q_")
            ):
                self.add_error(
                    "send_link_via",
                    _("Either take the questionnaires by phone or send them as a link, not both."),
                )
        elif outcome == CallOutcome.DIED:
            if not data.get("date_of_death"):
                self.add_error("date_of_death", _("Give the date of death."))
            if not data.get("death_relation"):
                self.add_error("death_relation", _("Choose what the death is related to."))
        elif outcome == CallOutcome.WITHDRAWS:
            if not data.get("withdrawn_on"):
                self.add_error("withdrawn_on", _("Give the date of withdrawal."))
            if not data.get("withdrawal_reason", "").strip():
                self.add_error("withdrawal_reason", _("Give the reason for the withdrawal."))
            if data.get("data_use_allowed") not in ("yes", "no"):
                self.add_error(
                    "data_use_allowed", _("Say whether the data collected so far may be used.")
                )
        return data

    def items(self) -> VisitItemsInput | None:
        data = self.cleaned_data
        if data["outcome"] != CallOutcome.REACHED:
            return None
        questionnaires = {}
        for code in self.phone_instruments:
            answers = {
                item.code: data.get(f"q_{item.code}")
                for item in get_instrument(code).items
                if data.get(f"q_{item.code}") is not None
            }
            if answers:
                questionnaires[code] = answers
        return VisitItemsInput(
            opioid_omeq_mg=data.get("opioid_omeq_mg"),
            pain_medication=data.get("pain_medication", ""),
            new_adverse_events=_yes_no(data.get("new_adverse_events", "")),
            adverse_events_description=data.get("adverse_events_description", ""),
            crossover_wish=_yes_no(data.get("crossover_wish", "")),
            questionnaires=questionnaires,
            send_link_via=data.get("send_link_via", ""),
        )

    def death(self) -> DeathInput | None:
        data = self.cleaned_data
        if data["outcome"] != CallOutcome.DIED:
            return None
        return DeathInput(
            date_of_death=data["date_of_death"],
            relation=data["death_relation"],
            cause=data.get("death_cause", ""),
        )

    def withdrawal(self) -> WithdrawalInput | None:
        data = self.cleaned_data
        if data["outcome"] != CallOutcome.WITHDRAWS:
            return None
        return WithdrawalInput(
            withdrawn_on=data["withdrawn_on"],
            reason=data["withdrawal_reason"],
            data_use_allowed=data["data_use_allowed"] == "yes",
            initiated_by=data.get("withdrawal_initiated_by") or WithdrawalInitiator.PARTICIPANT,
        )


ITEM_LABELS = {
    "vas_back": _("Back pain, VAS 0-100"),
    "vas_leg": _("Leg pain, VAS 0-100"),
    "hsu_gp": _("GP contacts"),
    "hsu_outpatient": _("Outpatient visits"),
    "hsu_emergency": _("Emergency visits"),
    "hsu_admission_nights": _("Hospital admissions (nights)"),
    "hsu_physio": _("Physiotherapy sessions"),
    "hsu_homecare": _("Home-care visits"),
}
