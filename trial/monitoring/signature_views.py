"""Signature pages: signing a participant's casebook (or one visit of it), and the list of
signatures. Who may open them is the matrix's (trial/access_matrix.py); which participant,
``participant_get_for``'s (another site's answers 404)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_safe
from django_otp import match_token, user_has_device

from trial.forms import apply_errors
from trial.http import AuthedHttpRequest
from trial.monitoring import signature_services, signatures
from trial.monitoring.forms import SignatureForm
from trial.monitoring.signature_models import SignatureState
from trial.participants.selectors import participant_get_for
from trial.protocol.visits import visit_codes
from trial.views import PAGE_SIZE


def _proved(request: AuthedHttpRequest, form: SignatureForm) -> bool:
    """Whether the signer proved who they are: the password, then the code. A failure counts
    towards the lock-out like a failed login (django-axes: ``authenticate`` reports a wrong
    password itself; a wrong code is reported here, as the login page does)."""
    user = request.user
    proved = authenticate(
        request, username=user.get_username(), password=form.cleaned_data["password"]
    )
    if proved is None or proved.pk != user.pk:
        form.add_error(
            "password",
            ValidationError(
                _("The password is wrong. Repeated failures lock your account."),
                code="wrong_password",
            ),
        )
        return False
    if form.needs_code and match_token(user, form.cleaned_data["otp_token"].strip()) is None:
        user_login_failed.send(
            sender=__name__, credentials={"username": user.get_username()}, request=request
        )
        form.add_error("otp_token", _("The code is wrong or has expired. Try the newest code."))
        return False
    return True


@sensitive_post_parameters("password", "otp_token")
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signature_sign(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = participant_get_for(request.user, trial_number)
    visit_code = request.GET.get("visit", "")
    if visit_code and visit_code not in visit_codes():
        raise Http404(_("No such visit."))
    form = SignatureForm(
        request.POST or None, needs_code=user_has_device(request.user, confirmed=True)
    )
    if request.method == "POST" and form.is_valid():
        if _proved(request, form):
            try:
                signature_services.signature_sign(
                    participant=participant, user=request.user, visit_code=visit_code
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Signed. Your signature is on the casebook."))
                url = reverse("trial:participant_detail", args=[participant.trial_number])
                return redirect(url + "#signatures")
        elif getattr(request, "axes_locked_out", False):
            # Locked out now: the session ends too, and the lock-out page says why
            # (django-axes' middleware answers for this response).
            logout(request)
            return HttpResponse(status=429)
    standing = signatures.standing_signature(participant, visit_code)
    manifest = signatures.manifest_build(participant, visit_code)
    return render(
        request,
        "trial/monitoring/signature_sign.html",
        {
            "participant": participant,
            "visit_code": visit_code,
            "visit_codes": visit_codes(),
            "meaning": signature_services.signature_meaning(visit_code)[1],
            "summary": signatures.manifest_summary(manifest),
            "records": len(manifest),
            "open_queries": signatures.open_query_count(participant),
            "standing": standing,
            "form": form,
        },
    )


@require_safe
def signature_list(request: AuthedHttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in SignatureState.values:
        state = ""
    qs = signatures.signature_list(request.user, state=state)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"signature": s, "form_label": signatures.form_label(s.renewal_model)}
        for s in page.object_list
    ]
    return render(
        request,
        "trial/monitoring/signature_list.html",
        {"page": page, "rows": rows, "state": state, "states": SignatureState.choices},
    )
