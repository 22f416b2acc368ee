import pytest

from trial.protocol.schedule import bundled_names, bundled_schedule
from trial.protocol.schedule_labels import LABELS


@pytest.mark.parametrize("name", bundled_names())
def test_every_visit_label_of_a_shipped_schedule_is_marked_for_translation(name):
    missing = [v.label for v in bundled_schedule(name).visits if v.label not in LABELS]
    assert not missing, f"add these to trial/protocol/schedule_labels.py: {missing}"
