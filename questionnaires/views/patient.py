"""Views of the questionnaires app for the patient: the personal link and the clinic tablet.
The staff's pages are in questionnaires.views.staff.

Patient pages are public in the permission matrix; what they open is decided by the token
(questionnaires.selectors.link_access / tablet_access), and a wrong, expired or revoked token
gets the same friendly page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from questionnaires import flow, links, selectors, services
from questionnaires.forms import (
    AnswersForm,
    TabletExitForm,
    instrument_wording,
)
from questionnaires.instruments import Wording
from questionnaires.models import Mode, TabletSession
from trial import access
from trial.client_ip import client_ip
from trial.errors import ServiceError
from trial.models import Participant
from trial.protocol import visits
from trial.protocol.schedule import local_today
from trial.protocol.windows import visit_timing
from trial.registry import lock_message

logger = logging.getLogger(__name__)

TABLET_SESSION_KEY = "questionnaire_tablet"
# Set when a tablet session ended because nobody used it: the tablet then keeps asking for staff.
TABLET_IDLE_SESSION_KEY = "questionnaire_tablet_idle"
# The personal link the patient opened in this browser (its id; the token is not kept).
LINK_SESSION_KEY = "questionnaire_link"


def _posted(request: HttpRequest):
    """The POST data of a POST (even an empty one: a screen left blank is an answer too)."""
    return request.POST if request.method == "POST" else None


# --- helpers shared by the link and the tablet -------------------------------------------


@dataclass
class Channel:
    """Where the patient's pages live: under a personal link's token, or on the tablet.

    Built only from an access that opens, so the participant is always there.
    """

    access: selectors.Access
    mode: str
    participant: Participant

    @property
    def is_tablet(self) -> bool:
        return self.mode == Mode.TABLET

    def url(self, view: str, *args) -> str:
        if view == "start":
            view = "home" if not self.is_tablet else "start"
        prefix = "tablet" if self.is_tablet else "patient"
        return reverse(f"questionnaires:{prefix}_{view}", args=list(args))


@dataclass
class TabletChannel(Channel):
    """The tablet's channel also holds its session, which staff end when they take it back."""

    tablet: TabletSession


def _patient_page(view):
    """The patient's pages: never cached, and no Referer ever leaves for another site.

    "same-origin", not "no-referrer", on pages with forms: under "no-referrer" browsers send
    ``Origin: null`` with the page's own POSTs (answers, autosave, language switch), which
    Django's CSRF check rightly refuses. These URLs carry no token any more (see
    ``patient_start``), so a same-origin Referer reveals nothing.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return never_cache(wrapper)


def _client_ip(request: HttpRequest) -> str:
    return client_ip(request)  # the same address the lock-out counts (trial.client_ip)


def _throttle_key(request: HttpRequest) -> str:
    return f"questionnaire-bad-token:{_client_ip(request)}"


def _throttled(request: HttpRequest) -> bool:
    return cache.get(_throttle_key(request), 0) >= settings.QUESTIONNAIRE_TOKEN_THROTTLE_LIMIT


def _count_bad_token(request: HttpRequest) -> None:
    key = _throttle_key(request)
    cache.add(key, 0, settings.QUESTIONNAIRE_TOKEN_THROTTLE_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, settings.QUESTIONNAIRE_TOKEN_THROTTLE_WINDOW_SECONDS)


def _activate_language(request: HttpRequest, default: str) -> str:
    """Danish by default (or the link's language); the patient's own choice wins."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    language = chosen if chosen in dict(settings.LANGUAGES) else default
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


def _unavailable(request: HttpRequest, status: int = 404) -> HttpResponse:
    _activate_language(request, settings.LANGUAGE_CODE)
    return render(request, "questionnaires/patient/unavailable.html", status=status)


def _locked(request: HttpRequest) -> HttpResponse:
    """The participant's data is locked (the study is over for them, or the database is
    locked for analysis): nothing more can be filled in, said politely, in the patient's
    language (already active)."""
    return render(request, "questionnaires/patient/closed.html", status=410)


def _is_autosave(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get("autosave") == "1"


def _closed(request: HttpRequest, page: HttpResponse) -> HttpResponse:
    """A step asked for when the link or tablet session no longer opens (revoked, expired,
    ended): the friendly page, or, to the page's autosave, 410 Gone in JSON. The friendly page
    may be a 200, which the script would otherwise take for "saved"."""
    if _is_autosave(request):
        return JsonResponse({"saved": False, "closed": True}, status=410)
    return page


def _link_channel(request: HttpRequest) -> Channel | HttpResponse:
    """The personal link this browser opened (see ``patient_start``), if it still opens."""
    link_id = request.session.get(LINK_SESSION_KEY)
    if link_id is None:
        # Nothing opened in this browser (or its session ended): the same friendly page, as
        # the tablet answers without a session; the patient opens the link again.
        return _unavailable(request, status=200)
    access = selectors.link_access_by_id(link_id)
    # An access that opens always names its participant; the second test is for the type.
    if not access.ok or access.participant is None:
        request.session.pop(LINK_SESSION_KEY, None)
        return _unavailable(request)
    _activate_language(request, access.language)
    if lock_message(access.participant):
        return _locked(request)
    timing = visit_timing(access.participant, access.visit_code)
    if not timing.exempt and timing.opens is None:
        # A follow-up link of a participant who is not randomised (any more): nothing to fill.
        return _unavailable(request)
    if timing.position(local_today()) == "before":
        # A link issued too early (a letter printed on day 0): not yet, rather than answers
        # weeks before the visit.
        return render(request, "questionnaires/patient/not_yet_open.html", {"opens": timing.opens})
    return Channel(access=access, mode=Mode.LINK, participant=access.participant)


def _tablet_channel(request: HttpRequest) -> TabletChannel | HttpResponse:
    access = selectors.tablet_access(request.session.get(TABLET_SESSION_KEY))
    # A tablet access opens exactly when it found a running session.
    if access.tablet is not None and not services.tablet_session_touch(session=access.tablet):
        # Left idle: the session is over, the answers so far are saved; staff take over.
        request.session.pop(TABLET_SESSION_KEY, None)
        request.session[TABLET_IDLE_SESSION_KEY] = True
        access = selectors.DENIED
    if not access.ok or access.participant is None or access.tablet is None:
        _activate_language(request, settings.LANGUAGE_CODE)
        if request.session.get(TABLET_IDLE_SESSION_KEY):
            return render(request, "questionnaires/patient/tablet_idle.html")
        return render(request, "questionnaires/patient/no_tablet_session.html")
    _activate_language(request, settings.LANGUAGE_CODE)
    if lock_message(access.participant):
        return _locked(request)
    return TabletChannel(
        access=access, mode=Mode.TABLET, participant=access.participant, tablet=access.tablet
    )


def _wording(instrument_code: str) -> Wording:
    """The wording in the patient's language of the moment (the active one)."""
    return instrument_wording(instrument_code)


def _answers_by_instrument(channel: Channel) -> dict[str, dict]:
    responses = selectors.visit_responses(channel.participant, channel.access.visit_code)
    return {code: dict(r.answers) for code, r in responses.items()}


def _taken(channel: Channel) -> set[str]:
    """The visit's questionnaires already submitted (taken by phone on the nurse's call): the
    patient's path leaves them out, they are not asked twice."""
    return {
        code
        for code, response in selectors.visit_responses(
            channel.participant, channel.access.visit_code
        ).items()
        if response.is_submitted
    }


def _questions(screen: flow.Screen, form, answers: dict) -> list[dict]:
    wording = _wording(screen.instrument)
    questions = []
    for item in screen.items:
        item_wording = wording.items[item.code]
        if form.is_bound:
            raw = form.data.get(item.code, "")
            value = raw
        else:
            value = answers.get(item.code)
            raw = "" if value is None else str(value)
        questions.append(
            {
                "item": item,
                "text": item_wording.text,
                "choices": [(c, item_wording.choices[c]) for c in item.choices],
                "anchors": item_wording.anchors,
                "value": raw,
                "errors": form.errors.get(item.code, []),
            }
        )
    return questions


def _patient_start(request: HttpRequest, channel: Channel) -> HttpResponse:
    access = channel.access
    if access.link is not None:
        links.link_mark_opened(link=access.link)
    if selectors.visit_is_submitted(channel.participant, access.visit_code):
        return render(
            request, "questionnaires/patient/submitted.html", {"channel": channel, "already": True}
        )
    answers = _answers_by_instrument(channel)
    taken = _taken(channel)
    screens = flow.visit_screens(access.visit_code, taken)
    resume = flow.resume_screen(access.visit_code, answers, taken)
    started = any(given for code, given in answers.items() if code not in taken)
    return render(
        request,
        "questionnaires/patient/start.html",
        {
            "channel": channel,
            "started": started,
            "screen_count": len(screens),
            "instruments": [
                {"label": _wording(code).title, "code": code}
                for code in visits.visit_instruments(access.visit_code)
                if code not in taken
            ],
            "next_url": channel.url("step", resume.instrument, resume.step)
            if started
            else channel.url("step", screens[0].instrument, 1),
        },
    )


def _patient_step(
    request: HttpRequest, channel: Channel, instrument: str, step: int
) -> HttpResponse:
    access = channel.access
    if flow.find_screen(access.visit_code, instrument, step) is None:
        return redirect(channel.url("start"))
    autosave = _is_autosave(request)
    if selectors.visit_is_submitted(channel.participant, access.visit_code):
        if autosave:
            return JsonResponse({"saved": False, "submitted": True}, status=409)
        return redirect(channel.url("done"))
    taken = _taken(channel)
    screen = flow.find_screen(access.visit_code, instrument, step, taken)
    if screen is None:  # taken by phone meanwhile: not asked again
        if autosave:
            return JsonResponse({"saved": False, "submitted": True}, status=409)
        return redirect(channel.url("start"))
    screens = flow.visit_screens(access.visit_code, taken)
    index = screen.number - 1
    form = AnswersForm(_posted(request), items=screen.items)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.response_save_answers(
                    participant=channel.participant,
                    visit_code=access.visit_code,
                    instrument_code=instrument,
                    answers=form.answers(),
                    mode=channel.mode,
                    language=translation.get_language(),
                )
            except ServiceError as error:
                if autosave:
                    return JsonResponse({"saved": False, "error": str(error)}, status=409)
                messages.error(request, str(error))
                return redirect(channel.url("start"))
            if autosave:
                return JsonResponse({"saved": True})
            if "previous" in request.POST:
                if index == 0:
                    return redirect(channel.url("start"))
                target = screens[index - 1]
                return redirect(channel.url("step", target.instrument, target.step))
            if index + 1 < len(screens):
                target = screens[index + 1]
                return redirect(channel.url("step", target.instrument, target.step))
            return redirect(channel.url("submit"))
        if autosave:
            return JsonResponse({"saved": False, "errors": form.errors}, status=400)
    answers = _answers_by_instrument(channel).get(instrument, {})
    wording = _wording(instrument)
    previous = screens[index - 1] if index > 0 else None
    return render(
        request,
        "questionnaires/patient/step.html",
        {
            "channel": channel,
            "screen": screen,
            "screen_count": len(screens),
            "form": form,
            "wording": wording,
            "show_intro": step == 1,
            # Nothing comes before the first screen: its Previous is shown disabled.
            "is_first": index == 0,
            "questions": _questions(screen, form, answers),
            "previous_url": channel.url("step", previous.instrument, previous.step)
            if previous
            else channel.url("start"),
            "action": channel.url("step", instrument, step),
        },
    )


def _patient_submit(request: HttpRequest, channel: Channel) -> HttpResponse:
    access = channel.access
    if selectors.visit_is_submitted(channel.participant, access.visit_code):
        return redirect(channel.url("done"))
    if request.method == "POST":
        services.visit_submit(
            participant=channel.participant,
            visit_code=access.visit_code,
            mode=channel.mode,
            language=translation.get_language(),
        )
        return redirect(channel.url("done"))
    answers = _answers_by_instrument(channel)
    screens = flow.visit_screens(access.visit_code, _taken(channel))
    missing = []
    for screen in screens:
        given = answers.get(screen.instrument, {})
        for item in screen.items:
            if given.get(item.code) is None:
                missing.append(
                    {
                        "text": _wording(screen.instrument).items[item.code].text,
                        "url": channel.url("step", screen.instrument, screen.step),
                    }
                )
    last = screens[-1]
    return render(
        request,
        "questionnaires/patient/submit.html",
        {
            "channel": channel,
            "missing": missing,
            "screen_count": len(screens),
            "previous_url": channel.url("step", last.instrument, last.step),
        },
    )


def _patient_done(request: HttpRequest, channel: Channel) -> HttpResponse:
    access = channel.access
    if not selectors.visit_is_submitted(channel.participant, access.visit_code):
        return redirect(channel.url("start"))
    return render(request, "questionnaires/patient/submitted.html", {"channel": channel})


# --- the personal link ---------------------------------------------------------------------


@_patient_page
@require_safe
def patient_start(request: HttpRequest, token: str) -> HttpResponse:
    """The link's address: remember the link in this browser's session and go on without the
    token in the URL (it would stay in the history and could leak through Referer)."""
    if _throttled(request):
        return _unavailable(request, status=429)
    access = selectors.link_access(token)
    if not access.known:
        _count_bad_token(request)
    if not access.ok or access.link is None:  # an open access always has its link
        return _unavailable(request)
    request.session[LINK_SESSION_KEY] = access.link.pk
    response = redirect("questionnaires:patient_home")
    response["Referrer-Policy"] = "no-referrer"  # the one response whose URL has the token
    return response


@_patient_page
@require_safe
def patient_home(request: HttpRequest) -> HttpResponse:
    channel = _link_channel(request)
    return channel if isinstance(channel, HttpResponse) else _patient_start(request, channel)


@_patient_page
@require_http_methods(["GET", "HEAD", "POST"])
def patient_step(request: HttpRequest, instrument: str, step: int) -> HttpResponse:
    channel = _link_channel(request)
    if isinstance(channel, HttpResponse):
        return _closed(request, channel)
    return _patient_step(request, channel, instrument, step)


@_patient_page
@require_http_methods(["GET", "HEAD", "POST"])
def patient_submit(request: HttpRequest) -> HttpResponse:
    channel = _link_channel(request)
    return channel if isinstance(channel, HttpResponse) else _patient_submit(request, channel)


@_patient_page
@require_safe
def patient_done(request: HttpRequest) -> HttpResponse:
    channel = _link_channel(request)
    return channel if isinstance(channel, HttpResponse) else _patient_done(request, channel)


# --- the clinic tablet ---------------------------------------------------------------------


@_patient_page
@require_safe
def tablet_start(request: HttpRequest) -> HttpResponse:
    channel = _tablet_channel(request)
    return channel if isinstance(channel, HttpResponse) else _patient_start(request, channel)


@_patient_page
@require_http_methods(["GET", "HEAD", "POST"])
def tablet_step(request: HttpRequest, instrument: str, step: int) -> HttpResponse:
    channel = _tablet_channel(request)
    if isinstance(channel, HttpResponse):
        return _closed(request, channel)
    return _patient_step(request, channel, instrument, step)


@_patient_page
@require_http_methods(["GET", "HEAD", "POST"])
def tablet_submit(request: HttpRequest) -> HttpResponse:
    channel = _tablet_channel(request)
    return channel if isinstance(channel, HttpResponse) else _patient_submit(request, channel)


@_patient_page
@require_safe
def tablet_done(request: HttpRequest) -> HttpResponse:
    channel = _tablet_channel(request)
    return channel if isinstance(channel, HttpResponse) else _patient_done(request, channel)


def _tablet_exit_refusal(user, *, device_checked: bool) -> str:
    """Why the kiosk stays locked, in words the member of staff can act on: a mistyped
    password is not the same as a colleague from another department."""
    if user is None:
        if device_checked:
            return _("Wrong username, password or code. Please try again.")
        return _("Wrong username or password. Please try again.")
    return _("Only staff of this participant's department can end the session.")


@_patient_page
@require_http_methods(["GET", "HEAD", "POST"])
def tablet_exit(request: HttpRequest) -> HttpResponse:
    """Leaving the kiosk needs a member of staff who may work with this participant."""
    channel = _tablet_channel(request)
    if isinstance(channel, HttpResponse):
        return channel
    participant = channel.participant
    form = TabletExitForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        device = None
        if user is not None and settings.TRIAL_REQUIRE_2FA:
            from django_otp import match_token

            device = match_token(user, form.cleaned_data["otp_token"])
            if device is None:
                user = None
        if user is not None and access.can(user, "questionnaires:staff_tablet", participant):
            services.tablet_session_end(session=channel.tablet, user=user)
            request.session.pop(TABLET_SESSION_KEY, None)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if device is not None:
                from django_otp import login as otp_login

                otp_login(request, device)
            messages.success(request, _("The tablet session has ended."))
            return redirect("questionnaires:staff_overview", participant.trial_number)
        form.add_error(None, _tablet_exit_refusal(user, device_checked=settings.TRIAL_REQUIRE_2FA))
    return render(
        request,
        "questionnaires/patient/tablet_exit.html",
        {"channel": channel, "form": form, "require_otp": settings.TRIAL_REQUIRE_2FA},
    )
