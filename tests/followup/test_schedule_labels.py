from followup.schedule import VERTEBRA_SCHEDULE
from followup.schedule_labels import LABELS


def test_every_visit_label_of_the_trial_schedule_is_marked_for_translation():
    missing = [v.label for v in VERTEBRA_SCHEDULE.visits if v.label not in LABELS]
    assert not missing, f"add these to followup/schedule_labels.py: {missing}"
