"""Forms of the questionnaires app: they validate and convert, nothing else."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from questionnaires.instruments import Item, Wording, WordingError, get_instrument, load_wording
from questionnaires.models import Mode, SentVia


def instrument_wording(instrument_code: str, language: str | None = None) -> Wording:
    """The wording of an instrument in ``language`` (default: the active language), or in the
    trial's default language when there is none in that one.

    The one way pages get an instrument's wording: the patient's screens, the staff's phone
    and paper entry and whatever else shows questions read from the same files.
    """
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    try:
        return load_wording(instrument_code, language)
    except WordingError:
        return load_wording(instrument_code, settings.LANGUAGE_CODE)


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


def worded_item_field(item: Item, wording: Wording, *, not_answered: bool = True) -> forms.Field:
    """A form field for one item as the patient reads it: the question as its label and, for a
    choice item, each option's text as the label of its radio button (the stored value is
    still the option's code). A VAS item stays a number, with its two anchors as help text.

    ``not_answered`` adds a last option "Not answered" to a choice item, so that a member of
    staff who ticked an answer by mistake can take it back with the keyboard alone.
    """
    worded = wording.items[item.code]
    if item.kind == "choice":
        choices: list[tuple[int | str, str]] = [(c, worded.choices[c]) for c in item.choices]
        if not_answered:
            choices.append(("", str(_("Not answered"))))
        return forms.TypedChoiceField(
            label=worded.text,
            choices=choices,
            coerce=int,
            required=False,
            empty_value=None,
            widget=forms.RadioSelect,
        )
    help_text = ""
    if item.kind == "vas":
        help_text = _("%(low_value)d: %(low)s · %(high_value)d: %(high)s") % {
            "low_value": item.min_value,
            "low": worded.anchors["low"],
            "high_value": item.max_value,
            "high": worded.anchors["high"],
        }
    return forms.IntegerField(
        label=worded.text,
        help_text=help_text,
        min_value=item.min_value,
        max_value=item.max_value,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
    )


def instrument_fields(
    instrument_code: str, language: str | None = None, *, prefix: str = ""
) -> dict[str, forms.Field]:
    """Worded form fields for every item of an instrument, keyed ``prefix + item code``, in
    ``language`` (falling back as ``instrument_wording`` does). For any form that takes an
    instrument's answers from staff: phone and paper entry, corrections, the follow-up call.
    """
    wording = instrument_wording(instrument_code, language)
    return {
        prefix + item.code: worded_item_field(item, wording)
        for item in get_instrument(instrument_code).items
    }


class AnswersForm(forms.Form):
    """Answers to some items (one screen of the patient's path, or a whole instrument)."""

    def __init__(
        self, *args, items: tuple[Item, ...], wording: Wording | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            self.fields[item.code] = (
                item_field(item) if wording is None else worded_item_field(item, wording)
            )

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
