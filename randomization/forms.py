"""Forms of the randomisation app: they validate and convert, never write."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from randomization import blocks
from randomization.models import Arm, EnvelopeState
from randomization.services import MAX_BATCH_SIZE
from randomization.strata import stratum_choices
from trial.models import Site, SiteKind


class BatchForm(forms.Form):
    site = forms.ModelChoiceField(
        label=_("Site"),
        queryset=Site.objects.filter(kind=SiteKind.HEMATOLOGY, active=True).order_by("code"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    stratum = forms.ChoiceField(
        label=_("Stratum"),
        choices=stratum_choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    count = forms.IntegerField(
        label=_("Number of envelopes"),
        min_value=1,
        max_value=MAX_BATCH_SIZE,
        initial=20,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
    block_sizes = forms.CharField(
        label=_("Block sizes"),
        required=False,
        help_text=_("Even numbers separated by commas; each block's size is drawn at random."),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["block_sizes"].initial = ", ".join(
            str(s) for s in settings.RANDOMISATION_BLOCK_SIZES
        )

    def clean_block_sizes(self) -> tuple[int, ...]:
        raw = self.cleaned_data["block_sizes"].replace(";", ",")
        if not raw.strip():
            return tuple(settings.RANDOMISATION_BLOCK_SIZES)
        try:
            sizes = tuple(int(part) for part in raw.split(",") if part.strip())
            return blocks.validate_block_sizes(sizes)
        except ValueError:
            raise forms.ValidationError(
                _("Give distinct even numbers separated by commas, for example 2, 4.")
            ) from None


class ConfirmForm(forms.Form):
    serial = forms.CharField(
        label=_("Serial number printed on the envelope you opened"),
        max_length=24,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    arm = forms.ChoiceField(
        label=_("Arm printed on the card inside"),
        choices=Arm.choices,
        widget=forms.RadioSelect,
    )
    named_still_sealed = forms.BooleanField(
        label=_("If you opened another envelope: the envelope named above is still sealed"),
        help_text=_(
            "Tick only if you have it in your hand, unopened. It then goes back into the box; "
            "otherwise it is set aside as spoiled until the coordinator has checked it."
        ),
        required=False,
    )


class EnvelopeReportForm(forms.Form):
    serial = forms.CharField(
        label=_("Serial number printed on the envelope"),
        max_length=24,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    state = forms.ChoiceField(
        label=_("What happened"),
        choices=[
            (EnvelopeState.SPOILED, _("Spoiled: opened or damaged by mistake")),
            (EnvelopeState.MISSING, _("Missing: cannot be found")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        help_text=_("What happened, when, and who noticed."),
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


class DeviationDecideArmForm(forms.Form):
    deviation = forms.IntegerField(widget=forms.HiddenInput)
    arm = forms.ChoiceField(label=_("Arm that stands"), choices=Arm.choices)
    reason = forms.CharField(label=_("Reason"), max_length=2000)


class DeviationAcknowledgeForm(forms.Form):
    deviation = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Note"),
        max_length=2000,
        help_text=_("What was done about it, e.g. who was contacted and what was agreed."),
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )
