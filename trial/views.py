"""Views of the core: home pages, audit trail, health check.

Who may open each view is decided by the matrix in trial/access.py (enforced by middleware);
which participants they see, by trial.access.participants_for.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from trial import access
from trial.access import participants_for
from trial.audit import audit_entries, mask_identity_changes
from trial.audit_display import audit_lines
from trial.forms import AuditFilterForm
from trial.home_cards import home_cards_for
from trial.http import AuthedHttpRequest
from trial.models import Role
from trial.screening.selectors import open_referrals_for
from trial.staff.selectors import sites_for

PAGE_SIZE = 50


@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers, the broker is up (or embedded) and no background task
    has waited longer than OUTBOX_HEALTH_MAX_AGE_SECONDS; 503 otherwise, with the reason.
    Used by docker-compose, the proxy and the operators' monitoring."""
    from django.conf import settings

    from trial.outbox.selectors import broker_state, pending_summary

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        outbox = pending_summary()
    except Exception:  # any database failure means "unhealthy", whatever its type
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    broker = broker_state()
    oldest = outbox["oldest_pending_seconds"]
    healthy = broker != "down" and (
        oldest is None or oldest <= settings.OUTBOX_HEALTH_MAX_AGE_SECONDS
    )
    return JsonResponse(
        {
            "status": "ok" if healthy else "error",
            "database": "ok",
            "broker": broker,
            "tasks_pending": outbox["pending"],
            "oldest_pending_task_seconds": oldest,
        },
        status=200 if healthy else 503,
    )


HOME_TEMPLATES: dict[str, str] = {
    Role.HEMATOLOGIST: "trial/home/hematologist.html",
    Role.SURGEON: "trial/home/surgeon.html",
    Role.NURSE: "trial/home/nurse.html",
    Role.COORDINATOR: "trial/home/coordinator.html",
    Role.DATA_MANAGER: "trial/home/data_manager.html",
    Role.MONITOR: "trial/home/monitor.html",
}


@require_safe
def home(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    participants = participants_for(user)
    context = {
        "sites": sites_for(user).order_by("kind", "code"),
        "works_trial_wide": access.site_scope(user) == "all",
        "participant_count": participants.count(),
        "recent": participants.select_related("site").order_by("-created_at")[:10],
    }
    if access.can(user, "trial:surgical_assessment"):
        referrals = open_referrals_for(user).order_by("referred_on", "id")
        context["open_referrals"] = referrals[:PAGE_SIZE]
        context["open_referral_count"] = referrals.count()
    context["app_cards"] = home_cards_for(user)
    template = HOME_TEMPLATES.get(user.role, "trial/home/other.html")
    return render(request, template, context)


def page_number_from(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), 1000))
    except (TypeError, ValueError):
        return 1


@require_safe
def audit_log(request: AuthedHttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    page_number = page_number_from(request)
    entries: list = []
    filters: dict = {}
    participant_missing = False
    if form.is_valid() or not request.GET:
        data = form.cleaned_data if request.GET else {}
        if data.get("participant"):
            participant = (
                participants_for(request.user)
                .filter(trial_number__iexact=data["participant"].strip())
                .first()
            )
            if participant is None:
                participant_missing = True
            else:
                filters["participant_id"] = participant.id
        if data.get("user"):
            filters["user_id"] = data["user"].id
        filters["date_from"] = data.get("date_from")
        filters["date_to"] = data.get("date_to")
        if not participant_missing:
            entries = audit_entries(
                **filters, limit=PAGE_SIZE + 1, offset=(page_number - 1) * PAGE_SIZE
            )
            if not access.sees_identity_everywhere(request.user):
                entries = mask_identity_changes(entries)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "trial/audit_log.html",
        {
            "form": form,
            "entries": entries[:PAGE_SIZE],
            "lines": audit_lines(entries[:PAGE_SIZE]),
            "page_number": page_number,
            "has_next": len(entries) > PAGE_SIZE,
            "participant_missing": participant_missing,
            "query": query.urlencode(),
        },
    )
