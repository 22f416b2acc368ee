"""What staff adds to the shared registry: sites and staff, in the administration menu."""

from django.utils.translation import gettext_lazy as _

from trial.registry import NavItem, Registry

# tasks: imported so that a worker, which loads the wiring at start-up, registers them.
from trial.staff import tasks  # noqa: F401


def register(registry: Registry) -> None:
    registry.add_nav(NavItem("trial:site_list", _("Sites"), order=80, group="admin"))
    registry.add_nav(NavItem("trial:staff_list", _("Staff"), order=85, group="admin"))
