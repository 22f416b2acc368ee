"""What staff adds to the shared registry: sites and staff, in the administration menu."""

from django.utils.translation import gettext_lazy as _

from trial.registry import NavItem, Registry


def register(registry: Registry) -> None:
    registry.add_nav(NavItem("trial:site_list", _("Sites"), order=80, group="admin"))
    registry.add_nav(NavItem("trial:staff_list", _("Staff"), order=85, group="admin"))
