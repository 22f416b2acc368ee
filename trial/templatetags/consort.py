"""``{% consort_figure flow %}``: the CONSORT 2010 diagram of a ConsortFlow, laid out by
trial.reports.consort_figure (the layout's one home) and drawn by its partial."""

from __future__ import annotations

from django import template

from trial.reports.consort_figure import consort_figure as layout

register = template.Library()


@register.inclusion_tag("trial/dashboard/_consort_figure.html")
def consort_figure(flow) -> dict:
    return {"figure": layout(flow)}
