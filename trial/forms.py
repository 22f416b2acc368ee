"""Forms validate and convert input; they never write."""

from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _

from trial.models import Site, User


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    otp_token = forms.CharField(
        label=_("Code from the authenticator app"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text=_("Six digits. Leave empty only if you have not yet set up the app."),
    )

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        self.user: User | None = None
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autofocus": True, "autocomplete": "username"})
        self.fields["password"].widget.attrs["autocomplete"] = "current-password"

    def clean(self):
        cleaned = super().clean()
        username, password = cleaned.get("username"), cleaned.get("password")
        if username and password:
            user = authenticate(self.request, username=username, password=password)
            if user is None:
                raise forms.ValidationError(
                    _("Wrong username or password. Accounts are locked after repeated failures."),
                    code="invalid_login",
                )
            if not user.role and not user.is_superuser:
                raise forms.ValidationError(
                    _("Your account has no role yet. Ask the coordinator."), code="no_role"
                )
            self.user = user
        return cleaned


class OTPConfirmForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Code from the authenticator app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ParticipantFilterForm(forms.Form):
    q = forms.CharField(label=_("Trial number or initials"), required=False, max_length=20)
    site = forms.ModelChoiceField(
        label=_("Site"), queryset=Site.objects.none(), required=False, empty_label=_("All sites")
    )

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        if sites is not None:
            self.fields["site"].queryset = sites


class AuditFilterForm(forms.Form):
    participant = forms.CharField(label=_("Trial number"), required=False, max_length=16)
    user = forms.ModelChoiceField(
        label=_("User"), queryset=User.objects.all(), required=False, empty_label=_("Anyone")
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned
