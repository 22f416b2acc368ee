"""The sentences of protocol deviations, written in the reader's language when they are read.

A deviation stores its facts (a message key and its parameters: serials, arm codes) rather
than a sentence, so a coordinator reading in Danish and a monitor reading in English each get
it in their own language, whoever recorded it and in whatever language. Rows from before the
key, and free text, keep the sentence stored in ``description``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def _wrong_envelope_returned(p: Mapping, arms: Mapping) -> str:
    return _(
        "The system named envelope %(named)s; envelope %(opened)s was opened. %(named)s was "
        "confirmed still sealed and is back in the stock."
    ) % {"named": p["named"], "opened": p["opened"]}


def _wrong_envelope_spoiled(p: Mapping, arms: Mapping) -> str:
    return _(
        "The system named envelope %(named)s; envelope %(opened)s was opened. %(named)s was "
        "not confirmed still sealed and is spoiled until checked."
    ) % {"named": p["named"], "opened": p["opened"]}


def _card_arm_mismatch(p: Mapping, arms: Mapping) -> str:
    return _(
        "The card of envelope %(opened)s was read as %(card_arm)s; the envelope was generated "
        "as %(envelope_arm)s. The arm read on the card stands until the coordinator decides "
        "otherwise."
    ) % {
        "opened": p["opened"],
        "card_arm": arms.get(p["card_arm"], p["card_arm"]),
        "envelope_arm": arms.get(p["envelope_arm"], p["envelope_arm"]),
    }


# The records a correction after randomisation is made on, as trial.screening.corrections
# names them.
CORRECTED_RECORDS = {
    "screening form": gettext_lazy("screening form"),
    "eligibility": gettext_lazy("eligibility checklist"),
    "consent": gettext_lazy("consent"),
    "surgical assessment": gettext_lazy("surgical assessment"),
}


def _record(p: Mapping) -> str:
    return str(CORRECTED_RECORDS.get(p["what"], p["what"]))


def _correction_changes_stratum(p: Mapping, arms: Mapping) -> str:
    return _(
        "A correction of the %(what)s of %(number)s by %(user)s after randomisation changes "
        "the stratum computed from the recorded data from %(old)s to %(new)s. The allocation "
        "(envelope %(serial)s, stratum %(old)s) does not change. Reason given: %(reason)s"
    ) % {**p, "what": _record(p), "new": p["new"] or _("one that cannot be computed")}


def _correction_makes_ineligible(p: Mapping, arms: Mapping) -> str:
    return _(
        "After a correction of the %(what)s of %(number)s by %(user)s after randomisation the "
        "participant no longer meets the eligibility criteria (%(criteria)s). The allocation "
        "(envelope %(serial)s, stratum %(old)s) does not change. Reason given: %(reason)s"
    ) % {**p, "what": _record(p)}


MESSAGES: dict[str, Callable[[Mapping, Mapping], str]] = {
    "wrong_envelope_returned": _wrong_envelope_returned,
    "wrong_envelope_spoiled": _wrong_envelope_spoiled,
    "card_arm_mismatch": _card_arm_mismatch,
    "correction_changes_stratum": _correction_changes_stratum,
    "correction_makes_ineligible": _correction_makes_ineligible,
}

# The language of ``description`` on new rows: a plain-text copy for readers outside the
# application (the admin, a database dump); the pages and e-mails render the key instead.
STORED_LANGUAGE = "en"


def deviation_sentence(key: str, params: Mapping | None, *, arms: Mapping, stored: str = "") -> str:
    """The deviation's sentence in the active language; the stored text when there is no key
    (an older row, free text) or the key is unknown to this version. ``arms`` maps arm codes
    to their (lazy) labels, the model's choices."""
    render = MESSAGES.get(key or "")
    if render is None:
        return stored
    try:
        return render(params or {}, {code: str(label) for code, label in arms.items()})
    except KeyError:
        return stored


def deviation_stored_text(key: str, params: Mapping, *, arms: Mapping) -> str:
    """What ``description`` holds for a new row: the sentence in ``STORED_LANGUAGE``."""
    with translation.override(STORED_LANGUAGE):
        return deviation_sentence(key, params, arms=arms)
