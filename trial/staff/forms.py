"""Forms of the staff pages (trial.staff.views)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _

from trial.access import STAFF_ASSIGNABLE_ROLES
from trial.audit import require_reason
from trial.models import Role, Site, User


def _role_choices():
    return [(value, label) for value, label in Role.choices if value in STAFF_ASSIGNABLE_ROLES]


def _sites_field():
    return forms.ModelMultipleChoiceField(
        label=_("Sites"),
        # Inactive sites too: a membership there would otherwise be dropped unseen on saving.
        queryset=Site.objects.order_by("-active", "kind", "code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Site roles work at these sites; central roles need none."),
    )


def _reason_field(label):
    return forms.CharField(
        label=label,
        # REASON_MIN_LENGTH, read when the form is checked. Django ignores what a validator
        # returns; django-stubs wants None, require_reason returns the trimmed reason.
        validators=[require_reason],  # type: ignore[list-item]
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class StaffInviteForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=150,
        help_text=_("The invitation goes here; it is also the user name."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=_role_choices)
    sites = _sites_field()


class StaffUpdateForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=_role_choices)
    sites = _sites_field()
    reason = _reason_field(_("Reason for the change"))


class StaffReasonForm(forms.Form):
    reason = _reason_field(_("Reason"))


class OTPEnrolForm(forms.Form):
    """Setting up a second factor: the current password, then the app's first code.

    Asking for the password again means a session left open (or taken over) cannot bind an
    attacker's authenticator app to the account, after a first login or after a reset.
    """

    password = forms.CharField(
        label=_("Your current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp_token = forms.CharField(
        label=_("Code from the authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("The password is wrong."), code="wrong_password")
        return password


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
        # Form.clean() returns cleaned_data; the stubs allow None, the dict itself does not.
        super().clean()
        cleaned = self.cleaned_data
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
