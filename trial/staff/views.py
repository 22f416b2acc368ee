"""Staff login with a second factor (TOTP), its set-up, logout and password change; and the
coordinator's staff pages: list, invite, change role and sites, deactivate, reset a second
factor, and the invited member's set-password page. Writes go through trial.staff.services;
who may open each page is the matrix's (trial/access.py), and which accounts may be changed is
``staff_may_manage``'s."""

from __future__ import annotations

import base64
import io
import textwrap

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_safe
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from trial import access
from trial.access import staff_may_manage
from trial.errors import ServiceError
from trial.http import AuthedHttpRequest
from trial.models import Site, SiteMembership, User
from trial.staff import services as staff_services
from trial.staff.forms import (
    LoginForm,
    OTPConfirmForm,
    OTPEnrolForm,
    StaffInviteForm,
    StaffReasonForm,
    StaffUpdateForm,
)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password", "otp_token")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and (
        not settings.TRIAL_REQUIRE_2FA or request.user.is_verified()
    ):
        return redirect(_safe_next(request))
    form = LoginForm(request.POST or None, request=request)
    # A valid LoginForm always holds the authenticated user; the check tells the checker so.
    if request.method == "POST" and form.is_valid() and form.user is not None:
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


@sensitive_post_parameters("password", "otp_token")
@never_cache
def otp_setup(request: AuthedHttpRequest) -> HttpResponse:
    """Set up the authenticator app (first login), or confirm a code for this session."""
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed and request.user.is_verified():
        return redirect("home")
    device = confirmed or _pending_device(user)
    form: OTPConfirmForm | OTPEnrolForm
    if device.confirmed:
        form = OTPConfirmForm(request.POST or None)
    else:  # enrolling a new app (first login, or after a reset) needs the password again
        form = OTPEnrolForm(request.POST or None, user=user)
    if request.method == "POST" and form.has_error("password", code="wrong_password"):
        # A wrong password counts as a failed login for the lock-out (django-axes).
        user_login_failed.send(
            sender=__name__, credentials={"username": user.username}, request=request
        )
    elif request.method == "POST" and form.is_valid():
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
def otp_qr(request: AuthedHttpRequest) -> HttpResponse:
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


# --- the coordinator's staff pages ---
PAGE_SIZE = 50


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", 1)))
    except (TypeError, ValueError):
        return 1


def _show_error(form, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        form.add_error(None, exc.messages)
    else:
        form.add_error(None, str(exc))


@require_safe
def staff_list(request: AuthedHttpRequest) -> HttpResponse:
    staff = User.objects.prefetch_related(
        Prefetch("memberships", queryset=SiteMembership.objects.select_related("site"))
    ).order_by("-is_active", "last_name", "first_name", "username")
    page = Paginator(staff, PAGE_SIZE).get_page(_page_number(request))
    rows = [
        {
            "user": user,
            "pending": staff_services.invitation_pending(user),
            "actions": staff_may_manage(request.user, user)
            and (user.is_active or staff_services.invitation_pending(user)),
        }
        for user in page.object_list
    ]
    may_invite = access.can(request.user, "trial:staff_invite")
    return render(
        request, "trial/staff/list.html", {"page": page, "rows": rows, "may_invite": may_invite}
    )


def staff_invite(request: AuthedHttpRequest) -> HttpResponse:
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = staff_services.staff_invite(actor=request.user, **form.cleaned_data)
        except (ServiceError, ValidationError) as exc:
            _show_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s is invited; the e-mail with the link is queued and goes out shortly.")
                % {"name": user.get_full_name()},
            )
            return redirect("trial:staff_list")
    return render(
        request,
        "trial/staff/form.html",
        {"form": form, "title": _("Invite a staff member"), "button": _("Send invitation")},
    )


def _managed(request: AuthedHttpRequest, user_id: int) -> User:
    user = get_object_or_404(User, pk=user_id)
    if not staff_may_manage(request.user, user):
        raise PermissionDenied
    return user


def staff_edit(request: AuthedHttpRequest, user_id: int) -> HttpResponse:
    member = _managed(request, user_id)
    initial = {"role": member.role, "sites": list(member.sites.all())}
    form = StaffUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            staff_services.staff_update(actor=request.user, user=member, **form.cleaned_data)
        except (ServiceError, ValidationError) as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("The changes are saved."))
            return redirect("trial:staff_list")
    return render(
        request,
        "trial/staff/form.html",
        {
            "form": form,
            "member": member,
            "title": _("Change role and sites"),
            "button": _("Save"),
        },
    )


def _reason_action(request, user_id, *, action, title, lead, button, done) -> HttpResponse:
    member = _managed(request, user_id)
    form = StaffReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            action(actor=request.user, user=member, reason=form.cleaned_data["reason"])
        except (ServiceError, ValidationError) as exc:
            _show_error(form, exc)
        else:
            messages.success(request, done % {"name": member.get_full_name() or member.username})
            return redirect("trial:staff_list")
    return render(
        request,
        "trial/staff/form.html",
        {"form": form, "member": member, "title": title, "lead": lead, "button": button},
    )


def staff_deactivate(request: AuthedHttpRequest, user_id: int) -> HttpResponse:
    return _reason_action(
        request,
        user_id,
        action=staff_services.staff_deactivate,
        title=_("Deactivate"),
        lead=_(
            "The staff member can no longer log in. The account stays, because the audit "
            "trail refers to it."
        ),
        button=_("Deactivate"),
        done=_("%(name)s is deactivated."),
    )


def staff_second_factor_reset(request: AuthedHttpRequest, user_id: int) -> HttpResponse:
    return _reason_action(
        request,
        user_id,
        action=staff_services.staff_second_factor_reset,
        title=_("Reset the second factor"),
        lead=_(
            "For a lost or replaced phone. The authenticator app is removed from the account; "
            "at the next login the staff member sets it up again."
        ),
        button=_("Reset the second factor"),
        done=_("The second factor of %(name)s is reset."),
    )


class WelcomeView(auth_views.PasswordResetConfirmView):
    """An invited staff member chooses a password with the link from the e-mail; the link
    works once (Django's password-reset token covers the password hash) and only for an
    invitation still pending."""

    template_name = "account/welcome.html"
    success_url = reverse_lazy("account:login")
    post_reset_login = False
    reset_url_token = "set-password"  # noqa: S105 - a URL segment, not a secret

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        if user is not None and not staff_services.invitation_pending(user):
            return None
        return user

    def form_valid(self, form):
        if self.user is None:
            # Django's dispatch shows the form only for a valid link, so it has found the user.
            raise PermissionDenied
        try:
            staff_services.staff_invitation_accept(
                user=self.user, password=form.cleaned_data["new_password1"]
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        messages.success(
            self.request,
            _("Your password is set. Log in, then set up the authenticator app."),
        )
        return redirect(self.success_url)


welcome = WelcomeView.as_view()


@require_safe
def site_list(request: HttpRequest) -> HttpResponse:
    sites = (
        Site.objects.select_related("surgical_partner")
        .prefetch_related("memberships__user")
        .order_by("kind", "code")
    )
    return render(request, "trial/site_list.html", {"sites": sites})
