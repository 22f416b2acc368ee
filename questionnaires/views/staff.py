"""Views of the questionnaires app for staff: a participant's questionnaires (overview), sending
links and letters, revoking them, starting a clinic-tablet session, phone or paper entry and
corrections, and the links waiting for answers. The patient's pages are in
questionnaires.views.patient.

Staff pages look participants up through trial.participants.selectors.participant_get_for
(404 for other sites).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from questionnaires import links as qlinks
from questionnaires import selectors, services
from questionnaires.forms import (
    CorrectionForm,
    RevokeForm,
    SendLinkForm,
    StaffEntryForm,
    instrument_wording,
)
from questionnaires.instruments import get_instrument
from questionnaires.models import Mode, QuestionnaireLink, SentVia
from questionnaires.views.patient import (
    TABLET_IDLE_SESSION_KEY,
    TABLET_SESSION_KEY,
    _posted,
)
from trial import access
from trial.concurrency import form_version, version_field_add
from trial.errors import ServiceError
from trial.forms import apply_errors, out_of_window_confirmed, out_of_window_field_add
from trial.http import AuthedHttpRequest
from trial.models import ENDED_STATUSES
from trial.participants import selectors as trial_selectors
from trial.protocol import visits
from trial.protocol.windows import VisitTiming, visit_timing


def _visit_or_404(
    participant, visit_code: str, instrument: str | None = None, *, new_data: bool = True
) -> VisitTiming:
    """The visit's timing; 404 for a visit without such a questionnaire and, for pages that
    add data (``new_data``), for a follow-up visit of a participant who is not randomised
    (their follow-up does not exist yet). Revoking and correcting stay possible."""
    from django.http import Http404

    if not visits.is_known(visit_code, instrument):
        raise Http404
    timing = visit_timing(participant, visit_code)
    if new_data and not timing.exempt and not timing.randomised:
        raise Http404
    return timing


@require_safe
def staff_overview(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = trial_selectors.participant_get_for(request.user, trial_number)
    return render(
        request,
        "questionnaires/staff/overview.html",
        {
            "participant": participant,
            "visits": selectors.participant_overview(participant),
            "scores": selectors.participant_scores(participant),
            # Nobody is contacted after death, withdrawal or the end of follow-up.
            "ended": participant.status in ENDED_STATUSES,
            "can_write": access.can(request.user, "questionnaires:staff_send"),
            "can_correct": access.can(request.user, "questionnaires:staff_correct"),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def staff_send(request: AuthedHttpRequest, trial_number: str, visit_code: str) -> HttpResponse:
    """Send a personal link by e-mail or text message, or print it as a letter (PDF)."""
    participant = trial_selectors.participant_get_for(request.user, trial_number)
    _visit_or_404(participant, visit_code)
    form = SendLinkForm(_posted(request), initial={"language": participant.language})
    if request.method == "POST" and form.is_valid():
        via = form.cleaned_data["via"]
        language = form.cleaned_data["language"]
        try:
            if via == SentVia.LETTER:
                return _letter_response(request, participant, visit_code, language)
            qlinks.link_send(
                participant=participant,
                visit_code=visit_code,
                user=request.user,
                via=via,
                language=language,
            )
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The link is queued for sending."))
            return redirect("questionnaires:staff_overview", participant.trial_number)
    return render(
        request,
        "questionnaires/staff/send.html",
        {"participant": participant, "visit_code": visit_code, "form": form},
    )


def _letter_response(request, participant, visit_code: str, language: str) -> HttpResponse:
    from questionnaires.pdf import link_letter_pdf

    link, token = qlinks.link_issue_letter(
        participant=participant, visit_code=visit_code, user=request.user, language=language
    )
    identity = None
    if access.can_see_identity(request.user, participant):
        from trial.models import Identity

        identity = Identity.objects.filter(participant=participant).first()
    pdf = link_letter_pdf(link=link, url=qlinks.link_url(token), identity=identity)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"questionnaire-{participant.trial_number}-{visit_code}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def staff_revoke(request: AuthedHttpRequest, trial_number: str, visit_code: str) -> HttpResponse:
    """Revoke every open link of a visit at once (e.g. sent to a wrong address), or one link
    (``?link=<id>``)."""
    participant = trial_selectors.participant_get_for(request.user, trial_number)
    _visit_or_404(participant, visit_code, new_data=False)
    open_links = QuestionnaireLink.objects.filter(
        participant=participant, visit_code=visit_code, revoked_at=None
    ).order_by("created_at")
    initial = {"link": request.GET.get("link") or None}
    form = RevokeForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        link_id = form.cleaned_data["link"]
        try:
            if link_id:
                link = open_links.filter(pk=link_id).first()
                if link is None:
                    raise ServiceError(_("This link is already revoked or does not exist."))
                qlinks.link_revoke(link=link, user=request.user, reason=reason)
                messages.success(request, _("The link no longer opens anything."))
            else:
                count = qlinks.visit_links_revoke(
                    participant=participant, visit_code=visit_code, user=request.user, reason=reason
                )
                messages.success(
                    request,
                    _("%(count)d links of this visit no longer open anything.") % {"count": count},
                )
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            return redirect("questionnaires:staff_overview", participant.trial_number)
    single = None
    link_value = form["link"].value()
    if link_value:
        single = (
            open_links.filter(pk=str(link_value)).first() if str(link_value).isdigit() else None
        )
    return render(
        request,
        "questionnaires/staff/revoke.html",
        {
            "participant": participant,
            "visit_code": visit_code,
            "form": form,
            "open_links": list(open_links),
            "single": single,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def staff_tablet(request: AuthedHttpRequest, trial_number: str, visit_code: str) -> HttpResponse:
    """Start a clinic-tablet session: the staff member is logged out of this browser, which from
    now on opens only this participant's questionnaires until staff end the session."""
    participant = trial_selectors.participant_get_for(request.user, trial_number)
    _visit_or_404(participant, visit_code)
    error = ""
    if request.method == "POST":
        try:
            _session, token = services.tablet_session_start(
                participant=participant, visit_code=visit_code, user=request.user
            )
        except ServiceError as e:
            error = str(e)
        else:
            language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
            logout(request)
            request.session[TABLET_SESSION_KEY] = token
            request.session.pop(TABLET_IDLE_SESSION_KEY, None)
            response = redirect("questionnaires:tablet_start")
            if not language:
                response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
            return response
    return render(
        request,
        "questionnaires/staff/tablet.html",
        {"participant": participant, "visit_code": visit_code, "error": error},
    )


def _language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


@require_http_methods(["GET", "HEAD", "POST"])
def staff_enter(
    request: AuthedHttpRequest, trial_number: str, visit_code: str, instrument: str
) -> HttpResponse:
    """The nurse enters the answers the patient gives by phone (or from a paper form)."""
    participant = trial_selectors.participant_get_for(request.user, trial_number)
    timing = _visit_or_404(participant, visit_code, instrument)
    items = get_instrument(instrument).items
    response = selectors.visit_responses(participant, visit_code).get(instrument)
    initial = dict(response.answers) if response else {}
    # Read out in the participant's language, word for word what the patient's page shows.
    wording = instrument_wording(instrument, participant.language)
    form = StaffEntryForm(
        _posted(request),
        items=items,
        wording=wording,
        initial={**initial, "mode": Mode.PHONE},
    )
    version_field_add(form, response)
    locked = response is not None and response.is_submitted
    if not locked:
        out_of_window_field_add(form, timing)
    if request.method == "POST" and form.is_valid() and not locked:
        try:
            services.response_enter(
                participant=participant,
                visit_code=visit_code,
                instrument_code=instrument,
                answers=form.answers(),
                mode=form.cleaned_data["mode"],
                user=request.user,
                language=wording.language,
                loaded_version=form_version(form),
                out_of_window_confirmed=out_of_window_confirmed(form),
                timing=timing,
            )
        except ServiceError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The answers are saved and submitted."))
            return redirect("questionnaires:staff_overview", participant.trial_number)
    return render(
        request,
        "questionnaires/staff/entry.html",
        {
            "participant": participant,
            "visit_code": visit_code,
            "instrument": instrument,
            "instrument_label": visits.INSTRUMENT_LABELS[instrument],
            "wording": wording,
            "wording_language": _language_name(wording.language),
            "form": form,
            "locked": locked,
            "response": response,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def staff_correct(
    request: AuthedHttpRequest, trial_number: str, visit_code: str, instrument: str
) -> HttpResponse:
    """Correct submitted answers, with a reason; the audit trail keeps the old values."""
    participant = trial_selectors.participant_get_for(request.user, trial_number)
    _visit_or_404(participant, visit_code, instrument, new_data=False)
    response = selectors.visit_responses(participant, visit_code).get(instrument)
    submitted = response is not None and response.is_submitted
    # In the language the answers were given in, so the texts are the ones answered.
    wording = instrument_wording(
        instrument, response.language if response else participant.language
    )
    form = CorrectionForm(
        _posted(request),
        items=get_instrument(instrument).items,
        wording=wording,
        initial=dict(response.answers) if response else {},
    )
    version_field_add(form, response)
    # "response is not None" repeats what "submitted" implies, for the type checker.
    if request.method == "POST" and submitted and response is not None and form.is_valid():
        try:
            services.response_correct(
                response=response,
                answers=form.answers(),
                user=request.user,
                reason=form.cleaned_data["reason"],
                loaded_version=form_version(form),
            )
        except ServiceError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The correction is saved with its reason."))
            return redirect("questionnaires:staff_overview", participant.trial_number)
    return render(
        request,
        "questionnaires/staff/correct.html",
        {
            "participant": participant,
            "visit_code": visit_code,
            "instrument": instrument,
            "instrument_label": visits.INSTRUMENT_LABELS[instrument],
            "wording": wording,
            "wording_language": _language_name(wording.language),
            "form": form,
            "submitted": submitted,
            "response": response,
        },
    )


@require_safe
def link_list(request: AuthedHttpRequest) -> HttpResponse:
    """Links sent and still waiting for answers, at the user's sites."""
    links = list(selectors.open_links_for(request.user)[:500])
    return render(request, "questionnaires/staff/link_list.html", {"links": links})
