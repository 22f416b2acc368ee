"""The routes of ``/api/v1/``. Each view: the matrix (MatrixPermission) and the token's scope
let the request in, ``participants_for`` scopes the lookup, a service writes. Records are the
exporters' own rows (trial.exports), one page of participants at a time, streamed as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from trial import access
from trial.api import selectors
from trial.api.errors import ApiError
from trial.exports import services as export_services
from trial.exports.models import ExportRun, ExportStatus
from trial.exports.registry import Exporter, autodiscover
from trial.exports.tables import form_table, text
from trial.models import Site, User
from trial.participants.selectors import participant_get_for
from trial.protocol.schedule import active_schedule
from trial.registry import registry

STREAM_CHUNK = 64 * 1024

PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="The `next_cursor` of the previous page"),
    OpenApiParameter(
        "page_size",
        int,
        description=(
            "Participants per page (not rows: a page of records holds every record of its "
            "participants, so its length varies)"
        ),
    ),
    OpenApiParameter("site", str, description="Site code, e.g. AAR"),
    OpenApiParameter(
        "modified_since",
        str,
        description=(
            "Only participants with any audited write (any form, correction, call, status) at "
            "or after this date or time (trial's time zone when none is given); all their "
            "records of the form are sent"
        ),
    ),
]


def _user(request: Request) -> User:
    # MatrixPermission admitted the request only with a token of an active staff member.
    return cast(User, request.user)


def _page_size(request: Request) -> int:
    raw = request.query_params.get("page_size")
    if raw is None:
        return settings.API_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= settings.API_MAX_PAGE_SIZE:
        raise ApiError(
            _("page_size must be a whole number from 1 to %(max)s.")
            % {"max": settings.API_MAX_PAGE_SIZE},
            code="invalid_page_size",
        )
    return size


def _variable(var) -> dict[str, Any]:
    return {
        "name": var.name,
        "label": str(var.label),
        "type": var.type,
        "codes": [{"code": c, "label": str(label)} for c, label in var.codes],
        "allowed": var.allowed,
        "unit": var.unit,
    }


def _forms() -> list[Exporter]:
    # Pseudonymised forms only: identifying ones never leave through the API.
    return autodiscover().exporters(identified=False)


@extend_schema(
    summary="Codebook, visit schedule, sites and strata",
    responses={200: OpenApiTypes.OBJECT},
)
@api_view(["GET"])
def metadata(request: Request) -> Response:
    forms = []
    strata: list[dict] = []
    for exporter in _forms():
        table = form_table(exporter, identified=False)
        variables = [_variable(v) for v in table.variables]
        strata = strata or next((v["codes"] for v in variables if v["name"] == "stratum"), [])
        forms.append(
            {
                "form": table.code,
                "label": table.label,
                "description": table.description,
                "repeated": table.repeated,
                "key": table.key_name if table.repeated else None,
                "variables": variables,
            }
        )
    sites = Site.objects.select_related("surgical_partner").order_by("code")
    return Response(
        {
            "forms": forms,
            "schedule": active_schedule().to_dict(),
            "sites": [
                {
                    "code": s.code,
                    "name": s.name,
                    "kind": s.kind,
                    "surgical_partner": s.surgical_partner.code if s.surgical_partner else None,
                }
                for s in sites
            ],
            "strata": strata,
        }
    )


def _next_url(request: Request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = request.query_params.copy()
    params["cursor"] = cursor
    return request.build_absolute_uri(request.path + "?" + params.urlencode())


def _page(request: Request, exporter: Exporter | None = None):
    return selectors.participant_page(
        _user(request),
        site=request.query_params.get("site") or None,
        status=request.query_params.get("status") or None,
        since=selectors.parse_since(request.query_params.get("modified_since")),
        # A form whose exporter names what its records are made of asks only their history.
        sources=exporter.changed_sources() if exporter is not None else None,
        cursor=request.query_params.get("cursor"),
        size=_page_size(request),
    )


@extend_schema(
    summary="Participants of your sites, pseudonymised",
    parameters=[*PAGE_PARAMETERS, OpenApiParameter("status", str)],
    responses={200: OpenApiTypes.OBJECT},
)
@api_view(["GET"])
def participants(request: Request) -> Response:
    page = _page(request)
    return Response(
        {
            "results": [
                {
                    "trial_number": row["trial_number"],
                    "site": row["site__code"],
                    "status": row["status"],
                    "registered_at": row["created_at"],
                    "date_of_death": row["death__date_of_death"],
                    "withdrawn_on": row["withdrawal__withdrawn_on"],
                }
                for row in page.rows
            ],
            "next_cursor": page.next_cursor,
            "next": _next_url(request, page.next_cursor),
        }
    )


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return text(value)


def _record_lines(table, shape: str, visit: str | None) -> Iterator[dict]:
    names = [v.name for v in table.variables]
    # The exporters that know their visit field left the other visits out in SQL already;
    # this catches the rest.
    filter_visit = visit if table.key_name == "visit" and table.repeated else None
    for row in table.rows():
        trial_number, key = row[0], row[1]
        if filter_visit is not None and key != filter_visit:
            continue
        if shape == "long":
            for name, value in zip(names, row[2:], strict=True):
                if value is None or value == "":
                    continue
                yield {
                    "trial_number": trial_number,
                    table.key_name: key,
                    "item": name,
                    "value": text(value),
                }
        else:
            record = {"trial_number": trial_number}
            if table.repeated:
                record[table.key_name] = key
            record.update(zip(names, map(_json_value, row[2:]), strict=True))
            yield record


@extend_schema(
    summary="Records of one form for a page of your participants",
    description=(
        "`shape=long`: one row per participant, visit and item, as the long CSV export; "
        "`shape=record`: one object per form instance. Pages hold `page_size` participants "
        "(so the number of rows varies); follow `next` until it is null. The body is streamed. "
        "Free text that may name people is left out."
    ),
    parameters=[
        OpenApiParameter(
            "form", str, description="A form code of /metadata/ (default: participants)"
        ),
        OpenApiParameter("shape", str, enum=["long", "record"]),
        OpenApiParameter("visit", str, description="A visit code, e.g. W4 (repeated forms)"),
        *PAGE_PARAMETERS,
    ],
    responses={200: OpenApiTypes.OBJECT},
)
@api_view(["GET"])
def records(request: Request) -> StreamingHttpResponse:
    code = request.query_params.get("form", "participants")
    forms = {e.identifier: e for e in _forms()}
    if code not in forms:
        raise ApiError(
            _("Name a form of /api/v1/metadata/ in form=, e.g. form=q_odi."), code="invalid_form"
        )
    shape = request.query_params.get("shape", "long")
    if shape not in ("long", "record"):
        raise ApiError(_("shape must be long or record."), code="invalid_shape")
    page = _page(request, forms[code])
    exporter = forms[code].for_participants([row["id"] for row in page.rows])
    visit = request.query_params.get("visit") or None
    if visit is not None and exporter.repeated and exporter.key_name == "visit":
        exporter.for_visits([visit])  # in SQL where the exporter knows its visit field
    table = form_table(exporter, identified=False)
    head = {
        "form": code,
        "shape": shape,
        "participants": len(page.rows),
        "next_cursor": page.next_cursor,
        "next": _next_url(request, page.next_cursor),
    }

    def body() -> Iterator[str]:
        # Chunks of about STREAM_CHUNK characters: one write per chunk, not one per line, and
        # never more than a chunk held besides the one page's rows the database cursor reads.
        chunk = [json.dumps(head, cls=DjangoJSONEncoder)[:-1] + ', "results": [']
        size = 0
        if page.rows:
            encode = DjangoJSONEncoder().encode
            separator = ""
            for line in _record_lines(table, shape, visit):
                text_line = separator + encode(line)
                chunk.append(text_line)
                size += len(text_line)
                separator = ","
                if size >= STREAM_CHUNK:
                    yield "".join(chunk)
                    chunk, size = [], 0
        chunk.append("]}")
        yield "".join(chunk)

    return StreamingHttpResponse(body(), content_type="application/json")


@extend_schema(
    summary="Start an export (as on the export page)",
    description=(
        "`exporter`: an export of the export page (e.g. `full`); `format`: csv, stata, odm or "
        "xlsx. `identified: true` with a `reason` for data managers only. Poll the answer's "
        "export until `status` is `done`, then fetch its `download`."
    ),
    request=inline_serializer(
        "ExportRequest",
        {
            "exporter": serializers.CharField(default="full"),
            "format": serializers.CharField(default="csv"),
            "identified": serializers.BooleanField(default=False),
            "reason": serializers.CharField(required=False),
        },
    ),
    responses={202: OpenApiTypes.OBJECT},
)
@api_view(["GET", "POST"])
def export_list(request: Request) -> Response:
    if request.method == "GET":
        runs = ExportRun.objects.filter(requested_by=_user(request)).order_by("-requested_at")[:50]
        return Response({"results": [_run_json(request, r) for r in runs]})
    data = request.data if isinstance(request.data, dict) else {}
    run = export_services.export_request(
        user=_user(request),
        exporter=str(data.get("exporter", "full")),
        format=str(data.get("format", "csv")),
        # As on the page: only a data manager, with a reason the export log keeps; the service
        # refuses everyone else (403) and a missing reason (400).
        identified=data.get("identified") is True,
        reason=str(data.get("reason", "")),
    )
    return Response(_run_json(request, run), status=202)


def _run_json(request: Request, run: ExportRun) -> dict:
    done = run.status == ExportStatus.DONE
    return {
        "id": str(run.id),
        "exporter": run.exporter,
        "format": run.format,
        "status": run.status,
        "progress": run.progress,
        "error": run.error,
        "requested_at": run.requested_at,
        "download": request.build_absolute_uri(
            reverse("api:export_download", kwargs={"run_id": run.id})
        )
        if done
        else None,
    }


@extend_schema(
    summary="An export's progress",
    operation_id="export_progress",
    responses={200: OpenApiTypes.OBJECT},
)
@api_view(["GET"])
def export_detail(request: Request, run_id) -> Response:
    return Response(_run_json(request, get_object_or_404(ExportRun, id=run_id)))


@extend_schema(summary="Download an export's ZIP", responses={(200, "application/zip"): bytes})
@api_view(["GET"])
def export_download(request: Request, run_id) -> FileResponse:
    run = get_object_or_404(ExportRun, id=run_id)
    if not access.can_download_export(request.user, run):
        raise ApiError(_("You may not download this export."), code="forbidden", status_code=403)
    path = export_services.export_root() / run.file_name
    if run.status != ExportStatus.DONE or not run.file_name or not path.exists():
        raise Http404
    export_services.export_download_record(run=run)
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=export_services.export_download_name(run)
    )


@extend_schema(
    summary="Randomise a ready participant (names the envelope to open, never the arm)",
    request=None,
    responses={201: OpenApiTypes.OBJECT},
)
@api_view(["POST"])
def randomise(request: Request, trial_number: str) -> Response:
    participant = participant_get_for(_user(request), trial_number)
    action = registry.api_actions.get("randomise")
    if action is None:
        raise Http404
    with transaction.atomic():
        result = action(participant=participant, user=request.user)
    return Response(result, status=201)
