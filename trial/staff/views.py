"""Staff login with a second factor (TOTP), its set-up, logout and password change."""

from __future__ import annotations

import base64
import io
import textwrap

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from trial.forms import LoginForm, OTPConfirmForm


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse_lazy(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password", "otp_token")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and (
        not settings.TRIAL_REQUIRE_2FA or request.user.is_verified()
    ):
        return redirect(_safe_next(request))
    form = LoginForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        user = form.user
        token = form.cleaned_data["otp_token"].strip()
        if settings.TRIAL_REQUIRE_2FA and user_has_device(user, confirmed=True):
            device = match_token(user, token) if token else None
            if device is None:
                # A wrong code counts as a failed login for the lock-out (django-axes).
                user_login_failed.send(
                    sender=__name__, credentials={"username": user.username}, request=request
                )
                form.add_error(
                    "otp_token", _("The code is wrong or has expired. Try the newest code.")
                )
                return render(request, "account/login.html", {"form": form}, status=200)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            otp_login(request, device)
            return redirect(_safe_next(request))
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        if settings.TRIAL_REQUIRE_2FA:
            return redirect("account:otp_setup")
        return redirect(_safe_next(request))
    return render(request, "account/login.html", {"form": form, "next": _safe_next(request)})


def _pending_device(user) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


@never_cache
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app (first login), or confirm a code for this session."""
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed and request.user.is_verified():
        return redirect("home")
    form = OTPConfirmForm(request.POST or None)
    device = confirmed or _pending_device(user)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"].strip()):
            if not device.confirmed:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, _("Second factor confirmed."))
            return redirect("home")
        user_login_failed.send(
            sender=__name__, credentials={"username": user.username}, request=request
        )
        form.add_error("otp_token", _("The code is wrong or has expired. Try the newest code."))
    return render(
        request,
        "account/otp_setup.html",
        {
            "form": form,
            "device": device,
            "setting_up": not device.confirmed,
            # Authenticator apps take a typed key in base32, in groups of four for reading.
            "base32_key": " ".join(
                textwrap.wrap(base64.b32encode(device.bin_key).decode().rstrip("="), 4)
            )
            if not device.confirmed
            else "",
        },
    )


@never_cache
def otp_qr(request: HttpRequest) -> HttpResponse:
    """The provisioning QR code as SVG, served from our origin (no third-party QR service)."""
    import segno

    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("home")  # the secret of a confirmed device is never shown again
    device = _pending_device(request.user)
    qr = segno.make(device.config_url, error="m")
    buffer = io.BytesIO()
    # A standalone SVG document (with its xmlns), which an <img> can render.
    qr.save(buffer, kind="svg", scale=5, xmldecl=False)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


logout_view = auth_views.LogoutView.as_view(template_name="account/logged_out.html")
password_change = auth_views.PasswordChangeView.as_view(
    template_name="account/password_change.html",
    success_url=reverse_lazy("account:password_change_done"),
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="account/password_change_done.html"
)
