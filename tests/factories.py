"""factory_boy factories for the core domain."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import factory

from followup.models import Contact, ContactStatus
from questionnaires.models import QuestionnaireResponse, ResponseStatus
from randomization.models import Allocation, Envelope, EnvelopeBatch
from trial.cpr import fake_cpr
from trial.models import (
    Identity,
    Participant,
    ParticipantStatus,
    Role,
    Site,
    SiteKind,
    SiteMembership,
    User,
)


class SurgicalSiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: "S" + "".join(chr(65 + int(d)) for d in f"{n:03d}"))
    name = factory.LazyAttribute(lambda o: f"Surgical department {o.code}")
    kind = SiteKind.SURGERY


class SiteFactory(factory.django.DjangoModelFactory):
    """A hematology department with its own collaborating surgical department."""

    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: "H" + "".join(chr(65 + int(d)) for d in f"{n:03d}"))
    name = factory.LazyAttribute(lambda o: f"Hematology {o.code}")
    kind = SiteKind.HEMATOLOGY
    surgical_partner = factory.SubFactory(
        SurgicalSiteFactory, code=factory.LazyAttribute(lambda o: o.factory_parent.code + "S")
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    role = Role.HEMATOLOGIST
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery-9")

    @factory.post_generation
    def sites(self, create, extracted, **kwargs):
        if create and extracted:
            for site in extracted:
                SiteMembership.objects.get_or_create(user=self, site=site)
        if create:
            self.save()


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    site = factory.SubFactory(SiteFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    trial_number = factory.LazyAttribute(lambda o: f"{o.site.code}-{o.sequence:03d}")
    initials = "AB"
    sex = "F"
    year_of_birth = 1950


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    participant = factory.SubFactory(ParticipantFactory)
    full_name = factory.Sequence(lambda n: f"Testperson Nummer{n}")
    cpr = factory.LazyFunction(lambda: fake_cpr(dt.date(1950, 5, 17), "F", random.Random()))
    phone = "+45 12 34 56 78"
    email = factory.Sequence(lambda n: f"patient{n}@example.dk")
    address = "Testvej 1\n8000 Aarhus C"


# === Screening path ============================================================

from trial.models import (  # noqa: E402
    Consent,
    EligibilityAssessment,
    EligibilityCriteriaVersion,
    InformationSheetVersion,
    Referral,
    ReferralStatus,
    ScreeningForm,
    ScreeningLogEntry,
    SurgicalAssessment,
)


def _today():
    from django.utils import timezone

    return timezone.localdate()


class ScreeningFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScreeningForm

    participant = factory.SubFactory(ParticipantFactory)
    myeloma_status = "known"
    diagnosis_date = factory.LazyFunction(lambda: _today() - dt.timedelta(days=400))
    iss_stage = "II"
    riss_stage = "II"
    prior_lines = 1
    disease_status = "PR"
    bone_therapy = "zoledronic_acid"
    bone_therapy_start = factory.LazyFunction(lambda: _today() - dt.timedelta(days=300))
    paracetamol = True
    opioid = True
    opioid_ome_mg_per_day = 30
    pain_onset_date = factory.LazyFunction(lambda: _today() - dt.timedelta(days=30))
    completed_by = factory.SubFactory(UserFactory)


def derivation_records(participant, user=None, *, born=dt.date(1950, 5, 17), **form):
    """The records the derived eligibility criteria read (trial.screening.derivation): the
    identifying data with a CPR number of birth date ``born``, and a screening form (known
    myeloma, pain onset 30 days ago, unless ``form`` says otherwise)."""
    IdentityFactory(
        participant=participant, cpr=fake_cpr(born, participant.sex, random.Random(born.year))
    )
    if user is not None:
        form.setdefault("completed_by", user)
    return ScreeningFormFactory(participant=participant, **form)


def eligibility_all_met(participant, user, *, version=None):
    """An eligibility assessment with every hematologist criterion answered as required."""
    version = version or EligibilityCriteriaVersion.objects.order_by("-version").first()
    answers = {
        c.code: ("yes" if c.kind == "inclusion" else "no")
        for c in version.criteria.filter(assessed_by="hematologist")
    }
    return EligibilityAssessment.objects.create(
        participant=participant,
        version=version,
        answers=answers,
        assessed_on=_today(),
        assessed_by=user,
    )


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    participant = factory.SubFactory(ParticipantFactory)
    consent_date = factory.LazyFunction(_today)
    information_sheet = factory.LazyFunction(
        lambda: InformationSheetVersion.objects.order_by("-dated").first()
    )
    taken_by = factory.SubFactory(UserFactory)
    recorded_by = factory.SelfAttribute("taken_by")
    oral_information_given = True
    written_information_given = True


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    participant = factory.SubFactory(ParticipantFactory)
    surgical_site = factory.LazyAttribute(lambda o: o.participant.site.surgical_partner)
    referred_on = factory.LazyFunction(_today)
    referred_by = factory.SubFactory(UserFactory)
    status = ReferralStatus.OPEN


class SurgicalAssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurgicalAssessment

    participant = factory.SubFactory(ParticipantFactory)
    referral = factory.SubFactory(
        ReferralFactory,
        participant=factory.SelfAttribute("..participant"),
        status=ReferralStatus.ASSESSED,
    )
    assessed_on = factory.LazyFunction(_today)
    surgeon = factory.SubFactory(UserFactory, role="surgeon")
    contraindication = False
    planned_levels = factory.LazyFunction(lambda: ["L1"])
    earlier_fractures = False
    earlier_fracture_levels = factory.LazyFunction(list)
    risk_information_given = True


def screening_complete(
    participant, user, *, myeloma_status="known", levels=("L1",), earlier_fractures=False
):
    """Everything of the screening path done for a participant; baseline
    questionnaires are the questionnaires app's business."""
    ScreeningFormFactory(participant=participant, completed_by=user, myeloma_status=myeloma_status)
    eligibility_all_met(participant, user)
    ConsentFactory(participant=participant, taken_by=user)
    SurgicalAssessmentFactory(
        participant=participant,
        planned_levels=list(levels),
        earlier_fractures=earlier_fractures,
        earlier_fracture_levels=["T8"] if earlier_fractures else [],
    )
    return participant


class ScreeningLogEntryFactory(factory.django.DjangoModelFactory):
    """A patient screened and not included (no participant); included=True links one."""

    class Meta:
        model = ScreeningLogEntry

    site = factory.SubFactory(SiteFactory)
    screened_on = factory.LazyFunction(_today)
    age = 70
    sex = "F"
    myeloma_status = "known"
    decision = "not_eligible"
    reason = "No new vertebral lesion"
    cpr_digest = factory.Sequence(lambda n: f"{n:064x}")
    created_by = factory.SubFactory(UserFactory)


def ensure_default_criteria() -> None:
    """The protocol's criteria and first information sheet, as migration 0003 creates them.

    Tests after a live-server (transactional) test find the tables flushed; this puts the
    reference rows back so that screening tests never depend on the order they run in.
    """
    import importlib

    from django.apps import apps

    importlib.import_module("trial.migrations.0003_default_eligibility_criteria").create(apps, None)


# --- treatment and clinical events ---


class ProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "trial.Procedure"

    participant = factory.SubFactory(ParticipantFactory)
    procedure_date = factory.LazyFunction(_today)
    facility = "Demo hospital"
    anaesthesia = "local"
    biopsy_taken = False
    complications = False
    recorded_by = factory.SubFactory(UserFactory, role="surgeon")


class ProcedureLevelFactory(factory.django.DjangoModelFactory):
    """A treated vertebra; ``leakage=True`` leaks into the disc unless sites are given."""

    class Meta:
        model = "trial.ProcedureLevel"

    procedure = factory.SubFactory(ProcedureFactory)
    level = "L1"
    cement_volume_ml = 4
    leakage = False
    leak_disc = factory.LazyAttribute(lambda o: o.leakage)
    posterior_wall_defect = False


class AdverseEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "trial.AdverseEvent"

    participant = factory.SubFactory(ParticipantFactory)
    description = "Fever"
    onset_date = factory.LazyFunction(_today)
    grade = 1
    serious = False
    relation = "not_related"
    outcome = "recovering"
    recorded_by = factory.SubFactory(UserFactory, role="nurse")


def sae_report(onset: dt.date | None = None, *, form: bool = False, **overrides) -> dict:
    """The ICH E2A part of a serious adverse event with onset ``onset`` (today): admitted to
    hospital that day, the site aware at its noon (or now, for today's), not expected, probably
    related to the myeloma. Keyword arguments of the service, or with ``form`` the POST data."""
    from django.utils import timezone

    from tests.clock import noon

    onset = onset or _today()
    aware = timezone.localtime() if onset == _today() else noon(onset)
    values: dict = {
        "seriousness_criteria": ["hospitalisation"],
        "hospital_admitted_on": onset,
        "hospital_discharged_on": None,
        "expectedness": "unexpected",
        "relation_disease": "probable",
        "site_aware_at": aware,
        **overrides,
    }
    if not form:
        return values
    posted = {
        "hospital_admitted_on": values["hospital_admitted_on"],
        "hospital_discharged_on": values["hospital_discharged_on"],
        "site_aware_at": values["site_aware_at"],
    }
    return {
        **values,
        **{
            name: ""
            if value is None
            else value.strftime("%Y-%m-%dT%H:%M")
            if isinstance(value, dt.datetime)
            else value.isoformat()
            for name, value in posted.items()
        },
    }


def randomised(participant, *, arm: str = "pvp", days_ago: int = 0, user=None):
    """The participant allocated to ``arm`` ``days_ago`` days ago (Copenhagen noon), with
    the planned levels of a surgical assessment; returns the participant, reloaded."""
    from django.utils import timezone

    day = timezone.localdate() - dt.timedelta(days=days_ago)
    at = dt.datetime.combine(day, dt.time(12), tzinfo=timezone.get_default_timezone())
    allocate(participant, at, arm=arm, user=user)
    return Participant.objects.get(pk=participant.pk)


# Allocations made directly in the database, so that tests of what follows randomisation need
# no envelopes drawn through the randomisation service.
_serials = itertools.count(1)


def allocate(
    participant, randomised_at: dt.datetime, arm: str = "pvp", user=None, *, confirmed=True
):
    """Record an allocation as participant_randomize and then allocation_confirm would leave
    it (status randomised, the opened envelope confirmed, so the arm is revealed);
    ``confirmed=False`` leaves it between "Randomise now" and the confirmation."""
    n = next(_serials)
    batch = EnvelopeBatch.objects.create(
        site=participant.site,
        stratum="A1N",
        size=1,
        block_sizes=[2],
        first_sequence=n,
        created_by=user,
    )
    envelope = Envelope.objects.create(
        batch=batch,
        site=participant.site,
        stratum="A1N",
        sequence=n,
        serial=f"{participant.site.code}-A1N-{n:03d}",
        arm=arm,
        block_number=1,
        block_size=2,
        position_in_block=1,
        used_at=randomised_at,
        participant=participant,
        state="issued",
    )
    participant.status = ParticipantStatus.RANDOMISED
    participant.save(update_fields=["status"])
    by = user or participant.created_by or _user()
    return Allocation.objects.create(
        participant=participant,
        envelope=envelope,
        named_envelope=envelope,
        arm=arm,
        stratum="A1N",
        randomised_at=randomised_at,
        randomised_by=by,
        **(
            {
                "confirmed_serial": envelope.serial,
                "confirmed_arm": arm,
                "confirmed_at": randomised_at,
                "confirmed_by": by,
            }
            if confirmed
            else {}
        ),
    )


def _user():
    return UserFactory(username="randomiser")


# Outcome data as the dashboard and the outcome report read it: submitted questionnaires and
# follow-up contacts, written directly (the report tests are about the analysis, not entry).


def outcome_scores(participant, visit, odi, vas=(50, 40), eq5d="0.500"):
    """Submitted ODI, VAS (back, leg) and EQ-5D-3L responses of ``participant`` at ``visit``
    (no VAS response when ``vas`` is None)."""
    from django.utils import timezone

    now = timezone.now()
    common = {
        "participant": participant,
        "visit_code": visit,
        "instrument_version": "1",
        "mode": "phone",
        "status": ResponseStatus.SUBMITTED,
        "submitted_at": now,
    }
    QuestionnaireResponse.objects.create(
        instrument_code="odi", scores={"odi_score": str(odi)}, **common
    )
    if vas is not None:
        QuestionnaireResponse.objects.create(
            instrument_code="vas", answers={"vas_back": vas[0], "vas_leg": vas[1]}, **common
        )
    QuestionnaireResponse.objects.create(
        instrument_code="eq5d3l", scores={"eq5d_index": eq5d}, **common
    )


def outcome_contact(participant, visit, day0, day, status=ContactStatus.DONE):
    """The follow-up contact for ``visit``, ``day`` days after randomisation on ``day0``."""
    from django.utils import timezone

    target = day0 + dt.timedelta(days=day)
    return Contact.objects.create(
        participant=participant,
        visit_code=visit,
        anchor="randomisation",
        anchor_date=day0,
        target_date=target,
        window_opens=target - dt.timedelta(days=3),
        window_closes=target + dt.timedelta(days=3),
        status=status,
        completed_at=timezone.now() if status == ContactStatus.DONE else None,
    )


def randomised_with_outcomes(site, n, *, arm, start=100, days_ago=200, user=None):
    """n participants randomised ``days_ago``, with baseline and W4 scores (ODI 60 at baseline,
    40 at W4 for PVP and 50 otherwise) and a W4 contact done."""
    from django.utils import timezone

    participants = []
    day0 = timezone.localdate() - dt.timedelta(days=days_ago)
    at = timezone.make_aware(dt.datetime.combine(day0, dt.time(10)))
    for i in range(n):
        p = ParticipantFactory(site=site, sequence=start + i)
        allocate(p, at, arm=arm, user=user)
        outcome_scores(p, "BL", 60)
        outcome_scores(p, "W4", 40 if arm == "pvp" else 50)
        outcome_contact(p, "W4", day0, 28)
        participants.append(p)
    return participants


def w1_contact_id(participant) -> int:
    """The participant's W1 contact, open around 30 March 2026: the one a confirmed
    allocation already created, or a new one (for pages that need a contact to show)."""
    import datetime as dt

    from followup.models import Contact

    day = dt.date(2026, 3, 30)
    contact, _created = Contact.objects.get_or_create(
        participant=participant,
        visit_code="W1",
        defaults={
            "anchor": "randomisation",
            "anchor_date": day - dt.timedelta(days=7),
            "target_date": day,
            "window_opens": day - dt.timedelta(days=3),
            "window_closes": day + dt.timedelta(days=3),
            "status": "due",
        },
    )
    return contact.pk


def query_raised(participant, *, user=None, text: str = "Please check the onset date."):
    """A query raised on the onset date of a new adverse event of ``participant``."""
    from trial.monitoring import items, services

    event = AdverseEventFactory(participant=participant)
    item = items.item_get(participant, f"trial.AdverseEvent:{event.pk}:onset_date")
    assert item is not None
    return services.query_raise(participant=participant, item=item, text=text, user=user)


def casebook_run_done(*, requested_by, participant=None, site=None):
    """A finished, pseudonymised casebook (or, without a participant, a site archive) with a
    tiny file, so that its download answers 200 where it is allowed."""
    from trial.models import CasebookRun
    from trial.monitoring.casebook.services import casebook_root

    run = CasebookRun.objects.create(
        kind="participant" if participant else "site_archive",
        participant=participant,
        site=site,
        language="en",
        requested_by=requested_by,
        status="done",
        file_name=f"sample-{participant.pk if participant else 'site'}.pdf",
    )
    casebook_root().mkdir(parents=True, exist_ok=True)
    (casebook_root() / run.file_name).write_bytes(b"%PDF-1.7\n%%EOF\n")
    return run


def api_token_of(user):
    """A read token of ``user`` (the secret is not needed to open its pages)."""
    from trial.api.services import api_token_create

    token, _secret = api_token_create(user=user, name="sample", scopes=["read"])
    return token
