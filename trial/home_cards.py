"""Cards on the central roles' home pages: the dashboard, serious adverse events
waiting for acknowledgement, and the exports. Who sees a card follows the access matrix of the
page it opens, so a card never links to a page its reader may not open."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext, ngettext

from trial import access, access_matrix
from trial.registry import HomeCard, registry


def _readers(view_name: str) -> frozenset[str]:
    rule = access_matrix.MATRIX[view_name]
    return rule.roles | rule.read_roles


def dashboard_card(user) -> dict:
    return {
        "url": reverse("trial:dashboard"),
        "title": gettext("Trial dashboard"),
        "text": gettext(
            "Recruitment, CONSORT flow, arm balance, follow-up completeness, envelope stock"
        ),
    }


def sae_card(user) -> dict:
    from trial.treatment.selectors import serious_adverse_events

    waiting = serious_adverse_events(user).filter(acknowledged_at__isnull=True).count()
    if waiting:
        text = ngettext(
            "%(n)s serious adverse event not yet acknowledged",
            "%(n)s serious adverse events not yet acknowledged",
            waiting,
        ) % {"n": waiting}
    else:
        text = gettext("Every serious adverse event is acknowledged")
    return {
        "url": reverse("trial:sae_list"),
        "title": gettext("Serious adverse events"),
        "text": text,
        "level": "danger" if waiting else "",
    }


def export_card(user) -> dict:
    text = (
        gettext("CSV, Excel, Stata and CDISC ODM with a codebook; the export log")
        if access.can(user, "export_run")
        else gettext("The export log: who exported what, and when")
    )
    return {"url": reverse("trial:export_list"), "title": gettext("Exports"), "text": text}


def register_cards() -> None:
    registry.add_home_card(HomeCard("sae", _readers("trial:sae_list"), sae_card, order=5))
    registry.add_home_card(
        HomeCard("dashboard", _readers("trial:dashboard"), dashboard_card, order=6)
    )
    registry.add_home_card(HomeCard("exports", _readers("trial:export_list"), export_card, order=7))


def home_cards_for(user) -> list[dict]:
    """The registered cards ``user``'s role sees, each with its context (hidden when None).

    Here rather than on the registry, so that the registry imports nothing of the core and
    trial.access may ask it (the data locks) without an import cycle."""
    cards = []
    for card in registry.home_cards:
        if access.has_role(user, card.roles):
            context = card.context(user)
            if context:
                cards.append({"code": card.code, **context})
    return cards
