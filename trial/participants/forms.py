"""Forms of the participant pages. Forms validate and convert input; they never write."""

from __future__ import annotations

from typing import cast

from django import forms
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
