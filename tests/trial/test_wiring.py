"""The trial app's capability packages wire themselves into the shared registry."""

from importlib import import_module

from trial.apps import WIRING
from trial.registry import registry


def test_every_capability_package_has_a_register_function():
    for module in WIRING:
        assert callable(import_module(module).register), module


def test_timeline_providers_keep_the_order_of_the_wiring_list():
    names = [fn.__module__ for fn in registry.timeline_providers[:3]]
    assert names == ["trial.screening.panels", "trial.participants.views", "trial.treatment.panels"]


def test_panels_come_from_their_packages_in_page_order():
    codes = [(p.code, p.context.__module__) for p in registry.panels if p.code != "randomisation"]
    assert codes[:6] == [
        ("readiness", "trial.screening.panels"),
        ("lock", "trial.monitoring.panels"),
        ("queries", "trial.monitoring.panels"),
        ("signatures", "trial.monitoring.signature_display"),
        ("sdv", "trial.monitoring.panels"),
        ("screening", "trial.screening.panels"),
    ]
    assert codes[-1] == ("end_of_trial", "trial.participants.views")
