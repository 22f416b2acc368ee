"""Every model of the ``trial`` app, in one place.

The models are defined in the capability packages (trial/staff, trial/participants,
trial/screening, trial/treatment); a model defined in any module under ``trial`` gets the
``trial`` app label, so its table, its migrations and ``"trial.Model"`` strings are unchanged.
Importing them here makes Django load them with the app and keeps ``from trial.models import X``
working everywhere.

"""

from __future__ import annotations

# The export log lives with the exports (trial/exports/models.py) and the outbox row with the
# outbox (trial/outbox/models.py); importing them here registers them under the trial app.
from trial.api.models import ApiScope, ApiToken  # noqa: F401
from trial.exports.models import ExportFormat, ExportRun, ExportStatus  # noqa: F401
from trial.monitoring.casebook.models import CasebookKind, CasebookRun  # noqa: F401
from trial.monitoring.models import (  # noqa: F401 - re-exported
    DataLock,
    LockScope,
    Query,
    QueryDigest,
    QueryMessage,
    QueryMessageKind,
    QueryState,
    SourceVerification,
)
from trial.monitoring.signature_models import (  # noqa: F401 - re-exported
    Signature,
    SignatureMeaning,
    SignatureState,
)
from trial.outbox.models import PendingTask  # noqa: F401
from trial.participants.models import (  # noqa: F401 - re-exported
    ENDED_STATUSES,
    Death,
    DeathRelation,
    Identity,
    NotIncludedReason,
    Participant,
    ParticipantStatus,
    Sex,
    Withdrawal,
    WithdrawalInitiator,
)
from trial.reports.models import DmcReportAccess, DmcSettings  # noqa: F401
from trial.screening.models import (  # noqa: F401 - re-exported
    Answer,
    BoneTherapy,
    Consent,
    CprLookup,
    CriterionAssessor,
    CriterionKind,
    DiseaseStatus,
    EligibilityAssessment,
    EligibilityCriteriaVersion,
    EligibilityCriterion,
    InformationSheetVersion,
    ISSStage,
    MyelomaStatus,
    ScreeningDecision,
    ScreeningForm,
    ScreeningLogEntry,
    screening_date,
)
from trial.screening.referral_models import (  # noqa: F401 - re-exported
    Referral,
    ReferralStatus,
    SurgicalAssessment,
)
from trial.staff.models import (  # noqa: F401 - re-exported
    CENTRAL_ROLES,
    SITE_ROLES,
    Role,
    Site,
    SiteKind,
    SiteMembership,
    User,
    site_code_validator,
)
from trial.treatment.models import (  # noqa: F401 - re-exported
    AE_RELATED,
    AE_RESOLVED_OUTCOMES,
    CEMENT_VOLUME_MAX_ML,
    CEMENT_VOLUME_MIN_ML,
    AdverseEvent,
    AEOutcome,
    AERelation,
    Anaesthesia,
    Crossover,
    CTCAEGrade,
    LeakageSite,
    Procedure,
    ProcedureLevel,
    RadiographicControl,
    RadiographKind,
    Stability,
    UsualCare,
)
from trial.treatment.sae_report import Expectedness, SeriousnessCriterion  # noqa: F401
