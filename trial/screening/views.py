"""Views of the screening path (DOMAIN.md steps 1-6): screening log, screening form,
eligibility checklist, consent, referral, surgical assessment, not included, CONSORT numbers
and the coordinator's criteria versions.

Each view: the matrix middleware has admitted the role, a selector looks the object up (404
for another site), a form validates, a service writes and audits.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from trial import access
from trial.concurrency import form_version, version_field_add
from trial.errors import ServiceError
from trial.forms import apply_errors
from trial.http import AuthedHttpRequest
from trial.models import (
    Consent,
    EligibilityAssessment,
    EligibilityCriteriaVersion,
    Participant,
    ParticipantStatus,
    ReferralStatus,
    ScreeningForm,
    SiteKind,
    SurgicalAssessment,
)
from trial.participants import selectors as participant_selectors
from trial.screening import corrections, derivation, lookups
from trial.screening import selectors as screening_selectors
from trial.screening import services as screening_services
from trial.screening.forms import (
    ConsentForm,
    CriteriaVersionForm,
    EligibilityForm,
    NotIncludedForm,
    ReferralCancelForm,
    ReferralForm,
    ScreeningFormForm,
    ScreeningLogEntryEditForm,
    ScreeningLogEntryForm,
    SiteFilterForm,
    SurgicalAssessmentForm,
)
from trial.staff import selectors as staff_selectors

PAGE_SIZE = 50
GET_POST = require_http_methods(["GET", "HEAD", "POST"])


def _screening_participant(request: AuthedHttpRequest, trial_number: str) -> Participant:
    return participant_selectors.participant_get_for(request.user, trial_number)


def _not_in_screening(request: AuthedHttpRequest, participant: Participant) -> HttpResponse:
    messages.warning(request, corrections.not_in_screening_message(participant))
    return redirect(participant)


def _form_page(request, participant, form, *, title: str, mode=None):
    return render(
        request,
        "trial/screening/form.html",
        {"participant": participant, "form": form, "title": title, "mode": mode},
    )


def _refused(request, participant, mode: corrections.PageMode, *, title: str) -> HttpResponse:
    """The page is not offered: the clinic is sent back with the reason, others read it here."""
    if mode.redirect:
        messages.warning(request, mode.message)
        return redirect(participant)
    return render(
        request,
        "trial/screening/form.html",
        {"participant": participant, "form": None, "title": title, "lead": mode.message},
    )


def _saved(request, participant, text: str, warnings: list[str]) -> HttpResponse:
    messages.success(request, text)
    for warning in warnings:
        messages.warning(request, warning)
    return redirect(participant)


# --- Screening log ----------------------------------------------------------------------


@require_safe
def screening_log(request: AuthedHttpRequest) -> HttpResponse:
    sites = staff_selectors.sites_for(request.user).filter(kind=SiteKind.HEMATOLOGY)
    form = SiteFilterForm(request.GET or None, sites=sites)
    qs = screening_selectors.screening_entries_for(request.user).select_related(
        "site", "participant"
    )
    if form.is_valid() and form.cleaned_data["site"]:
        qs = qs.filter(site=form.cleaned_data["site"])
    page = Paginator(qs.order_by("-screened_on", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "trial/screening/log.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "many_sites": len(sites) > 1,
            "can_create": access.can(request.user, "trial:screening_log_create"),
        },
    )


@GET_POST
def screening_log_create(request: AuthedHttpRequest) -> HttpResponse:
    sites = staff_selectors.sites_for(request.user).filter(kind=SiteKind.HEMATOLOGY, active=True)
    form = ScreeningLogEntryForm(request.POST or None, sites=sites)
    duplicates = []
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if not data["confirm_duplicate"]:
                # The look-up across sites is recorded and throttled (trial.screening.lookups);
                # the service checks again inside its transaction.
                earlier = lookups.earlier_screenings(
                    user=request.user, digest=screening_services.cpr_digest(data["cpr"])
                )
                if earlier:
                    raise screening_services.DuplicateScreening(earlier)
            entry = screening_services.screening_log_entry_create(
                site=data["site"],
                user=request.user,
                screened_on=data["screened_on"],
                cpr=data["cpr"],
                age=data["age"],
                sex=data["sex"],
                myeloma_status=data["myeloma_status"],
                decision=data["decision"],
                reason=data["reason"],
                failed_criteria=data["failed_criteria"],
                full_name=data["full_name"],
                initials=data["initials"],
                phone=data["phone"],
                duplicate_confirmed=data["confirm_duplicate"],
            )
        except lookups.LookupThrottled as exc:
            form.add_error(None, str(exc))
            status = 429
        except screening_services.DuplicateScreening as exc:
            duplicates = screening_selectors.screening_duplicates(request.user, exc.entries)
        except (ServiceError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            registered = entry.participant
            if registered is not None:
                messages.success(
                    request,
                    _("%(number)s is registered. Fill in the screening form next.")
                    % {"number": registered.trial_number},
                )
                return redirect(registered)
            messages.success(request, _("The screening is logged."))
            return redirect("trial:screening_log")
    return render(
        request,
        "trial/screening/log_create.html",
        {"form": form, "duplicates": duplicates, "many_sites": len(sites) > 1},
        status=status,
    )


@require_safe
def screening_log_detail(request: AuthedHttpRequest, entry_id: int) -> HttpResponse:
    entry = screening_selectors.screening_entry_get_for(request.user, entry_id)
    participant = None
    if entry.participant_id:
        participant = access.participants_for(request.user).filter(pk=entry.participant_id).first()
    return render(
        request,
        "trial/screening/log_detail.html",
        {
            "entry": entry,
            "participant": participant,
            "history": screening_selectors.entry_history(entry),
            "can_edit": access.can(request.user, "trial:screening_log_edit"),
            "failed_criteria": screening_selectors.criterion_labels_for(entry.failed_criteria),
        },
    )


@GET_POST
def screening_log_edit(request: AuthedHttpRequest, entry_id: int) -> HttpResponse:
    entry = screening_selectors.screening_entry_get_for(request.user, entry_id)
    form = ScreeningLogEntryEditForm(request.POST or None, entry=entry)
    version_field_add(form, entry)
    if request.method == "POST" and form.is_valid():
        try:
            _entry, changed = screening_services.screening_log_entry_update(
                entry=entry,
                user=request.user,
                data=form.cleaned_data,
                reason=form.cleaned_data["change_reason"],
                loaded_version=form_version(form),
            )
        except (ServiceError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            if changed:
                messages.success(request, _("The screening-log entry is corrected."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("trial:screening_log_detail", entry_id=entry.pk)
    return render(request, "trial/screening/log_edit.html", {"entry": entry, "form": form})


# --- The participant's screening path ---------------------------------------------------


@GET_POST
def screening_form(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = _screening_participant(request, trial_number)
    existing = ScreeningForm.objects.filter(participant=participant).first()
    mode = corrections.page_mode(
        request.user, participant, "screening_form", existing=existing is not None
    )
    if not mode.allowed:
        return _refused(request, participant, mode, title=_("Screening form"))
    instance = existing or ScreeningForm(participant=participant)
    if existing is None:
        entry = getattr(participant, "screening_entry", None)
        initial = {"myeloma_status": entry.myeloma_status} if entry else {}
    else:
        initial = {}
    form = ScreeningFormForm(request.POST or None, instance=instance, initial=initial)
    version_field_add(form, existing)
    if request.method == "POST" and form.is_valid():
        try:
            warnings = corrections.record(
                mode,
                service=screening_services.screening_form_record,
                participant=participant,
                user=request.user,
                data=form.cleaned_data,
                reason=form.cleaned_data.get("reason", ""),
                loaded_version=form_version(form),
            )
        except (ServiceError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            return _saved(request, participant, _("The screening form is saved."), warnings)
    return _form_page(request, participant, form, title=_("Screening form"), mode=mode)


@GET_POST
def eligibility(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = _screening_participant(request, trial_number)
    existing = EligibilityAssessment.objects.filter(participant=participant).first()
    mode = corrections.page_mode(
        request.user, participant, "eligibility", existing=existing is not None
    )
    if not mode.allowed:
        return _refused(request, participant, mode, title=_("Eligibility checklist"))
    # A correction keeps the version the answers were given against.
    version = (
        existing.version
        if existing and mode.correcting
        else screening_selectors.current_criteria_version()
    )
    if version is None:
        messages.error(request, _("No eligibility criteria are in force. Ask the coordinator."))
        return redirect(participant)
    initial = {}
    if existing is not None:
        initial = {f"c_{code}": answer for code, answer in existing.answers.items()}
        initial["assessed_on"] = existing.assessed_on
    form = EligibilityForm(
        request.POST or None,
        criteria=list(version.criteria.all()),
        editing=existing is not None,
        initial=initial,
        facts=derivation.facts_for(participant),
    )
    version_field_add(form, existing)
    if request.method == "POST" and form.is_valid():
        try:
            warnings = corrections.record(
                mode,
                service=screening_services.eligibility_record,
                participant=participant,
                user=request.user,
                answers=form.answers(),
                assessed_on=form.cleaned_data["assessed_on"],
                reason=form.cleaned_data.get("reason", ""),
                loaded_version=form_version(form),
            )
        except (ServiceError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            return _saved(request, participant, _("The eligibility checklist is saved."), warnings)
    return render(
        request,
        "trial/screening/eligibility.html",
        {
            "participant": participant,
            "form": form,
            "version": version,
            "existing": existing,
            "title": _("Eligibility checklist"),
            "mode": mode,
        },
    )


@GET_POST
def consent(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = _screening_participant(request, trial_number)
    existing = Consent.objects.filter(participant=participant).first()
    mode = corrections.page_mode(
        request.user, participant, "consent", existing=existing is not None
    )
    if not mode.allowed:
        return _refused(request, participant, mode, title=_("Consent"))
    instance = existing or Consent(participant=participant)
    form = ConsentForm(
        request.POST or None, instance=instance, participant=participant, user=request.user
    )
    version_field_add(form, instance)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            warnings = corrections.record(
                mode,
                service=screening_services.consent_record,
                participant=participant,
                user=request.user,
                consent_date=data["consent_date"],
                information_sheet=data["information_sheet"],
                taken_by=data["taken_by"],
                oral_information_given=data["oral_information_given"],
                written_information_given=data["written_information_given"],
                reason=data.get("reason", ""),
                loaded_version=form_version(form),
            )
        except (ServiceError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            return _saved(request, participant, _("Consent is recorded."), warnings)
    return _form_page(request, participant, form, title=_("Consent"), mode=mode)


@GET_POST
def referral_create(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = _screening_participant(request, trial_number)
    if participant.status != ParticipantStatus.SCREENING:
        return _not_in_screening(request, participant)
    form = ReferralForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            referral = screening_services.referral_create(
                participant=participant,
                user=request.user,
                referred_on=form.cleaned_data["referred_on"],
                note=form.cleaned_data["note"],
            )
        except (ServiceError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Referred to %(site)s.") % {"site": referral.surgical_site.name},
            )
            return redirect(participant)
    return render(
        request,
        "trial/screening/form.html",
        {
            "participant": participant,
            "form": form,
            "title": _("Refer for surgical assessment"),
            "lead": _("The referral goes to %(site)s, the collaborating surgical department.")
            % {"site": participant.site.surgical_partner or "—"},
        },
    )


@GET_POST
def referral_cancel(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = _screening_participant(request, trial_number)
    if participant.status != ParticipantStatus.SCREENING:
        return _not_in_screening(request, participant)
    referral = (
        participant.referrals.filter(status=ReferralStatus.OPEN)
        .select_related("surgical_site", "referred_by")
        .first()
    )
    if referral is None:
        messages.warning(request, _("The patient has no open referral."))
        return redirect(participant)
    form = ReferralCancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            screening_services.referral_cancel(
                participant=participant, user=request.user, reason=form.cleaned_data["reason"]
            )
        except (ServiceError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The referral to %(site)s is cancelled.") % {"site": referral.surgical_site.name},
            )
            return redirect(participant)
    return render(
        request,
        "trial/screening/form.html",
        {
            "participant": participant,
            "form": form,
            "title": _("Cancel the referral"),
            "lead": _(
                "The referral of %(date)s to %(site)s leaves the surgeon's list of open referrals."
            )
            % {
                "date": formats.date_format(referral.referred_on, "SHORT_DATE_FORMAT"),
                "site": referral.surgical_site.name,
            },
        },
    )


@GET_POST
def surgical_assessment(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = _screening_participant(request, trial_number)
    existing = (
        SurgicalAssessment.objects.select_related("referral")
        .filter(participant=participant)
        .first()
    )
    mode = corrections.page_mode(
        request.user, participant, "surgical_assessment", existing=existing is not None
    )
    if not mode.allowed and not mode.redirect:
        # Everyone else who may see the participant reads the assessment.
        return render(
            request,
            "trial/screening/surgical_assessment_view.html",
            {
                "participant": participant,
                "surgical": existing,
                "referrals": participant.referrals.select_related(
                    "surgical_site", "referred_by"
                ).order_by("referred_on", "id"),
                "title": _("Surgical assessment"),
            },
        )
    if not mode.allowed:
        return _refused(request, participant, mode, title=_("Surgical assessment"))
    referral = (
        existing.referral
        if existing
        else participant.referrals.filter(status=ReferralStatus.OPEN)
        .select_related("surgical_site", "referred_by")
        .first()
    )
    if referral is None:
        messages.warning(request, _("The patient has not been referred for surgical assessment."))
        return redirect(participant)
    form = SurgicalAssessmentForm(
        request.POST or None,
        instance=existing or SurgicalAssessment(participant=participant, referral=referral),
    )
    version_field_add(form, existing)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            warnings = corrections.record(
                mode,
                service=screening_services.surgical_assessment_record,
                participant=participant,
                user=request.user,
                assessed_on=data["assessed_on"],
                contraindication=data["contraindication"],
                contraindication_details=data["contraindication_details"],
                planned_levels=data["planned_levels"],
                earlier_fractures=data["earlier_fractures"],
                earlier_fracture_levels=data["earlier_fracture_levels"],
                risk_information_given=data["risk_information_given"],
                reason=data.get("reason", ""),
                loaded_version=form_version(form),
            )
        except (ServiceError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            return _saved(request, participant, _("The surgical assessment is saved."), warnings)
    return render(
        request,
        "trial/screening/surgical_assessment.html",
        {
            "participant": participant,
            "form": form,
            "referral": referral,
            "title": _("Surgical assessment"),
            "mode": mode,
        },
    )


@GET_POST
def not_included(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = _screening_participant(request, trial_number)
    if participant.status != ParticipantStatus.SCREENING:
        return _not_in_screening(request, participant)
    form = NotIncludedForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            screening_services.participant_not_included(
                participant=participant,
                user=request.user,
                reason_code=form.cleaned_data["reason_code"],
                note=form.cleaned_data["note"],
            )
        except (ServiceError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The participant is recorded as not included."))
            return redirect(participant)
    return _form_page(request, participant, form, title=_("Not included"))


# --- Lists -------------------------------------------------------------------------------


@require_safe
def referral_list(request: AuthedHttpRequest) -> HttpResponse:
    referrals = screening_selectors.open_referrals_for(request.user).order_by("referred_on", "id")
    page = Paginator(referrals, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "trial/screening/referral_list.html", {"page": page})


@require_safe
def consort(request: AuthedHttpRequest) -> HttpResponse:
    sites = staff_selectors.sites_for(request.user).filter(kind=SiteKind.HEMATOLOGY)
    form = SiteFilterForm(request.GET or None, sites=sites)
    site = form.cleaned_data["site"] if form.is_valid() else None
    return render(
        request,
        "trial/screening/consort.html",
        {"form": form, "counts": screening_selectors.consort_counts(site), "site": site},
    )


@GET_POST
def criteria_versions(request: AuthedHttpRequest) -> HttpResponse:
    form = CriteriaVersionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = screening_services.criteria_version_create(
                user=request.user,
                effective_from=form.cleaned_data["effective_from"],
                note=form.cleaned_data["note"],
            )
        except (ServiceError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Version %(v)s is created as a copy; edit its criteria before it comes "
                    "into force."
                )
                % {"v": version.version},
            )
            return redirect("trial:criteria_versions")
    versions = EligibilityCriteriaVersion.objects.prefetch_related("criteria").order_by("-version")
    return render(
        request,
        "trial/screening/criteria_versions.html",
        {
            "form": form,
            "versions": versions,
            "current": screening_selectors.current_criteria_version(),
            "can_create": access.can(request.user, "trial:criteria_versions"),
        },
    )
