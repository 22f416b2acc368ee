"""How the reports package is wired into the trial app: the trial's dashboard panels are
registered at start-up (trial.reports.register), once and in order, next to other apps'."""

from __future__ import annotations

from trial.registry import dashboard, registry


def _panel_codes() -> list[str]:
    return [p.code for p in dashboard.panels]


def test_trial_panels_are_registered_once_in_order():
    codes = _panel_codes()
    assert {"recruitment", "consort", "saes"} <= set(codes)
    assert len(codes) == len(set(codes))
    assert [p.order for p in dashboard.panels] == sorted(p.order for p in dashboard.panels)
    # Other apps' panels come from their own dashboard.py, discovered at the same time.
    assert {"followup_completeness", "overdue_contacts"} <= set(codes)


def test_registering_again_changes_nothing():
    from trial import reports

    before = (_panel_codes(), list(registry.nav_items), list(registry.demo_steps))
    reports.register(registry)
    assert (_panel_codes(), list(registry.nav_items), list(registry.demo_steps)) == before
    assert "trial:dashboard" in [item.url_name for item in registry.nav_items]
    assert "dashboard" in [step.code for step in registry.demo_steps]
