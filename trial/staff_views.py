"""The coordinator's staff pages: list, invite, change role and sites, deactivate, reset a
second factor; and the invited member's set-password page. Writes go through
trial.staff_services; who may open each page is the matrix's (trial/access.py), and which
accounts may be changed is ``staff_may_manage``'s."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from trial import access, staff_services
from trial.access import staff_may_manage
from trial.models import SiteMembership, User
from trial.services import ServiceError
from trial.staff_forms import StaffInviteForm, StaffReasonForm, StaffUpdateForm

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
def staff_list(request: HttpRequest) -> HttpResponse:
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


def staff_invite(request: HttpRequest) -> HttpResponse:
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = staff_services.staff_invite(actor=request.user, **form.cleaned_data)
        except (ServiceError, ValidationError) as exc:
            _show_error(form, exc)
        else:
            messages.success(
                request, _("%(name)s is invited by e-mail.") % {"name": user.get_full_name()}
            )
            return redirect("trial:staff_list")
    return render(
        request,
        "trial/staff/form.html",
        {"form": form, "title": _("Invite a staff member"), "button": _("Send invitation")},
    )


def _managed(request: HttpRequest, user_id: int) -> User:
    user = get_object_or_404(User, pk=user_id)
    if not staff_may_manage(request.user, user):
        raise PermissionDenied
    return user


def staff_edit(request: HttpRequest, user_id: int) -> HttpResponse:
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


def staff_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
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


def staff_second_factor_reset(request: HttpRequest, user_id: int) -> HttpResponse:
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
