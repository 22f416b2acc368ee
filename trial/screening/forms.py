"""Forms of screening: the log, screening form, eligibility, consent, referral and surgical
assessment. Forms validate and convert input; they never write."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trial import access
from trial.cpr import age_on, cpr_birth_date, parse_cpr
from trial.forms import (
    DateField,
    DateInput,
    ReasonForChangeMixin,
    VertebraPicker,
    add_model_errors,
    model_formfield,
)
from trial.models import (
    Answer,
    Consent,
    CriterionAssessor,
    InformationSheetVersion,
    MyelomaStatus,
    NotIncludedReason,
    ScreeningDecision,
    ScreeningForm,
    ScreeningLogEntry,
    Sex,
    Site,
    SiteMembership,
    SurgicalAssessment,
    User,
)
from trial.protocol.vertebrae import LEVEL_CHOICES
from trial.screening import derivation
from trial.screening.models import AGE_MAX, AGE_MIN
from trial.screening.services import SCREENING_FORM_FIELDS


def failed_criteria_field(known: list[str] | tuple[str, ...] = ()) -> forms.MultipleChoiceField:
    """Tick boxes of the criteria in force, for a patient not eligible at screening; codes an
    older entry already holds stay offered even if the criteria have changed since."""
    from trial.screening.selectors import _criterion_labels, current_criteria_version

    version = current_criteria_version()
    criteria = list(version.criteria.all()) if version else []
    choices = [(c.code, f"{c.get_kind_display()}: {c.text()}") for c in criteria]
    offered = {code for code, _label in choices}
    missing = [code for code in known if code not in offered]
    if missing:
        labels = _criterion_labels()
        choices += [(code, labels.get(code, code)) for code in missing]
    return forms.MultipleChoiceField(
        label=_("Why not eligible"),
        choices=choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Tick each inclusion criterion not met and each exclusion criterion that applies."
        ),
    )


def _check_failed_criteria(form: forms.Form, cleaned: dict) -> None:
    decision, failed = cleaned.get("decision"), cleaned.get("failed_criteria") or []
    if decision == ScreeningDecision.NOT_ELIGIBLE and not failed:
        form.add_error(
            "failed_criteria", _("Tick the criteria that make the patient not eligible.")
        )
    elif decision and decision != ScreeningDecision.NOT_ELIGIBLE and failed:
        form.add_error(
            "failed_criteria", _("Criteria are ticked only for a patient who is not eligible.")
        )


class _ScreeningLogEntryFields(forms.Form):
    """The fields a screening-log entry is logged and corrected with, and their rules, which are
    the model's: the age bounds and their words (ScreeningLogEntry.age's validators), the
    screening date and the reason for not including (ScreeningLogEntry.clean())."""

    screened_on = DateField(label=_("Screening date"), widget=DateInput)
    # The bounds are checked by the model's validators in clean(), with the model's words; the
    # browser is told them too.
    age = forms.IntegerField(
        label=_("Age"), widget=forms.NumberInput(attrs={"min": AGE_MIN, "max": AGE_MAX})
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices)
    myeloma_status = forms.ChoiceField(label=_("Myeloma status"), choices=MyelomaStatus.choices)
    decision = forms.ChoiceField(
        label=_("Decision"), choices=ScreeningDecision.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason when not included"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def _check_entry(self, cleaned: dict) -> None:
        age = cleaned.get("age")
        if age is not None and "age" not in self.errors:
            try:
                ScreeningLogEntry._meta.get_field("age").run_validators(age)
            except forms.ValidationError as error:
                self.add_error("age", error)
        # The date may be missing (its own field error); the model's clean() then skips it.
        values: dict[str, Any] = {
            "screened_on": cleaned.get("screened_on"),
            "decision": cleaned.get("decision") or "",
            "reason": cleaned.get("reason") or "",
        }
        add_model_errors(self, ScreeningLogEntry(**values))
        _check_failed_criteria(self, cleaned)


class ScreeningLogEntryForm(_ScreeningLogEntryFields):
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none(), empty_label=None)
    cpr = forms.CharField(
        label=_("CPR number"),
        max_length=11,
        help_text=_(
            "DDMMYY-SSSS. For a patient who is not included only a keyed digest is kept, "
            "to warn about repeated screening."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    full_name = forms.CharField(
        label=_("Full name"),
        required=False,
        max_length=200,
        help_text=_("Included patients only."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    initials = forms.CharField(
        label=_("Initials"),
        required=False,
        max_length=4,
        help_text=_("Included patients only; taken from the name when left empty."),
    )
    phone = forms.CharField(label=_("Phone"), required=False, max_length=20)
    confirm_duplicate = forms.BooleanField(
        label=_("Screen anyway: I have checked the earlier screening"), required=False
    )

    field_order = [
        "site",
        "screened_on",
        "cpr",
        "age",
        "sex",
        "myeloma_status",
        "decision",
        "reason",
        "full_name",
        "initials",
        "phone",
        "confirm_duplicate",
    ]

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        if sites is not None:
            # Form.fields is typed as plain Field; this one is the ModelChoiceField declared above.
            cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites
        self.fields["screened_on"].initial = timezone.localdate()
        # Logged from the CPR number when left empty (clean()).
        self.fields["age"].required = False
        self.fields["age"].help_text = _("Leave empty to compute it from the CPR number.")
        self.fields["failed_criteria"] = failed_criteria_field()

    def clean_cpr(self):
        return parse_cpr(self.cleaned_data["cpr"])[0]

    def clean_initials(self):
        return self.cleaned_data["initials"].strip().upper()

    def clean(self):
        # Form.clean() returns cleaned_data; the stubs allow None, the dict itself does not.
        super().clean()
        cleaned = self.cleaned_data
        cpr, screened_on = cleaned.get("cpr"), cleaned.get("screened_on")
        if cpr and screened_on:
            computed = age_on(cpr_birth_date(cpr), screened_on)
            age = cleaned.get("age")
            if age is None:
                cleaned["age"] = computed
            elif abs(age - computed) > 1:
                self.add_error(
                    "age",
                    _(
                        "The age does not match the CPR number "
                        "(%(age)s years on the screening date)."
                    )
                    % {"age": computed},
                )
        # The age bounds, the screening date and the reason for not including a patient are
        # the model's rules; the name of an included one is screening_log_entry_create's.
        self._check_entry(cleaned)
        return cleaned


class ScreeningFormForm(ReasonForChangeMixin, forms.ModelForm):
    class Meta:
        formfield_callback = model_formfield
        model = ScreeningForm
        # The fields the service records, declared once there.
        fields = list(SCREENING_FORM_FIELDS)
        widgets = {
            "diagnosis_date": DateInput,
            "bone_therapy_start": DateInput,
            "pain_onset_date": DateInput,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_reason_field(editing=self.instance.pk is not None)
        self.fields["opioid_ome_mg_per_day"].help_text = _(
            "Only with an opioid: the total daily dose converted to oral morphine (1-2000 mg)."
        )


class EligibilityForm(ReasonForChangeMixin, forms.Form):
    """One yes / no / not yet known answer per criterion the hematologist answers.

    With ``facts`` (trial.screening.derivation.facts_for) the criteria the recorded data
    answers are shown read-only with their source, and a posted answer for one that disagrees
    with the data on the assessment date is refused with both named. The page posts the
    derived answer it showed, so a record corrected meanwhile is noticed, not overwritten."""

    assessed_on = DateField(label=_("Assessed on"), widget=DateInput)
    answer_choices = Answer.choices  # the read-only answers of derived criteria

    def __init__(self, *args, criteria, editing: bool = False, facts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.all_criteria = list(criteria)
        self.facts = facts
        by_hematologist = [
            c for c in self.all_criteria if c.assessed_by == CriterionAssessor.HEMATOLOGIST
        ]
        self.criteria = [c for c in by_hematologist if not self._from_data(c)]
        self.derived = [c for c in self.all_criteria if c not in self.criteria]
        self.fields["assessed_on"].initial = timezone.localdate()
        for criterion in by_hematologist:
            self.fields[f"c_{criterion.code}"] = forms.ChoiceField(
                label=criterion.text(),
                choices=Answer.choices,
                widget=forms.RadioSelect(attrs={"class": "form-check-inline"}),
                help_text=criterion.get_kind_display(),
                # A derived answer is taken from the data when none is posted.
                required=criterion in self.criteria,
            )
        self.add_reason_field(editing=editing)

    def _from_data(self, criterion) -> bool:
        return self.facts is not None and derivation.derives(criterion.code)

    def clean_assessed_on(self):
        day = self.cleaned_data["assessed_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        return day

    def clean(self):
        # Form.clean() returns cleaned_data; the stubs allow None, the dict itself does not.
        super().clean()
        cleaned = self.cleaned_data
        on = cleaned.get("assessed_on")
        if self.facts is not None and on is not None:
            checked = derivation.reconcile(self.all_criteria, self.answers(), self.facts, on)
            for code, message in checked.errors.items():
                self.add_error(f"c_{code}", message)
        return cleaned

    def inclusion_date(self):
        """The date the derived answers are shown for: the posted assessment date once valid,
        else the one the page opened with."""
        if self.is_bound and not self.errors.get("assessed_on"):
            on = getattr(self, "cleaned_data", {}).get("assessed_on")
            if on is not None:
                return on
        return self.initial.get("assessed_on") or self.fields["assessed_on"].initial

    def criterion_fields(self):
        return [(c, self[f"c_{c.code}"]) for c in self.criteria]

    def derived_rows(self):
        """(criterion, derivation or None, bound field or None) of every criterion the
        hematologist does not tick: derived from the data, or answered by another record."""
        on = self.inclusion_date()
        rows = []
        for criterion in self.derived:
            derived = None
            if self.facts is not None:
                derived = derivation.derive(criterion.code, self.facts, on)
            name = f"c_{criterion.code}"
            rows.append((criterion, derived, self[name] if name in self.fields else None))
        return rows

    def answers(self) -> dict[str, str]:
        """The posted answers; a derived criterion left without one is filled in by the
        service from the data."""
        answers = {}
        for c in self.all_criteria:
            value = self.cleaned_data.get(f"c_{c.code}")
            if value:
                answers[c.code] = value
        return answers


class ConsentForm(ReasonForChangeMixin, forms.ModelForm):
    class Meta:
        formfield_callback = model_formfield
        model = Consent
        fields = [
            "consent_date",
            "information_sheet",
            "taken_by",
            "oral_information_given",
            "written_information_given",
        ]
        widgets = {"consent_date": DateInput}

    def __init__(self, *args, participant, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.participant = participant
        sheets = InformationSheetVersion.objects.filter(active=True)
        if self.instance.information_sheet_id:
            sheets = InformationSheetVersion.objects.filter(
                Q(active=True) | Q(pk=self.instance.information_sheet_id)
            )
        # Form.fields is typed as plain Field; the model's foreign keys make ModelChoiceFields.
        sheet_field = cast(forms.ModelChoiceField, self.fields["information_sheet"])
        sheet_field.queryset = sheets
        sheet_field.empty_label = None
        staff_ids = SiteMembership.objects.filter(
            site_id=participant.site_id,
            user__in=access.staff_for("consent_take"),
        ).values("user_id")
        taken_by_field = cast(forms.ModelChoiceField, self.fields["taken_by"])
        taken_by_field.queryset = User.objects.filter(pk__in=staff_ids)
        if self.instance.pk is None:
            # The instance's empty values would otherwise win over the fields' initials.
            self.initial["taken_by"] = user.pk
            self.initial["consent_date"] = timezone.localdate()
        self.add_reason_field(editing=self.instance.pk is not None)


class ReferralForm(forms.Form):
    referred_on = DateField(label=_("Referred on"), widget=DateInput)
    note = forms.CharField(
        label=_("Note to the surgeon"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referred_on"].initial = timezone.localdate()


YES_NO = [("no", _("No")), ("yes", _("Yes"))]


def _yes(value) -> bool:
    return value in (True, "yes", "True")


class SurgicalAssessmentForm(ReasonForChangeMixin, forms.ModelForm):
    contraindication = forms.TypedChoiceField(
        label=_("Contraindication to PVP"),
        choices=YES_NO,
        coerce=_yes,
        widget=forms.RadioSelect,
    )
    planned_levels = forms.MultipleChoiceField(
        label=_("Planned PVP levels"),
        choices=LEVEL_CHOICES,
        required=False,
        widget=VertebraPicker,
        help_text=_("1 to 4 vertebrae."),
    )
    earlier_fractures = forms.TypedChoiceField(
        label=_("Earlier vertebral fractures that will not be treated"),
        choices=YES_NO,
        coerce=_yes,
        widget=forms.RadioSelect,
    )
    earlier_fracture_levels = forms.MultipleChoiceField(
        label=_("Levels of the earlier fractures"),
        choices=LEVEL_CHOICES,
        required=False,
        widget=VertebraPicker,
    )

    class Meta:
        formfield_callback = model_formfield
        model = SurgicalAssessment
        fields = [
            "assessed_on",
            "contraindication",
            "contraindication_details",
            "planned_levels",
            "earlier_fractures",
            "earlier_fracture_levels",
            "risk_information_given",
        ]
        widgets = {
            "assessed_on": DateInput,
            "contraindication_details": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        if editing:
            self.initial["contraindication"] = "yes" if self.instance.contraindication else "no"
            self.initial["earlier_fractures"] = "yes" if self.instance.earlier_fractures else "no"
        else:
            self.initial["assessed_on"] = timezone.localdate()
        self.add_reason_field(editing=editing)


class NotIncludedForm(forms.Form):
    reason_code = forms.ChoiceField(
        label=_("Reason"), choices=NotIncludedReason.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Details"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Kept with the participant. The CONSORT numbers count the reason above and, for "
            "not eligible, the criteria failed in the eligibility checklist."
        ),
    )


class CriteriaVersionForm(forms.Form):
    # Not the shared DateField: the version's own check (TRIAL_PERIOD_START..END, in its
    # model) is narrower than the plausible years and its message says why a date is refused.
    effective_from = forms.DateField(label=_("In force from"), widget=DateInput)
    note = forms.CharField(
        label=_("What changes"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class SiteFilterForm(forms.Form):
    site = forms.ModelChoiceField(
        label=_("Site"), queryset=Site.objects.none(), required=False, empty_label=_("All sites")
    )

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        if sites is not None:
            # Form.fields is typed as plain Field; this one is the ModelChoiceField declared above.
            cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites


# --- screening edits ---


class ScreeningLogEntryEditForm(_ScreeningLogEntryFields):
    """Corrects a screening-log entry; the CPR digest, site and participant stay as logged."""

    change_reason = forms.CharField(
        label=_("Reason for change"),
        max_length=100,
        help_text=_("Required: the audit trail records why a value was changed."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, entry, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "screened_on": entry.screened_on,
                "age": entry.age,
                "sex": entry.sex,
                "myeloma_status": entry.myeloma_status,
                "decision": entry.decision,
                "reason": entry.reason,
                "failed_criteria": entry.failed_criteria,
            },
        )
        super().__init__(*args, **kwargs)
        self.entry = entry
        self.fields["failed_criteria"] = failed_criteria_field(entry.failed_criteria or [])
        # Before the change reason, in the order the page shows the fields.
        self.order_fields([*[n for n in self.fields if n != "change_reason"], "change_reason"])

    def clean(self):
        # Form.clean() returns cleaned_data; the stubs allow None, the dict itself does not.
        super().clean()
        cleaned = self.cleaned_data
        self._check_entry(cleaned)
        return cleaned


class ReferralCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=100,
        help_text=_("For example: referred by mistake, or the patient was admitted elsewhere."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
