"""Views of the follow-up app: thin. The matrix (trial/access.py) admits the request, the
selectors scope the data to the user's sites, forms validate, services write."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from followup import call_items, missing, pdf, selectors, services
from followup.forms import CallLogForm, MissingDataFilterForm, SiteFilterForm
from followup.models import CallOutcome, ContactStatus
from trial import access
from trial.concurrency import ConcurrentChange, form_conflict_show, form_version, version_field_add
from trial.errors import ServiceError
from trial.exports.tables import neutralise
from trial.forms import DateField, apply_errors, out_of_window_confirmed, out_of_window_field_add
from trial.http import AuthedHttpRequest
from trial.models import SiteKind
from trial.protocol.schedule import active_schedule, local_today
from trial.protocol.visits import visit_instruments
from trial.staff.selectors import sites_for

PAGE_SIZE = 50


def _site_filter(request: AuthedHttpRequest):
    sites = sites_for(request.user).filter(kind=SiteKind.HEMATOLOGY).order_by("code")
    form = SiteFilterForm(request.GET or None, sites=sites)
    site = form.cleaned_data["site"] if form.is_valid() else None
    return form, site, sites.count() > 1


@require_safe
def worklist(request: AuthedHttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "today")
    if tab not in selectors.TABS:
        tab = "today"
    today = local_today()
    form, site, multi_site = _site_filter(request)
    qs = selectors.worklist(request.user, tab=tab, today=today, site=site)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {"tab": tab}
    if site:
        query["site"] = site.pk
    return render(
        request,
        "followup/worklist.html",
        {
            "tab": tab,
            "tabs": [
                ("today", _("Today")),
                ("week", _("This week")),
                ("overdue", _("Overdue")),
                ("incomplete", _("Done, items missing")),
            ],
            "today": today,
            "form": form,
            "multi_site": multi_site,
            "site": site,
            "page": page,
            "rows": selectors.rows_for(request.user, page.object_list),
            "query": urlencode(query),
            "can_call": access.can(request.user, "followup:call_log"),
            "hidden": [("tab", tab)],
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def call_log(request: AuthedHttpRequest, contact_id: int) -> HttpResponse:
    # The history stays readable after a death or withdrawal; calling is refused below (the
    # contact is cancelled then, and the service checks the participant's status as well).
    contact = get_object_or_404(
        selectors.contact_history_for(request.user).select_related(
            "participant", "participant__site"
        ),
        pk=contact_id,
    )
    participant = contact.participant
    can_call = access.can(request.user, "followup:call_log")
    if request.method == "POST" and not can_call:
        raise PermissionDenied
    schedule = active_schedule()
    visit = next((v for v in schedule.visits if v.code == contact.visit_code), None)
    collects = visit.collects if visit else ()
    instruments = visit_instruments(contact.visit_code)
    conservative = call_items.conservative_arm(participant)
    # Questionnaires the patient already submitted (e.g. through a link) are not asked again;
    # the rest are taken on this page, each one or its reason for being missing.
    submitted = call_items.submitted_instruments(participant, contact.visit_code)
    form = CallLogForm(
        request.POST or None,
        collects=collects,
        phone_instruments=[c for c in instruments if c not in submitted],
        conservative_arm=conservative,
        today=local_today(),
        groups=call_items.call_groups(collects, conservative_arm=conservative, submitted=submitted),
    )
    version_field_add(form, contact)
    out_of_window_field_add(form, selectors.contact_timing(contact))
    if request.method == "POST" and form.is_valid():
        # The service decides whether the contact is still open, under its lock: a call another
        # nurse logged since this page was loaded is shown next to this nurse's entries.
        try:
            call = services.call_log_record(
                contact=contact,
                user=request.user,
                outcome=form.cleaned_data["outcome"],
                notes=form.cleaned_data["notes"],
                items=form.items(),
                death=form.death(),
                withdrawal=form.withdrawal(),
                loaded_version=form_version(form),
                out_of_window_confirmed=out_of_window_confirmed(form),
            )
        except ConcurrentChange as exc:
            form_conflict_show(form, exc)
        except ValidationError as exc:
            _add_validation_errors(form, exc)
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            return _after_call(request, call, form)
    rows = selectors.rows_for(request.user, [contact])
    return render(
        request,
        "followup/call_log.html",
        {
            "contact": contact,
            "participant": participant,
            "row": rows[0],
            "identity": rows[0].identity
            if access.can_see_identity(request.user, participant)
            else None,
            "form": form,
            "can_call": can_call and contact.status in (ContactStatus.PLANNED, ContactStatus.DUE),
            "calls": contact.calls.select_related("called_by").order_by("-called_at"),
            "missing": call_items.missing_by_contact([contact]).get(contact.pk, []),
            "instruments": instruments,
            "visit": visit,
            "conservative": conservative,
        },
    )


_FIELD_FOR = {
    "date_of_death": "date_of_death",
    "relation": "death_relation",
    "cause": "death_cause",
    "withdrawn_on": "withdrawn_on",
    "reason": "withdrawal_reason",
    "data_use_allowed": "data_use_allowed",
    "initiated_by": "withdrawal_initiated_by",
}


def _field_for(name: str) -> str | None:
    # The missing-item rule (followup.call_items) names the call form's reason fields itself.
    return name if name.startswith("missing_") else _FIELD_FOR.get(name)


def _add_validation_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            field = _field_for(name)
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


def _after_call(request: AuthedHttpRequest, call, form) -> HttpResponse:
    participant = call.participant
    outcome = call.outcome
    if outcome == CallOutcome.REACHED:
        row = call.contact.items
        recorded = [g.label for g in form.groups if g.code not in row.missing_reasons]
        text = _("Call logged; the visit is done.")
        if recorded:
            text += " " + _("Recorded: %(items)s.") % {"items": ", ".join(map(str, recorded))}
        if row.missing_reasons:
            text += " " + _("Missing: %(items)s.") % {
                "items": call_items.missing_summary(row.missing_reasons)
            }
        (messages.warning if row.missing_reasons else messages.success)(request, text)
        if row.new_adverse_events:
            messages.warning(
                request,
                _("New adverse events were reported: record them now (%(number)s).")
                % {"number": participant.trial_number},
            )
            if access.can(request.user, "trial:adverse_event_create"):
                # The call's description is read server-side from the visit items, so no
                # patient text travels in the address.
                return redirect(
                    reverse("trial:adverse_event_create", args=[participant.trial_number])
                    + "?"
                    + urlencode({"call_items": row.pk})
                )
            return redirect("trial:participant_detail", trial_number=participant.trial_number)
    elif outcome == CallOutcome.DIED:
        messages.success(
            request,
            _("The death is recorded; every open contact of %(number)s is cancelled.")
            % {"number": participant.trial_number},
        )
    elif outcome == CallOutcome.WITHDRAWS:
        messages.success(
            request,
            _("The withdrawal is recorded; every open contact of %(number)s is cancelled.")
            % {"number": participant.trial_number},
        )
    else:
        messages.info(
            request,
            _("Call logged (%(outcome)s); attempt %(n)d.")
            % {"outcome": call.get_outcome_display().lower(), "n": call.contact.attempts},
        )
    return redirect(reverse("followup:worklist") + "?tab=week")


def _week_param(request: AuthedHttpRequest):
    value = request.GET.get("week")
    # Without a week asked for: the current week, i.e. the list that was sent this Monday.
    if not value:
        return selectors.week_start_of(local_today())
    # The pages' own links always send a plausible ISO date; anything else (year 1 or 9999,
    # whose Monday or next week is out of Python's range) is refused, not guessed at.
    try:
        day = DateField().clean(value)
    except ValidationError as exc:
        raise BadRequest("week must be a date") from exc
    return selectors.week_start_of(day)


@require_safe
def weekly_list(request: AuthedHttpRequest) -> HttpResponse:
    week_start = _week_param(request)
    form, site, multi_site = _site_filter(request)
    contacts = selectors.weekly_list(request.user, week_start=week_start, site=site)
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {"week": week_start.isoformat()}
    if site:
        query["site"] = site.pk
    return render(
        request,
        "followup/weekly_list.html",
        {
            "week_start": week_start,
            "week_end": week_start + dt.timedelta(days=6),
            "previous_week": (week_start - dt.timedelta(days=7)).isoformat(),
            "next_week": (week_start + dt.timedelta(days=7)).isoformat(),
            "form": form,
            "multi_site": multi_site,
            "page": page,
            "rows": selectors.rows_for(request.user, page.object_list),
            "query": urlencode(query),
            "hidden": [("week", week_start.isoformat())],
            "today": local_today(),
            "can_call": access.can(request.user, "followup:call_log"),
        },
    )


@require_safe
def weekly_list_pdf(request: AuthedHttpRequest) -> HttpResponse:
    week_start = _week_param(request)
    _form, site, _multi = _site_filter(request)
    contacts = selectors.weekly_list(request.user, week_start=week_start, site=site)
    # Downloaded behind the login: names and phone numbers for those who may see them (the
    # list is for phoning); the e-mailed copy never has them.
    document = pdf.weekly_list_pdf(
        user=request.user, week_start=week_start, contacts=contacts, identified=True
    )
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="contacts-{week_start.isoformat()}.pdf"'
    )
    return response


@require_safe
def completeness(request: AuthedHttpRequest) -> HttpResponse:
    sites, rows = selectors.completeness(request.user)
    visit_code = request.GET.get("visit")
    site_code = request.GET.get("site")
    column = request.GET.get("status")
    columns = [
        (ContactStatus.DONE, _("Done")),
        (selectors.INCOMPLETE, _("Done, items missing")),
        (ContactStatus.MISSED, _("Missed")),
        (selectors.PENDING, _("Pending")),
        (ContactStatus.CANCELLED, _("Cancelled")),
        (selectors.OUT_OF_WINDOW, _("Out of window")),
    ]
    detail: dict[str, Any] | None = None
    if visit_code and site_code and column:
        if column not in selectors.COMPLETENESS_COLUMNS:
            raise Http404
        detail = {
            "visit_code": visit_code,
            "site_code": site_code,
            "column": column,
            "label": dict(columns)[column],
        }
        if column == selectors.OUT_OF_WINDOW:
            detail["records"] = selectors.out_of_window_records(
                request.user, visit_code=visit_code, site_code=site_code
            )
        else:
            contacts = list(
                selectors.completeness_contacts(
                    request.user, visit_code=visit_code, site_code=site_code, column=column
                )[:500]
            )
            missing = call_items.missing_by_contact(contacts)
            detail["contacts"] = contacts
            detail["rows"] = [(c, missing.get(c.pk, [])) for c in contacts]
    return render(
        request,
        "followup/completeness.html",
        {
            "sites": sites,
            "rows": rows,
            "columns": columns,
            "detail": detail,
        },
    )


# --- missing-data report -------------------------------------------------------------------


def _missing_data(request: AuthedHttpRequest):
    """The filter form and the report's rows for the user's sites, filtered as asked."""
    sites = sites_for(request.user).filter(kind=SiteKind.HEMATOLOGY).order_by("code")
    form = MissingDataFilterForm(
        request.GET or None,
        sites=sites,
        visits=missing.visit_choices(),
        forms_=missing.form_choices(),
        states=[(code, str(label)) for code, label in missing.STATE_LABELS.items()],
    )
    wanted = form.cleaned_data if form.is_valid() else {}
    participants = access.participants_for(request.user)
    if wanted.get("site"):
        participants = participants.filter(site=wanted["site"])
    rows = list(missing.missing_rows(participants, today=local_today()))
    picked = [
        row
        for row in rows
        if (not wanted.get("visit") or row.visit_code == wanted["visit"])
        and (not wanted.get("form") or row.form == wanted["form"])
        and (not wanted.get("state") or row.state == wanted["state"])
    ]
    return form, rows, picked


@require_safe
def missing_data(request: AuthedHttpRequest) -> HttpResponse:
    form, rows, picked = _missing_data(request)
    sites, summary = missing.summary(rows)
    page = Paginator(picked, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {k: str(v) for k, v in request.GET.items() if k != "page" and v}
    return render(
        request,
        "followup/missing_data.html",
        {
            "form": form,
            "sites": sites,
            "summary": summary,
            "page": page,
            "count": len(picked),
            "query": urlencode(query),
            "csv_url": f"{reverse('followup:missing_data_csv')}?{urlencode(query)}",
        },
    )


MISSING_CSV_HEADER = [
    "trial_number",
    "site",
    "visit",
    "form",
    "state",
    "reason",
    "window_opens",
    "window_closes",
]


@require_safe
def missing_data_csv(request: AuthedHttpRequest) -> StreamingHttpResponse:
    """The report's list as CSV, with the page's filters, written row by row."""
    _form, _rows, picked = _missing_data(request)
    writer = csv.writer(_Echo(), lineterminator="\n")

    def lines():
        yield writer.writerow(MISSING_CSV_HEADER)
        for row in picked:
            yield writer.writerow(
                [
                    neutralise(row.trial_number),
                    row.site_code,
                    row.visit_code,
                    row.form,
                    row.state,
                    row.reason,
                    row.opens.isoformat() if row.opens else "",
                    row.closes.isoformat() if row.closes else "",
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = local_today().isoformat()
    response["Content-Disposition"] = f'attachment; filename="missing-data-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value
