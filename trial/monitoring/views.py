"""Query pages: the worklist, raising a query on an item, and a query's thread."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from trial import access
from trial.errors import ServiceError
from trial.forms import apply_errors
from trial.http import AuthedHttpRequest
from trial.models import SiteKind
from trial.monitoring import items as catalogue
from trial.monitoring import locks, selectors, services
from trial.monitoring.forms import LockForm, QueryFilterForm, QueryRaiseForm, QueryStepForm
from trial.monitoring.models import QueryState
from trial.participants.selectors import participant_get_for
from trial.protocol.edit_checks import EDIT_CHECKS, EDIT_CHECKS_BY_CODE
from trial.registry import lock_message
from trial.staff.selectors import sites_for
from trial.views import PAGE_SIZE

GET_POST = require_http_methods(["GET", "HEAD", "POST"])

_STATES = {
    "": selectors.OPEN_STATES,
    "open": (QueryState.OPEN,),
    "answered": (QueryState.ANSWERED,),
    "closed": (QueryState.CLOSED,),
    "all": tuple(QueryState.values),
}


@require_safe
def query_list(request: AuthedHttpRequest) -> HttpResponse:
    sites = sites_for(request.user).filter(kind=SiteKind.HEMATOLOGY).order_by("code")
    form = QueryFilterForm(
        request.GET or None, sites=sites, sources=catalogue.SOURCES, checks=EDIT_CHECKS
    )
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.query_list(
        request.user,
        states=_STATES[filters.get("state") or ""],
        site_id=filters.get("site"),
        form=filters.get("form") or "",
        rule=filters.get("rule") or "",
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "query": q,
            "form_label": _form_label(q.target_model),
            "item_label": catalogue.item_label(q.target_model, q.field_name),
        }
        for q in page.object_list
    ]
    kept = {k: v for k, v in request.GET.items() if k != "page" and v}
    return render(
        request,
        "trial/monitoring/query_list.html",
        {"form": form, "page": page, "rows": rows, "query": urlencode(kept)},
    )


def _form_label(model_label: str) -> str:
    source = catalogue.source_for(model_label)
    return str(source.form_label) if source else model_label


@GET_POST
def query_raise(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    participant = participant_get_for(request.user, trial_number)
    form = QueryRaiseForm(
        request.POST or None,
        items=catalogue.participant_items(participant),
        initial={"item": request.GET.get("item", "")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            query = services.query_raise(
                participant=participant,
                item=form.cleaned_data["item"],
                text=form.cleaned_data["text"],
                user=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The query is raised; the staff of %(site)s see it on their query list.")
                % {"site": participant.site.code},
            )
            return redirect("trial:query_detail", query_id=query.pk)
    return render(
        request,
        "trial/monitoring/query_raise.html",
        {"participant": participant, "form": form},
    )


@GET_POST
def query_detail(request: AuthedHttpRequest, query_id: int) -> HttpResponse:
    query = get_object_or_404(
        selectors.queries_for(request.user).select_related(
            "participant", "participant__site", "raised_by", "closed_by"
        ),
        pk=query_id,
    )
    # A locked participant's queries stay as the lock found them: no step is offered, and a
    # step posted anyway is refused by the write guard (403 naming the lock).
    locked = lock_message(query.participant)
    allowed = {
        step: not locked
        and access.can(request.user, f"query_{step}")
        and query.state in services.STEPS[step][0]
        for step in services.STEPS
    }
    form = QueryStepForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        step = form.cleaned_data["step"]
        if not access.can(request.user, f"query_{step}"):
            raise PermissionDenied
        try:
            services.query_step(
                query=query, step=step, user=request.user, text=form.cleaned_data["text"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _STEP_DONE[step]())
            return redirect(reverse("trial:query_detail", kwargs={"query_id": query.pk}))
    current = catalogue.item_get(query.participant, query.item_key)
    check = EDIT_CHECKS_BY_CODE.get(query.rule_code)
    correct_url = ""
    if allowed["answer"]:
        url = catalogue.edit_url(query.participant, query.target_model, query.target_id)
        correct_url = url if url and access.may_open(request.user, url) else ""
    return render(
        request,
        "trial/monitoring/query_detail.html",
        {
            "query": query,
            "participant": query.participant,
            "form_label": _form_label(query.target_model),
            "item_label": catalogue.item_label(query.target_model, query.field_name),
            "current": current,
            "check": check,
            "correct_url": correct_url,
            "thread": query.messages.select_related("author"),
            "allowed": allowed,
            "locked": locked,
            "form": form,
        },
    )


_STEP_DONE = {
    "answer": lambda: _("Your answer is sent; the monitor closes the query or asks again."),
    "close": lambda: _("The query is closed."),
    "reopen": lambda: _("The query is open again."),
}


@require_safe
def edit_checks(request: AuthedHttpRequest) -> HttpResponse:
    """Every edit check with its counts of queries not closed and closed."""
    counts = selectors.counts_by_rule(request.user)
    rows = [
        {
            "check": check,
            "form_label": _form_label(check.model),
            "item_label": catalogue.item_label(check.model, check.item),
            "open": counts.get(check.code, {}).get("open", 0),
            "closed": counts.get(check.code, {}).get("closed", 0),
        }
        for check in EDIT_CHECKS
    ]
    return render(request, "trial/monitoring/edit_checks.html", {"rows": rows})


# --- data locks ------------------------------------------------------------------------------


@GET_POST
def participant_lock(request: AuthedHttpRequest, trial_number: str) -> HttpResponse:
    """A participant's lock: its state and the lock conditions; lock or unlock (data manager)."""
    participant = participant_get_for(request.user, trial_number)
    lock = locks.participant_lock_active(participant)
    form = LockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            if lock is None:
                locks.participant_lock(participant=participant, user=request.user, reason=reason)
                done = _("%(number)s is locked.")
            else:
                locks.participant_unlock(participant=participant, user=request.user, reason=reason)
                done = _("%(number)s is unlocked.")
        except ValidationError as exc:
            apply_errors(form, exc)
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, done % {"number": participant.trial_number})
            return redirect(participant.get_absolute_url())
    return render(
        request,
        "trial/monitoring/participant_lock.html",
        {
            "participant": participant,
            "lock": lock,
            "unmet": [] if lock else locks.lock_conditions_unmet(participant),
            "trial_lock": locks.trial_lock_active(),
            "form": form,
        },
    )


@GET_POST
def trial_lock(request: AuthedHttpRequest) -> HttpResponse:
    """The database lock: the participants not locked yet, each with the conditions it does
    not meet (a page of them at a time), and the lock or unlock of the whole trial."""
    lock = locks.trial_lock_active()
    form = LockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            if lock is None:
                locks.trial_lock(user=request.user, reason=reason)
                done = _("The trial database is locked.")
            else:
                locks.trial_unlock(user=request.user, reason=reason)
                done = _("The trial database is unlocked.")
        except ValidationError as exc:
            apply_errors(form, exc)
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, done)
            return redirect("trial:trial_lock")
    page = Paginator(locks.participants_not_locked(), PAGE_SIZE).get_page(request.GET.get("page"))
    unmet = locks.lock_conditions_unmet_many(page)
    rows = [{"participant": p, "unmet": unmet[p.pk]} for p in page]
    return render(
        request,
        "trial/monitoring/trial_lock.html",
        {
            "lock": lock,
            "page": page,
            "rows": rows,
            "form": form,
            "may_lock": access.can(request.user, "data_lock"),
        },
    )
