"""Forms of the follow-up app: they validate and convert, services write."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from followup.call_items import ItemGroup, VisitItemsInput
from followup.models import CallOutcome, MissingReason
from followup.services import DeathInput, WithdrawalInput
from questionnaires.instruments import Item, get_instrument
from trial.forms import DateField
from trial.models import DeathRelation, Site, WithdrawalInitiator
from trial.protocol.schedule import ADVERSE_EVENTS, CROSSOVER, PAIN_MEDICATION

YES_NO = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]
SEND_CHOICES = [
    ("", _("No link: taken by phone now")),
    ("email", _("Send a personal link by e-mail")),
    ("sms", _("Send a personal link by text message")),
]
REASON_CHOICES = [("", _("Recorded above")), *MissingReason.choices]


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class SiteFilterForm(forms.Form):
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none(), required=False)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        # Form.fields is typed as plain Field; this one is the ModelChoiceField declared above.
        cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites


class MissingDataFilterForm(forms.Form):
    """The missing-data report's filters; an unknown value is an error on the page, and the
    list is then shown unfiltered by it."""

    site = forms.ModelChoiceField(
        label=_("Site"), queryset=Site.objects.none(), required=False, empty_label=_("All")
    )
    visit = forms.ChoiceField(label=_("Visit"), required=False)
    form = forms.ChoiceField(label=_("Form"), required=False)
    state = forms.ChoiceField(label=_("State"), required=False)

    def __init__(self, *args, sites, visits, forms_, states, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites
        everything = [("", _("All"))]
        cast(forms.ChoiceField, self.fields["visit"]).choices = everything + visits
        cast(forms.ChoiceField, self.fields["form"]).choices = everything + forms_
        cast(forms.ChoiceField, self.fields["state"]).choices = everything + states


class CallLogForm(forms.Form):
    """One call. Which item fields exist depends on what the visit collects, the arm (crossover
    is asked in the conservative arm only) and which questionnaires are taken by phone here."""

    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=CallOutcome.choices, widget=forms.RadioSelect
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self, *args, collects, phone_instruments, conservative_arm, today, groups=(), **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.collects = set(collects)
        self.phone_instruments = phone_instruments
        self.groups: list[ItemGroup] = list(groups)
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
                f[f"q_{item.code}"] = _item_field(item, code)
        if phone_instruments:
            f["send_link_via"] = forms.ChoiceField(
                label=_("Questionnaires not taken by phone"),
                choices=SEND_CHOICES,
                required=False,
                help_text=_(
                    "The link asks only for what was not taken by phone; empty questionnaires "
                    'are then marked "will send by link".'
                ),
            )
        # Each group the visit collects: when left empty, why (the service insists on one).
        for group in self.groups:
            f[f"missing_{group.code}"] = forms.ChoiceField(
                label=_("%(group)s not recorded because") % {"group": group.label},
                choices=REASON_CHOICES,
                required=False,
                widget=forms.Select(attrs={"data-missing-reason": group.code}),
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

    def group_blocks(self):
        """(group, its bound fields, its bound reason field) for each group the call asks, in
        the order of the page."""
        own_fields = {
            "pain_medication": ["opioid_omeq_mg", "pain_medication"],
            "adverse_events": ["new_adverse_events", "adverse_events_description"],
            "crossover": ["crossover_wish"],
        }
        blocks = []
        for group in self.groups:
            names = (
                [f"q_{item.code}" for item in get_instrument(group.instrument).items]
                if group.instrument
                else own_fields.get(group.code, [])
            )
            fields = [self[name] for name in names if name in self.fields]
            blocks.append((group, fields, self[f"missing_{group.code}"]))
        return blocks

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
            missing={
                group.code: data[f"missing_{group.code}"]
                for group in self.groups
                if data.get(f"missing_{group.code}")
            },
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


def _item_field(item: Item, instrument: str) -> forms.Field:
    attrs = {"class": "form-control", "data-instrument": instrument}
    label = ITEM_LABELS.get(item.code, item.code)
    if item.kind == "choice":
        return forms.TypedChoiceField(
            label=f"{label} ({min(item.choices)}-{max(item.choices)})",
            choices=[("", "—"), *((c, str(c)) for c in item.choices)],
            coerce=int,
            empty_value=None,
            required=False,
            widget=forms.Select(attrs={**attrs, "class": "form-select"}),
        )
    return forms.IntegerField(
        label=label,
        min_value=item.min_value,
        max_value=item.max_value,
        required=False,
        widget=forms.NumberInput(attrs=attrs),
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
    # The ODI's sections and the EQ-5D's dimensions by name only: their wording is licensed
    # and lives with the questionnaires (questionnaires/wording).
    "odi_1": _("ODI 1, pain intensity"),
    "odi_2": _("ODI 2, personal care"),
    "odi_3": _("ODI 3, lifting"),
    "odi_4": _("ODI 4, walking"),
    "odi_5": _("ODI 5, sitting"),
    "odi_6": _("ODI 6, standing"),
    "odi_7": _("ODI 7, sleeping"),
    "odi_8": _("ODI 8, sex life"),
    "odi_9": _("ODI 9, social life"),
    "odi_10": _("ODI 10, travelling"),
    "eq5d_mo": _("EQ-5D mobility"),
    "eq5d_sc": _("EQ-5D self-care"),
    "eq5d_ua": _("EQ-5D usual activities"),
    "eq5d_pd": _("EQ-5D pain/discomfort"),
    "eq5d_ad": _("EQ-5D anxiety/depression"),
    "eq_vas": _("EQ VAS, health today 0-100"),
}
