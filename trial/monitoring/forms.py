"""Forms of the query pages: they validate and convert; services write."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from trial.monitoring.items import Item

STATE_FILTERS = [
    ("", _("Open and answered")),
    ("open", _("Open")),
    ("answered", _("Answered")),
    ("closed", _("Closed")),
    ("all", _("All")),
]


class QueryRaiseForm(forms.Form):
    item = forms.ChoiceField(label=_("Item"))
    text = forms.CharField(
        label=_("Question to the site"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )

    def __init__(self, *args, items: list[Item], **kwargs):
        super().__init__(*args, **kwargs)
        groups: dict[str, list[tuple[str, str]]] = {}
        for item in items:
            heading = item.form_label + (f" ({item.record_label})" if item.record_label else "")
            groups.setdefault(heading, []).append((item.key, f"{item.label}: {item.value}"))
        cast(forms.ChoiceField, self.fields["item"]).choices = [("", "—"), *groups.items()]
        self.items = {item.key: item for item in items}

    def clean_item(self) -> Item:
        key = self.cleaned_data["item"]
        if key not in self.items:
            raise forms.ValidationError(_("Choose an item of this participant."))
        return self.items[key]


class QueryStepForm(forms.Form):
    step = forms.ChoiceField(
        choices=[("answer", _("Answer")), ("close", _("Close")), ("reopen", _("Re-open"))],
        widget=forms.HiddenInput,
    )
    text = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class QueryFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), choices=STATE_FILTERS, required=False)
    site = forms.TypedChoiceField(label=_("Site"), coerce=int, required=False, empty_value=None)
    form = forms.ChoiceField(label=_("Form"), required=False)
    rule = forms.ChoiceField(label=_("Edit check"), required=False)

    def __init__(self, *args, sites, sources, checks=(), **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["site"]).choices = [
            ("", _("All sites")),
            *((s.pk, f"{s.code} {s.name}") for s in sites),
        ]
        cast(forms.ChoiceField, self.fields["form"]).choices = [
            ("", _("All forms")),
            *((s.model_label, s.form_label) for s in sources),
        ]
        cast(forms.ChoiceField, self.fields["rule"]).choices = [
            ("", _("Any")),
            *((c.code, c.code) for c in checks),
        ]


class SignatureForm(forms.Form):
    """The signer proves who they are again: the password, and the authenticator app's code
    when the account has one (21 CFR 11.200). The view checks them; the form only converts."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp_token = forms.CharField(
        label=_("Code from the authenticator app"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, needs_code: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.needs_code = needs_code
        if needs_code:
            self.fields["otp_token"].required = True
        else:
            del self.fields["otp_token"]


class SdvFilterForm(forms.Form):
    site = forms.ChoiceField(label=_("Site"), required=False)
    form = forms.ChoiceField(label=_("Form"), required=False)

    def __init__(self, *args, sites, forms_to_verify, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["site"]).choices = [
            ("", _("All sites")),
            *((s.code, f"{s.code} {s.name}") for s in sites),
        ]
        cast(forms.ChoiceField, self.fields["form"]).choices = [
            ("", _("All forms")),
            *forms_to_verify,
        ]


class SdvMarkForm(forms.Form):
    """Which form instance of the participant in the address the monitor verified."""

    form = forms.CharField(max_length=24, widget=forms.HiddenInput)
    visit_code = forms.CharField(max_length=16, required=False, widget=forms.HiddenInput)
    record = forms.CharField(max_length=18, required=False, widget=forms.HiddenInput)
    next = forms.CharField(max_length=500, required=False, widget=forms.HiddenInput)


class LockForm(forms.Form):
    """Lock (or unlock) a participant's data or the trial's. The services decide whether the
    reason is required: to unlock always, to lock when a condition is not met."""

    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )
