"""Report pages: the coordinator's dashboard and the outcome report, on screen and
as PDF. The panels come from trial.registry.dashboard; the figures from trial.reports.outcomes.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_safe

from trial.registry import dashboard
from trial.reports import outcomes


@require_safe
def dashboard_view(request: HttpRequest) -> HttpResponse:
    panels = []
    for panel in dashboard.panels:
        context = panel.context(request)
        if context:
            panels.append({"panel": panel, "ctx": context})
    return render(
        request,
        "trial/dashboard/dashboard.html",
        {"panels": panels, "today": timezone.localdate()},
    )


@require_safe
def outcome_report(request: HttpRequest) -> HttpResponse:
    return render(request, "trial/dashboard/outcome_report.html", outcomes.outcome_report())


@require_safe
def outcome_report_pdf(request: HttpRequest) -> HttpResponse:
    # Rendered inside the request: the report is aggregate (a few tables, whatever the number
    # of participants) and its data come in a constant number of queries, so it stays quick.
    # Should it grow slow, render it like the exports, in the generic Celery task.
    from weasyprint import HTML

    html = render_to_string(
        "trial/dashboard/outcome_report_pdf.html", outcomes.outcome_report(), request=request
    )
    pdf = HTML(string=html).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="vertebra-outcomes-{stamp}.pdf"'
    return response
