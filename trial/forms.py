"""Form pieces every capability's forms share, and the audit trail's filter.

Forms validate and convert input; they never write.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from trial.audit import ReasonRequired
from trial.concurrency import ConcurrentChange, form_conflict_show, form_is_stale
from trial.models import User
from trial.protocol.schedule import local_today
from trial.protocol.windows import OutOfWindow, VisitTiming
from trial.validation import validate_plausible_date


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateField(forms.DateField):
    """The date field of every form: a date picker, and only years a person can mean
    (trial.validation.EARLIEST_DATE..LATEST_DATE), so that year 1 or 9999 is an error on the
    page, never an overflow in a later check."""

    widget = DateInput
    default_validators = [validate_plausible_date]


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class DateTimeField(forms.DateTimeField):
    """A date and a time of day, in the trial's time zone: the browser's picker, and the same
    years as ``DateField``."""

    widget = DateTimeInput

    def validate(self, value) -> None:
        super().validate(value)
        if value is not None:
            validate_plausible_date(value.date())


def model_formfield(db_field, **kwargs):
    """``Meta.formfield_callback`` of the model forms: their date fields are ``DateField``."""
    from django.db import models

    if isinstance(db_field, models.DateField) and not isinstance(db_field, models.DateTimeField):
        kwargs.setdefault("form_class", DateField)
        kwargs.setdefault("widget", DateInput)
    return db_field.formfield(**kwargs)


class ReasonForChangeMixin(forms.BaseForm):
    """Adds a required 'reason for change' when an existing record is edited (audit trail)."""

    def add_reason_field(self, editing: bool) -> None:
        if editing:
            self.fields["reason"] = forms.CharField(
                label=_("Reason for change"),
                max_length=500,
                help_text=_("Required: the audit trail records why a value was changed."),
                widget=forms.TextInput(attrs={"autocomplete": "off"}),
            )

    def full_clean(self) -> None:
        # A page loaded before someone else saved the record asked no reason (there was no
        # record yet), or one for a change to values no longer there. The service's version
        # check refuses that save and shows who saved what (trial.concurrency); a "this field
        # is required" must not stand in front of it.
        if "reason" in self.fields:
            self.fields["reason"].required = not form_is_stale(self)
        super().full_clean()


def add_model_errors(form: forms.Form, instance) -> None:
    """Show the model's own ``clean()`` errors on ``form``, with the form's other errors.

    A rule that belongs to the model is stated once, in its ``clean()``; a plain form that
    collects the same fields asks the model instead of restating the rule in other words.
    Fields that already have an error keep only that one.
    """
    try:
        instance.clean()
    except ValidationError as exc:
        for field, errors in exc.error_dict.items():
            if field in form.fields and field not in form.errors:
                form.add_error(field, errors)


def apply_errors(form, exc: Exception) -> None:
    """Show a service's refusal on the form: field errors on their fields, the rest on top;
    a concurrent save with the other person's values next to the form."""
    if isinstance(exc, ConcurrentChange):
        form_conflict_show(form, exc)
    elif isinstance(exc, OutOfWindow) and OUT_OF_WINDOW_FIELD in form.fields:
        form.add_error(OUT_OF_WINDOW_FIELD, str(exc))
    elif isinstance(exc, ReasonRequired) and "reason" in form.fields:
        form.add_error("reason", exc.messages)
    elif isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error.messages)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc.messages)
    else:
        form.add_error(None, str(exc))


OUT_OF_WINDOW_FIELD = "record_out_of_window"


def out_of_window_field_add(form: forms.BaseForm, timing: VisitTiming) -> bool:
    """Give ``form`` the checkbox that records a visit's data outside its window anyway, when
    today is outside it (templates/partials/out_of_window.html shows it with its warning).
    The service decides (trial.protocol.windows); the checkbox only carries the answer."""
    if timing.exempt or timing.opens is None or timing.inside(local_today()):
        return False
    form.fields[OUT_OF_WINDOW_FIELD] = forms.BooleanField(
        label=timing.confirm_label(),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    return True


def out_of_window_confirmed(form: forms.BaseForm) -> bool:
    return bool(form.cleaned_data.get(OUT_OF_WINDOW_FIELD))


class VertebraPicker(forms.CheckboxSelectMultiple):
    """Checkboxes T1-L5 drawn as a spine (static/css/screening.css)."""

    template_name = "trial/widgets/vertebra_picker.html"
    option_template_name = "trial/widgets/vertebra_option.html"


class AuditFilterForm(forms.Form):
    participant = forms.CharField(label=_("Trial number"), required=False, max_length=16)
    user = forms.ModelChoiceField(
        label=_("User"), queryset=User.objects.all(), required=False, empty_label=_("Anyone")
    )
    date_from = DateField(label=_("From"), required=False)
    date_to = DateField(label=_("To"), required=False)

    def clean(self):
        # Form.clean() returns cleaned_data; the stubs allow None, the dict itself does not.
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned
