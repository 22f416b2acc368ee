"""The trial's edit checks, as data: what is checked, on which item, and what the site is asked.

Hard limits (a value no one could record) are the forms' validators; these are the soft ones a
monitor would otherwise find by reading: plausible ranges, a value required when another says
so, dates out of order across forms, an ODI too incomplete to score, a pain score that jumps.
A failing check opens one query on its item (never two for the same check and item); a value
that passes again closes it with a note, unless the site answered it (then the monitor closes
it after reviewing the answer) (trial/monitoring/checks.py evaluates them, when data
is saved and every night). The coordinator's edit-check page lists them with their counts.

Kinds and their parameters:
- ``range``: ``low`` <= value <= ``high`` (a value outside is asked about, not refused).
- ``required_when``: the item is empty while ``when_field`` has ``when_value``.
- ``date_order``: the item's date is before ``after``, which is ``randomisation``,
  ``consent``, ``last_reached_call``, or another field of the same row.
- ``odi_missing``: a submitted ODI has more missing sections than its score allows.
- ``vas_jump``: a back or leg pain VAS differs from the one of the visit before by at least
  ``threshold`` points.
- ``flagged``: the row was stored with its boolean ``flag`` set (a follow-up call logged
  outside its visit's window, confirmed at entry): the item is asked about once more.
- ``derived_disagrees``: a ticked eligibility answer differs from what the records derive
  (``trial.screening.derivation``: age from the CPR number, pain onset for cohort A, planned
  levels and contraindication from the surgical assessment); entry refuses such an answer,
  so this finds data entered before that rule or a record corrected since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class EditCheck:
    code: str
    kind: str
    # What the check asks, for people (translated when shown); the numbers in it are
    # ``params``, filled in by ``text`` so they are stated once.
    label: Any
    model: str  # the model label of the item's form
    item: str = ""  # the field of that form (or the JSON field of answers)
    params: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return str(self.label) % self.params if self.params else str(self.label)


EDIT_CHECKS: tuple[EditCheck, ...] = (
    EditCheck(
        "cement_volume_plausible",
        "range",
        _("Cement volume per level outside %(low)s–%(high)s ml: please confirm the volume."),
        "trial.ProcedureLevel",
        "cement_volume_ml",
        {"low": 1, "high": 8},
    ),
    EditCheck(
        "opioid_dose_plausible",
        "range",
        _("Opioid dose above %(high)s mg oral morphine equivalent a day: please confirm the dose."),
        "trial.ScreeningForm",
        "opioid_ome_mg_per_day",
        {"low": 0, "high": 400},
    ),
    EditCheck(
        "procedure_after_randomisation",
        "date_order",
        _("The PVP procedure is dated before randomisation."),
        "trial.Procedure",
        "procedure_date",
        {"after": "randomisation"},
    ),
    EditCheck(
        "discharge_after_procedure",
        "date_order",
        _("The discharge is dated before the procedure."),
        "trial.Procedure",
        "discharge_date",
        {"after": "procedure_date"},
    ),
    EditCheck(
        "adverse_event_after_consent",
        "date_order",
        _("The adverse event began before consent: was it present at baseline?"),
        "trial.AdverseEvent",
        "onset_date",
        {"after": "consent"},
    ),
    EditCheck(
        "death_after_last_contact",
        "date_order",
        _("The date of death is before a call in which the patient was reached."),
        "trial.Death",
        "date_of_death",
        {"after": "last_reached_call"},
    ),
    EditCheck(
        "new_fracture_levels_given",
        "required_when",
        _("A new fracture is recorded without its levels."),
        "trial.RadiographicControl",
        "new_fracture_levels",
        {"when_field": "new_fracture", "when_value": True},
    ),
    EditCheck(
        "odi_sections_missing",
        "odi_missing",
        _("More ODI sections are missing than the score allows: can the patient complete them?"),
        "questionnaires.QuestionnaireResponse",
        "answers",
    ),
    EditCheck(
        "vas_change_implausible",
        "vas_jump",
        _(
            "The pain score changed by %(threshold)s points or more since the visit before: "
            "please confirm."
        ),
        "questionnaires.QuestionnaireResponse",
        "answers",
        {"threshold": 70},
    ),
    EditCheck(
        "visit_out_of_window",
        "flagged",
        _("The call is dated outside the visit's window: please confirm the date."),
        "followup.CallLog",
        "called_at",
        {"flag": "out_of_window"},
    ),
    EditCheck(
        "eligibility_derived_disagrees",
        "derived_disagrees",
        _(
            "A ticked eligibility answer disagrees with what the recorded data gives "
            "(CPR number, screening form, surgical assessment): please check both."
        ),
        "trial.EligibilityAssessment",
        "answers",
    ),
)
EDIT_CHECKS_BY_CODE = {check.code: check for check in EDIT_CHECKS}
