"""Forms of the casebook pages: they validate and convert; services write."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from trial.models import Site


class CasebookForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of the casebook"),
        choices=settings.LANGUAGES,
        help_text=_("The participant's language is chosen; pick yours if you prefer."),
    )


class SiteArchiveForm(forms.Form):
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none(), empty_label=None)
    language = forms.ChoiceField(label=_("Language of the casebooks"), choices=settings.LANGUAGES)

    def __init__(self, *args, sites, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        site = self.fields["site"]
        if isinstance(site, forms.ModelChoiceField):
            site.queryset = sites
