"""The trial's protocol rules as data: the visit schedule in force and the schedules shipped,
the vertebral levels (vertebrae.py) and other protocol value sets.

The trial core and every app built on it (follow-up, questionnaires, exports, reports) read the
schedule from here, never a bundled schedule directly, so that another protocol's schedule
(FOLLOWUP_SCHEDULE) changes every one of them at once. This package imports no app.
"""

from trial.protocol.schedule import Schedule, VisitDefinition, active_schedule, bundled_schedule

__all__ = [
    "Schedule",
    "VisitDefinition",
    "active_schedule",
    "bundled_schedule",
    "check_schedule_setting",
]


def check_schedule_setting() -> Schedule:
    """The schedule in force, or ImproperlyConfigured saying what is wrong with the setting.

    Called when the trial app starts, so a typo in FOLLOWUP_SCHEDULE stops the web server and
    the workers at once instead of failing at the first nightly run or export.
    """
    from django.core.exceptions import ImproperlyConfigured

    try:
        return active_schedule()
    except ValueError as error:
        raise ImproperlyConfigured(str(error)) from None
