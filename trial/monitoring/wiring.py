"""What monitoring adds to the shared registry: the queries, source-data verification and
signatures, lock and casebook panels, the navigation entries, the data-saved hooks, the write
guard and the lock conditions, the home card, the audit story, the casebook's sections and the
demo steps."""

from django.utils.translation import gettext_lazy as _

from trial import access_matrix
from trial.monitoring import (  # noqa: F401 - tasks
    checks,
    dashboard,
    demo,
    locks,
    panels,
    sdv,
    services,
    signature_display,
    signature_services,
    tasks,
)
from trial.monitoring.casebook import sections
from trial.monitoring.casebook import tasks as casebook_tasks  # noqa: F401 - registers them
from trial.registry import CasebookSectionProvider, DemoStep, HomeCard, NavItem, Panel, Registry


def register(registry: Registry) -> None:
    registry.add_panel(
        Panel("queries", "trial/monitoring/panel_queries.html", panels.queries_context, order=15)
    )
    registry.add_panel(
        Panel(
            "signatures",
            "trial/monitoring/panel_signatures.html",
            signature_display.signatures_context,
            order=16,
        )
    )
    registry.add_nav(NavItem("trial:query_list", _("Queries"), order=65, group="review"))
    registry.add_nav(NavItem("trial:edit_checks", _("Edit checks"), order=66, group="review"))
    registry.add_panel(
        Panel("sdv", "trial/monitoring/panel_sdv.html", panels.sdv_context, order=17)
    )
    registry.add_nav(
        NavItem("trial:sdv_worklist", _("Source-data verification"), order=67, group="review")
    )
    registry.add_nav(NavItem("trial:signature_list", _("Signatures"), order=68, group="review"))
    registry.add_panel(
        Panel("lock", "trial/monitoring/panel_lock.html", panels.lock_context, order=5)
    )
    registry.add_nav(NavItem("trial:trial_lock", _("Database lock"), order=69, group="review"))
    # The data locks: one guard before every audited write, the conditions for locking, and
    # the lock in words for pages.
    registry.add_write_guard(locks.guard)
    registry.add_lock_condition(locks.condition_followup_over)
    registry.add_lock_condition(locks.condition_queries_closed)
    registry.add_lock_condition(signature_display.condition_casebook_signed)
    registry.lock_message = locks.lock_message
    registry.add_panel(
        Panel("casebook", "trial/monitoring/panel_casebook.html", panels.casebook_context, order=85)
    )
    registry.add_nav(
        NavItem("trial:casebook_archive", _("Site archives"), order=70, group="review")
    )
    # The casebook after its forms: the queries' resolution, source-data verification, the
    # signature manifest and the lock.
    for code, section, order in (
        ("queries", sections.queries_section, 10),
        ("sdv", sections.sdv_section, 20),
        ("signatures", sections.signatures_section, 30),
        ("lock", sections.lock_section, 40),
    ):
        registry.add_casebook_section(CasebookSectionProvider(code, section, order=order))
    registry.on_data_saved(checks.after_save)
    registry.on_data_saved(signature_services.signatures_after_save)
    # A change to a verified form clears its verification, in the transaction of the change.
    registry.on_data_saved(services.sdv_clear_on_change)
    # A deletion is a change too: checks run again, signatures and verifications of the
    # deleted record lapse.
    registry.on_data_deleted(checks.before_delete)
    registry.on_data_deleted(signature_services.signatures_before_delete)
    registry.on_data_deleted(services.sdv_clear_on_delete)
    sdv.sdv_forms()  # an unknown form in TRIAL_SDV_FORMS stops the start-up
    # The hematologists who sign are told where a signature needs renewal.
    registry.add_home_card(
        HomeCard(
            "signatures_renew",
            access_matrix.MATRIX["trial:signature_sign"].roles,
            signature_display.renewal_card,
            order=8,
        )
    )
    registry.add_audit_story(signature_display.STORY)
    dashboard.register_panels()
    # After the treatment, follow-up and questionnaire steps: the checks read their data.
    registry.add_demo_step(DemoStep("queries", demo.seed_queries, order=150))
    registry.add_demo_step(DemoStep("sdv", demo.seed_verifications, order=155))
    # After the queries: the demo's signed casebook covers all that came before.
    registry.add_demo_step(DemoStep("signatures", demo.seed_signature, order=160))
