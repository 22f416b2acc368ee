"""Forms of the participant pages. Forms validate and convert input; they never write."""

from __future__ import annotations

from typing import cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from trial.models import Site


class ParticipantFilterForm(forms.Form):
    q = forms.CharField(label=_("Trial number or initials"), required=False, max_length=20)
    site = forms.ModelChoiceField(
        label=_("Site"), queryset=Site.objects.none(), required=False, empty_label=_("All sites")
    )

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        if sites is not None:
            # Form.fields is typed as plain Field; this one is the ModelChoiceField declared above.
            cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites


class ContactDetailsForm(forms.Form):
    """Phone, e-mail, address and language of a participant; the phone number's rule is the
    identity model's, checked by the service."""

    phone = forms.CharField(
        label=_("Phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        widget=forms.TextInput(attrs={"type": "email", "autocomplete": "off"}),
    )
    address = forms.CharField(
        label=_("Address"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    language = forms.ChoiceField(
        label=_("Language of questionnaires and messages"),
        choices=settings.LANGUAGES,
        help_text=_(
            "The questionnaires' wording on the phone and on the participant's own pages, and "
            "the default language of the links sent."
        ),
    )
    reason = forms.CharField(
        label=_("Reason for change"),
        max_length=500,
        required=False,
        help_text=_("Required: the audit trail records why a value was changed."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
