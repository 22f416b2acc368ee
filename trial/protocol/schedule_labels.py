"""The visit labels of the shipped schedules, marked for translation.

The schedules are JSON files (data, not code), so ``makemessages`` cannot see their labels; this
list makes them translatable. The UI translates a label with ``gettext(visit.label)`` when it
renders. A test checks that every label of the shipped schedules is listed here.
"""

from django.utils.translation import gettext_noop

LABELS = (
    gettext_noop("Week 1 phone call"),
    gettext_noop("Week 2 phone call"),
    gettext_noop("Week 3 phone call"),
    gettext_noop("Week 4 phone call (primary outcome)"),
    gettext_noop("Week 5 phone call"),
    gettext_noop("Week 6 phone call"),
    gettext_noop("Week 7 phone call"),
    gettext_noop("Week 8 phone call"),
    gettext_noop("Week 9 phone call"),
    gettext_noop("Week 10 phone call"),
    gettext_noop("Week 11 phone call"),
    gettext_noop("Week 12 phone call"),
    gettext_noop("3-month follow-up"),
    gettext_noop("12-month follow-up"),
    gettext_noop("Surgical control with standing radiographs, 12 weeks after PVP"),
    # kyphoplasty_example.json
    gettext_noop("Inclusion visit, 8 days before kyphoplasty"),
    gettext_noop("Pre-procedure visit, day before kyphoplasty"),
    gettext_noop("Post-procedure visit (D1 to D5)"),
    gettext_noop("Day 15 visit (primary outcome)"),
    gettext_noop("Day 90 visit"),
    gettext_noop("Day 180 visit"),
    gettext_noop("Day 360 visit"),
)
