"""Forms for treatment and clinical events. They validate and convert; services decide."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trial.forms import (
    DateField,
    DateInput,
    DateTimeField,
    ReasonForChangeMixin,
    VertebraPicker,
    add_model_errors,
    model_formfield,
)
from trial.models import (
    CEMENT_VOLUME_MAX_ML,
    CEMENT_VOLUME_MIN_ML,
    AdverseEvent,
    Anaesthesia,
    CTCAEGrade,
    Expectedness,
    LeakageSite,
    Procedure,
    RadiographicControl,
    SeriousnessCriterion,
    UsualCare,
)
from trial.protocol.vertebrae import LEVEL_CHOICES, LEVELS
from trial.treatment.adverse_events import AE_FIELDS
from trial.treatment.services import RADIOGRAPH_FIELDS, USUAL_CARE_FIELDS

YES_NO = [("no", _("No")), ("yes", _("Yes"))]
YES_NO_UNKNOWN = [("no", _("No")), ("yes", _("Yes")), ("unknown", _("Not known"))]


def _yes(value) -> bool:
    return value in (True, "yes", "True")


def _yes_no_unknown(value):
    return {"yes": True, "no": False}.get(value)


def yes_no(label, **kwargs) -> forms.TypedChoiceField:
    """A required yes/no radio: 'not answered' cannot pass as 'no'."""
    return forms.TypedChoiceField(
        label=label, choices=YES_NO, coerce=_yes, widget=forms.RadioSelect, **kwargs
    )


def _initial_yes_no(value) -> str | None:
    return None if value is None else ("yes" if value else "no")


# --- PVP procedure ------------------------------------------------------------------------


class ProcedureForm(ReasonForChangeMixin, forms.Form):
    procedure_date = DateField(label=_("Date of procedure"), widget=DateInput)
    facility = forms.CharField(
        label=_("Facility"), max_length=200, help_text=_("Hospital and department.")
    )
    anaesthesia = forms.ChoiceField(
        label=_("Anaesthesia"), choices=Anaesthesia.choices, widget=forms.RadioSelect
    )
    levels = forms.MultipleChoiceField(
        label=_("Treated vertebrae"),
        choices=LEVEL_CHOICES,
        widget=VertebraPicker,
        help_text=_("Pick each treated vertebra; a row for its details appears."),
        error_messages={"required": _("Pick at least one treated vertebra.")},
    )
    biopsy_taken = yes_no(_("Biopsy taken"))
    biopsy_result = forms.CharField(
        label=_("Biopsy result"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Write 'pending' while the result is awaited."),
    )
    complications = yes_no(_("Peri-procedural complications"))
    complications_details = forms.CharField(
        label=_("Which complications"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    discharge_date = DateField(label=_("Date of discharge"), required=False, widget=DateInput)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_reason_field(editing=editing)

    def clean(self):
        # Form.clean() returns cleaned_data; the stubs allow None, the dict itself does not.
        super().clean()
        cleaned = self.cleaned_data
        # Whether a biopsy result or complication details are needed is Procedure.clean()'s
        # rule; the form only drops answers to questions that no longer apply.
        if cleaned.get("biopsy_taken") is False:
            cleaned["biopsy_result"] = ""
        if cleaned.get("complications") is False:
            cleaned["complications_details"] = ""
        add_model_errors(
            self,
            Procedure(
                # None when the date itself failed; this instance is only validated, never saved.
                procedure_date=cleaned.get("procedure_date"),  # type: ignore[misc]
                discharge_date=cleaned.get("discharge_date"),
                biopsy_taken=bool(cleaned.get("biopsy_taken")),
                biopsy_result=cleaned.get("biopsy_result") or "",
                complications=bool(cleaned.get("complications")),
                complications_details=cleaned.get("complications_details") or "",
            ),
        )
        return cleaned


class LevelForm(forms.Form):
    """The details of one treated vertebra (one row per picked level)."""

    cement_volume_ml = forms.DecimalField(
        label=_("Cement (ml)"),
        min_value=CEMENT_VOLUME_MIN_ML,
        max_value=CEMENT_VOLUME_MAX_ML,
        max_digits=4,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )
    leakage = yes_no(_("Cement leakage"))
    leakage_sites = forms.MultipleChoiceField(
        label=_("Where"),
        choices=LeakageSite.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    posterior_wall_defect = forms.TypedChoiceField(
        label=_("Posterior-wall defect on MRI"),
        choices=YES_NO_UNKNOWN,
        coerce=_yes_no_unknown,
        empty_value=None,
        widget=forms.RadioSelect,
    )

    def __init__(self, data: Mapping[str, Any] | None = None, *, level: str, **kwargs):
        self.level = level
        super().__init__(data, prefix=f"lvl-{level}", **kwargs)

    def clean(self):
        # Form.clean() returns cleaned_data; the stubs allow None, the dict itself does not.
        super().clean()
        cleaned = self.cleaned_data
        leakage, sites = cleaned.get("leakage"), cleaned.get("leakage_sites") or []
        if leakage is True and not sites:
            self.add_error("leakage_sites", _("Say where the cement leaked."))
        if leakage is False:
            cleaned["leakage_sites"] = []
        return cleaned

    def as_row(self) -> dict:
        return {"level": self.level, **self.cleaned_data}


def procedure_forms(data=None, *, procedure=None, default_date=None, default_facility=""):
    """The procedure form and one LevelForm per level T1-L5; only the rows of picked levels
    are validated and shown (static/js/treatment.js hides the others)."""
    existing = {lv.level: lv for lv in procedure.levels.all()} if procedure else {}
    if procedure is not None:
        initial = {
            "procedure_date": procedure.procedure_date,
            "facility": procedure.facility,
            "anaesthesia": procedure.anaesthesia,
            "levels": list(existing),
            "biopsy_taken": _initial_yes_no(procedure.biopsy_taken),
            "biopsy_result": procedure.biopsy_result,
            "complications": _initial_yes_no(procedure.complications),
            "complications_details": procedure.complications_details,
            "discharge_date": procedure.discharge_date,
        }
    else:
        initial = {
            "procedure_date": default_date or timezone.localdate(),
            "facility": default_facility,
            "anaesthesia": Anaesthesia.LOCAL,
        }
    form = ProcedureForm(data, initial=initial, editing=procedure is not None)
    level_forms = {}
    for code in LEVELS:
        stored = existing.get(code)
        level_initial = {}
        if stored is not None:
            level_initial = {
                "cement_volume_ml": stored.cement_volume_ml,
                "leakage": _initial_yes_no(stored.leakage),
                "leakage_sites": stored.leakage_sites,
                "posterior_wall_defect": {True: "yes", False: "no", None: "unknown"}[
                    stored.posterior_wall_defect
                ],
            }
        level_forms[code] = LevelForm(data, level=code, initial=level_initial)
    return form, level_forms


def picked_levels(form: ProcedureForm) -> list[str]:
    if form.is_bound:
        # Bound from request.POST, a QueryDict; a plain dict holds the list itself.
        data = form.data
        values = data.getlist("levels") if isinstance(data, QueryDict) else data.get("levels", [])
        return [lv for lv in values if lv in LEVELS]
    return list(form.initial.get("levels") or [])


def procedure_forms_valid(form: ProcedureForm, level_forms: dict[str, LevelForm]) -> bool:
    valid = form.is_valid()
    for code in picked_levels(form):
        valid = level_forms[code].is_valid() and valid
    return valid


# --- usual care ---------------------------------------------------------------------------


class UsualCareForm(ReasonForChangeMixin, forms.ModelForm):
    class Meta:
        formfield_callback = model_formfield
        model = UsualCare
        fields = list(USUAL_CARE_FIELDS)
        widgets = {"assessed_on": DateInput, "note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        if not editing:
            self.initial["assessed_on"] = self.initial.get("assessed_on") or timezone.localdate()
        self.add_reason_field(editing=editing)


# --- crossover ----------------------------------------------------------------------------


class CrossoverForm(forms.Form):
    crossover_date = DateField(label=_("Date of crossover decision"), widget=DateInput)
    reason = forms.CharField(
        label=_("Reason for crossover"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    override_reason = forms.CharField(
        label=_("Reason for allowing a crossover before day 28 (coordinator)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only needed before day 28 after randomisation; recorded in the audit trail."),
    )

    def __init__(self, *args, may_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_override:
            del self.fields["override_reason"]


# --- adverse events -----------------------------------------------------------------------


class AdverseEventForm(ReasonForChangeMixin, forms.ModelForm):
    grade = forms.TypedChoiceField(
        label=_("CTCAE grade"), choices=CTCAEGrade.choices, coerce=int, widget=forms.RadioSelect
    )
    serious = yes_no(
        _("Serious adverse event"),
        help_text=_(
            "Fatal, life-threatening, requiring or prolonging admission, or causing lasting "
            "disability. The coordinator is e-mailed at once."
        ),
    )

    seriousness_criteria = forms.MultipleChoiceField(
        label=_("Seriousness criteria (ICH E2A)"),
        choices=SeriousnessCriterion.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick every criterion the event meets."),
    )
    expectedness = forms.ChoiceField(
        label=_("Expectedness"),
        choices=Expectedness.choices,
        required=False,
        widget=forms.RadioSelect,
        help_text=_(
            "Expected: among the known risks of PVP in the trial's reference safety "
            "information. Serious, related to the procedure and unexpected is a SUSAR."
        ),
    )
    site_aware_at = DateTimeField(
        label=_("When the site became aware of the serious event"),
        required=False,
        help_text=_("Date and time. The coordinator is to be told within 24 hours of it."),
    )

    class Meta:
        formfield_callback = model_formfield
        model = AdverseEvent
        # The service accepts exactly these; one list, so form and service cannot drift.
        fields = list(AE_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "onset_date": DateInput,
            "resolved_on": DateInput,
            "hospital_admitted_on": DateInput,
            "hospital_discharged_on": DateInput,
        }
        help_texts = {
            "hospital_admitted_on": _(
                "When hospitalisation is a criterion. For a prolonged stay, the day of the "
                "original admission."
            ),
            "hospital_discharged_on": _("Leave empty while the participant is still admitted."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        if editing:
            self.initial["serious"] = _initial_yes_no(self.instance.serious)
        else:
            self.initial["onset_date"] = self.initial.get("onset_date") or timezone.localdate()
        self.add_reason_field(editing=editing)

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


# --- radiographic controls ----------------------------------------------------------------


class RadiographForm(ReasonForChangeMixin, forms.ModelForm):
    standing = yes_no(_("Standing radiographs"))
    new_fracture = yes_no(_("New vertebral fracture"))
    new_fracture_levels = forms.MultipleChoiceField(
        label=_("Levels of new fractures"),
        choices=LEVEL_CHOICES,
        required=False,
        widget=VertebraPicker,
    )
    new_fracture_adjacent = forms.TypedChoiceField(
        label=_("Is a new fracture adjacent to a treated level?"),
        choices=YES_NO,
        coerce=_yes,
        required=False,
        empty_value=None,
        widget=forms.RadioSelect,
    )
    height_loss = yes_no(_("Vertebral height loss"))
    height_loss_levels = forms.MultipleChoiceField(
        label=_("Levels with height loss"),
        choices=LEVEL_CHOICES,
        required=False,
        widget=VertebraPicker,
    )

    class Meta:
        formfield_callback = model_formfield
        model = RadiographicControl
        fields = list(RADIOGRAPH_FIELDS)
        widgets = {
            "examined_on": DateInput,
            "treated_stability": forms.RadioSelect,
            "note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        if editing:
            for name in ("standing", "new_fracture", "new_fracture_adjacent", "height_loss"):
                self.initial[name] = _initial_yes_no(getattr(self.instance, name))
        else:
            self.initial["examined_on"] = self.initial.get("examined_on") or timezone.localdate()
            self.initial["standing"] = "yes"
        self.add_reason_field(editing=editing)

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class SaeAcknowledgeForm(forms.Form):
    """The acknowledge button of the SAE list: which event."""

    ae_id = forms.IntegerField(min_value=1)
