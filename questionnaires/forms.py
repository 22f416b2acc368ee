"""Forms of the questionnaires app: they validate and convert, nothing else."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from questionnaires.instruments import Item
from questionnaires.models import Mode, SentVia


def item_field(item: Item, label: str = "") -> forms.Field:
    """A form field for one item; never required, because a patient may leave an answer out."""
    if item.kind == "choice":
        return forms.TypedChoiceField(
            label=label or item.code,
            choices=[(c, str(c)) for c in item.choices],
            coerce=int,
            required=False,
            empty_value=None,
            widget=forms.RadioSelect,
        )
    return forms.IntegerField(
        label=label or item.code,
        min_value=item.min_value,
        max_value=item.max_value,
        required=False,
    )


class AnswersForm(forms.Form):
    """Answers to some items (one screen of the patient's path, or a whole instrument)."""

    def __init__(self, *args, items: tuple[Item, ...], labels: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            self.fields[item.code] = item_field(item, (labels or {}).get(item.code, ""))

    def answers(self) -> dict:
        return {item.code: self.cleaned_data.get(item.code) for item in self.items}


class StaffEntryForm(AnswersForm):
    mode = forms.ChoiceField(
        label=_("How were the answers given?"),
        choices=[(Mode.PHONE, Mode.PHONE.label), (Mode.PAPER, Mode.PAPER.label)],
        initial=Mode.PHONE,
        widget=forms.RadioSelect,
    )


class CorrectionForm(AnswersForm):
    reason = forms.CharField(
        label=_("Reason for the correction"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SendLinkForm(forms.Form):
    via = forms.ChoiceField(label=_("Send by"), choices=SentVia.choices, widget=forms.RadioSelect)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial="da")


class RevokeForm(forms.Form):
    # Empty: every open link of the visit; a link's id: that link only.
    link = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=100)


class TabletExitForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
    otp_token = forms.CharField(
        label=_("Code from the authenticator app"), max_length=8, required=False
    )
