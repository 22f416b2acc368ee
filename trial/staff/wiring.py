"""What staff adds to the shared registry: the list of sites, in the administration menu."""

from django.utils.translation import gettext_lazy as _

from trial.registry import NavItem, Registry


def register(registry: Registry) -> None:
    registry.add_nav(NavItem("trial:site_list", _("Sites"), order=80, group="admin"))
