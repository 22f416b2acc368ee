"""Forms of the staff pages (trial.staff.views)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from trial.access import STAFF_ASSIGNABLE_ROLES
from trial.models import Role, Site
from trial.staff.services import REASON_MIN_LENGTH


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
        min_length=REASON_MIN_LENGTH,
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
