"""The trial app's own exporters: participants, screening, eligibility, consent,
surgical assessment, deaths, withdrawals and identity, and the trial's columns of the wide
analysis file. Imported by ``trial.exports.register()``; treatment's exporters live in
trial.exports.treatment_exporters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Value
from django.utils.translation import gettext_lazy as _

from trial import models as m
from trial.exports.registry import (
    CHUNK_SIZE,
    AnalysisColumns,
    Exporter,
    QueryExporter,
    Variable,
    boolean,
    by_trial_number,
    coded,
    exporters,
    register,
)
from trial.exports.sql import JsonListLength, JsonListText, SqlSource
from trial.screening.services import SCREENING_FORM_FIELDS


def _bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _levels(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else ""


@register
class ParticipantExporter(QueryExporter):
    identifier = "participants"
    on_crf = False  # kept by the system, not filled on a form
    label = _("Participants")
    description = _("Every registered participant: site, sex, year of birth, status.")
    order = 10

    def variables(self) -> list[Variable]:
        return [
            Variable("site", _("Site code")),
            coded("sex", _("Sex"), m.Sex.choices),
            Variable("year_of_birth", _("Year of birth"), "integer"),
            coded("status", _("Status in the trial"), m.ParticipantStatus.choices),
            coded(
                "not_included_reason",
                _("Reason not included"),
                m.NotIncludedReason.choices,
            ),
            Variable("registered_at", _("Registered"), "datetime"),
        ]

    model = m.Participant
    order_by = ("id",)
    trial_number = "trial_number"
    fields = ("site__code", "sex", "year_of_birth", "status", "not_included_reason", "created_at")


@register
class ScreeningLogExporter(QueryExporter):
    """The screening log has patients who never became participants: no trial number."""

    unregistered_rows = True

    identifier = "screening_log"
    label = _("Screening log")
    description = _(
        "Every patient considered (CONSORT): date, site, age, sex, decision. Patients who "
        "were not included have no trial number; they are numbered by log entry."
    )
    order = 5

    def variables(self) -> list[Variable]:
        return [
            Variable("log_entry", _("Screening log entry number"), "integer"),
            Variable("site", _("Site code")),
            Variable("screened_on", _("Screening date"), "date"),
            Variable("age", _("Age at screening"), "integer", unit="years"),
            coded("sex", _("Sex"), m.Sex.choices),
            coded("myeloma_status", _("Myeloma status"), m.MyelomaStatus.choices),
            coded("decision", _("Decision"), m.ScreeningDecision.choices),
            Variable(
                "failed_criteria",
                _("Criteria not met (codes, space-separated; see eligibility criteria)"),
            ),
            Variable("reason", _("Reason when not included"), free_text=True),
        ]

    model = m.ScreeningLogEntry
    order_by = ("id",)
    fields = (
        "id", "site__code", "screened_on", "age", "sex", "myeloma_status", "decision",
        "failed_criteria", "reason",
    )  # fmt: skip


@register
class ScreeningFormExporter(QueryExporter):
    identifier = "screening_form"
    label = _("Screening form")
    description = _("The hematologist's screening form: myeloma, stage, treatment, pain relief.")
    order = 20

    def variables(self) -> list[Variable]:
        return [
            coded("myeloma_status", _("Myeloma status"), m.MyelomaStatus.choices),
            Variable("diagnosis_date", _("Date of myeloma diagnosis"), "date"),
            coded("iss_stage", _("ISS stage"), m.ISSStage.choices),
            coded("riss_stage", _("R-ISS stage"), m.ISSStage.choices),
            Variable("prior_lines", _("Lines of prior treatment"), "integer", allowed="0-20"),
            coded("disease_status", _("Current disease status (IMWG)"), m.DiseaseStatus.choices),
            coded("bone_therapy", _("Bone-targeted therapy"), m.BoneTherapy.choices),
            Variable("bone_therapy_start", _("Bone-targeted therapy started"), "date"),
            boolean("paracetamol", _("Paracetamol")),
            boolean("nsaid", _("NSAID")),
            boolean("opioid", _("Opioid")),
            Variable(
                "opioid_ome_mg_day",
                _("Opioid dose, oral morphine equivalent"),
                "decimal",
                allowed="1-2000",
                unit="mg/day",
            ),
            boolean("spinal_radiotherapy", _("Earlier radiotherapy to the spine")),
            Variable("pain_onset_date", _("Date the fracture pain began"), "date"),
        ]

    model = m.ScreeningForm
    fields = SCREENING_FORM_FIELDS


@register
class EligibilityExporter(Exporter):
    identifier = "eligibility"
    label = _("Eligibility checklist")
    description = _("The hematologist's answers, one record per criterion (versioned list).")
    repeated = True
    key_name = "criterion"
    order = 30

    def variables(self) -> list[Variable]:
        return [
            Variable("criteria_version", _("Eligibility criteria version"), "integer"),
            Variable("assessed_on", _("Assessed on"), "date"),
            coded("answer", _("Answer"), m.Answer.choices),
        ]

    def rows(self) -> Iterator[tuple]:
        qs = self.restrict(m.EligibilityAssessment.objects.all())
        qs = qs.order_by(by_trial_number(), "pk").values_list(
            "participant__trial_number", "version__version", "assessed_on", "answers"
        )
        for tn, version, on, answers in qs.iterator(chunk_size=CHUNK_SIZE):
            for code, answer in sorted((answers or {}).items()):
                yield (tn, code, version, on, answer)

    def sql_source(self) -> SqlSource:
        # One record per criterion of the answers (JSON), in code-point order like sorted().
        assessment = m.EligibilityAssessment._meta
        version = assessment.get_field("version").related_model._meta.db_table
        sql = f"""
            SELECT p.trial_number, a.key, v.version, ea.assessed_on, a.value
            FROM {assessment.db_table} ea
            JOIN {m.Participant._meta.db_table} p ON p.id = ea.participant_id
            JOIN {version} v ON v.id = ea.version_id
            CROSS JOIN LATERAL jsonb_each_text(COALESCE(ea.answers, '{{}}'::jsonb)) a
            ORDER BY p.trial_number COLLATE "C", ea.id, a.key COLLATE "C"
        """  # noqa: S608 - table names from the models, no user input
        return SqlSource(sql)


@register
class ConsentExporter(QueryExporter):
    identifier = "consent"
    label = _("Consent")
    order = 40

    def variables(self) -> list[Variable]:
        return [
            Variable("consent_date", _("Date of consent"), "date"),
            Variable("information_sheet", _("Information sheet version")),
            boolean("oral_information", _("Oral information given")),
            boolean("written_information", _("Written information given")),
        ]

    model = m.Consent
    fields = (
        "consent_date",
        "information_sheet__label",
        "oral_information_given",
        "written_information_given",
    )


@register
class SurgicalAssessmentExporter(Exporter):
    identifier = "surgical_assessment"
    label = _("Surgical assessment")
    order = 50

    def variables(self) -> list[Variable]:
        return [
            Variable("assessed_on", _("Assessed on"), "date"),
            boolean("contraindication", _("Contraindication to PVP")),
            Variable("contraindication_details", _("Which contraindication"), free_text=True),
            Variable("planned_levels", _("Planned PVP levels (T1-L5, space-separated)")),
            Variable("planned_level_count", _("Number of planned PVP levels"), "integer"),
            boolean("earlier_fractures", _("Earlier vertebral fractures not to be treated")),
            Variable("earlier_fracture_levels", _("Levels of earlier fractures")),
            boolean("risk_information", _("Risk of the procedure explained")),
        ]

    def rows(self) -> Iterator[tuple]:
        qs = self.restrict(m.SurgicalAssessment.objects.all())
        qs = qs.order_by(by_trial_number()).values_list(
            "participant__trial_number",
            "assessed_on",
            "contraindication",
            "contraindication_details",
            "planned_levels",
            "earlier_fractures",
            "earlier_fracture_levels",
            "risk_information_given",
        )
        for tn, on, contra, details, planned, earlier, earlier_levels, risk in qs.iterator(
            chunk_size=CHUNK_SIZE
        ):
            yield (
                tn,
                "",
                on,
                _bool(contra),
                details or None,
                _levels(planned) or None,
                len(planned or []),
                _bool(earlier),
                _levels(earlier_levels) or None,
                _bool(risk),
            )

    def sql_source(self) -> SqlSource:
        return SqlSource.from_queryset(
            m.SurgicalAssessment.objects.order_by(by_trial_number()).values_list(
                "participant__trial_number",
                Value(""),
                "assessed_on",
                "contraindication",
                "contraindication_details",
                JsonListText("planned_levels"),
                JsonListLength("planned_levels"),
                "earlier_fractures",
                JsonListText("earlier_fracture_levels"),
                "risk_information_given",
            )
        )


@register
class DeathExporter(QueryExporter):
    identifier = "deaths"
    label = _("Deaths")
    order = 80

    def variables(self) -> list[Variable]:
        return [
            Variable("date_of_death", _("Date of death"), "date"),
            coded("death_related_to", _("Death related to"), m.DeathRelation.choices),
            Variable("cause", _("Cause of death"), free_text=True),
        ]

    model = m.Death
    fields = ("date_of_death", "relation", "cause")


@register
class WithdrawalExporter(QueryExporter):
    identifier = "withdrawals"
    label = _("Withdrawals")
    order = 85

    def variables(self) -> list[Variable]:
        return [
            Variable("withdrawn_on", _("Date of withdrawal"), "date"),
            coded("initiated_by", _("Withdrawn by"), m.WithdrawalInitiator.choices),
            Variable("reason", _("Reason"), free_text=True),
            boolean("data_use_allowed", _("Data collected so far may be used")),
        ]

    model = m.Withdrawal
    fields = ("withdrawn_on", "initiated_by", "reason", "data_use_allowed")


IDENTITY_VARIABLES = (
    Variable("full_name", _("Full name"), identifying=True),
    Variable("cpr", _("CPR number"), identifying=True),
    Variable("phone", _("Phone"), identifying=True),
    Variable("email", _("E-mail"), identifying=True),
    Variable("address", _("Address"), identifying=True),
)


@register
class IdentityExporter(QueryExporter):
    """Identifying data: only in an identified export (data managers, with a reason)."""

    identifier = "identity"
    label = _("Identifying data")
    description = _("Names, CPR numbers and contact details. Identified exports only.")
    identifying = True
    order = 1

    def variables(self) -> list[Variable]:
        return list(IDENTITY_VARIABLES)

    model = m.Identity
    fields = ("full_name", "cpr", "phone", "email", "address")


# --- the trial's columns of the wide analysis file -----------------------------------------


def base_variables() -> list[Variable]:
    return [
        Variable("site", _("Site code")),
        coded("sex", _("Sex"), m.Sex.choices),
        Variable("year_of_birth", _("Year of birth"), "integer"),
        coded("status", _("Status in the trial"), m.ParticipantStatus.choices),
        coded("myeloma_status", _("Myeloma status"), m.MyelomaStatus.choices),
        coded("iss_stage", _("ISS stage"), m.ISSStage.choices),
        coded("riss_stage", _("R-ISS stage"), m.ISSStage.choices),
        Variable("prior_lines", _("Lines of prior treatment"), "integer"),
        coded("disease_status", _("Current disease status (IMWG)"), m.DiseaseStatus.choices),
        coded("bone_therapy", _("Bone-targeted therapy"), m.BoneTherapy.choices),
        boolean("opioid", _("Opioid at baseline")),
        Variable("opioid_ome_mg_day", _("Opioid dose at baseline (OME)"), "decimal", unit="mg/day"),
        boolean("spinal_radiotherapy", _("Earlier radiotherapy to the spine")),
        Variable("planned_level_count", _("Number of planned PVP levels"), "integer"),
        boolean("earlier_fractures", _("Earlier vertebral fractures not to be treated")),
        boolean("died", _("Died")),
        Variable("date_of_death", _("Date of death"), "date"),
        coded("death_related_to", _("Death related to"), m.DeathRelation.choices),
        boolean("withdrawn", _("Withdrawn")),
        Variable("withdrawn_on", _("Date of withdrawal"), "date"),
        boolean("withdrawal_data_use", _("Data may be used after withdrawal")),
    ]


def participant_stream() -> Iterator[tuple[int, str, tuple]]:
    """``(participant_id, trial_number, base values)`` for every participant, by id.

    The one-to-one forms are LEFT JOINs of the same query, so this is one query however many
    participants there are.
    """
    qs = m.Participant.objects.order_by("id").values_list(
        "id",
        "trial_number",
        "site__code",
        "sex",
        "year_of_birth",
        "status",
        "screening_form__myeloma_status",
        "screening_form__iss_stage",
        "screening_form__riss_stage",
        "screening_form__prior_lines",
        "screening_form__disease_status",
        "screening_form__bone_therapy",
        "screening_form__opioid",
        "screening_form__opioid_ome_mg_per_day",
        "screening_form__previous_spinal_radiotherapy",
        "surgical_assessment__planned_levels",
        "surgical_assessment__earlier_fractures",
        "death__date_of_death",
        "death__relation",
        "withdrawal__withdrawn_on",
        "withdrawal__data_use_allowed",
    )
    for r in qs.iterator(chunk_size=CHUNK_SIZE):
        planned = r[15]
        values = (
            *r[2:12],
            _bool(r[12]),
            r[13],
            _bool(r[14]),
            len(planned) if isinstance(planned, list) else None,
            _bool(r[16]),
            int(r[17] is not None),
            r[17],
            r[18],
            int(r[19] is not None),
            r[19],
            _bool(r[20]),
        )
        yield r[0], r[1], values


def _identity_rows() -> Iterator[tuple[int, tuple]]:
    qs = m.Identity.objects.order_by("participant_id").values_list(
        "participant_id", "full_name", "cpr", "phone", "email", "address"
    )
    for pid, *values in qs.iterator(chunk_size=CHUNK_SIZE):
        yield pid, tuple(v or None for v in values)


exporters.add_analysis(
    AnalysisColumns("identity", lambda: list(IDENTITY_VARIABLES), _identity_rows, order=1)
)
