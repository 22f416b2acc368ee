"""Give every existing envelope the state that its rows already imply.

An envelope held by a participant whose allocation is confirmed was opened; one held but not
yet confirmed was issued (named, waiting to be opened); every other envelope is sealed, the
default the previous migration gave it. Each allocation's named envelope is the envelope it
holds (before states, an opened envelope other than the named one was never recorded).
Reversing clears what this migration derived, so that the previous one can drop the columns.
"""

from django.db import migrations


def derive(apps, schema_editor):
    Envelope = apps.get_model("randomization", "Envelope")
    Allocation = apps.get_model("randomization", "Allocation")
    Envelope.objects.filter(
        participant__isnull=False, allocation__confirmed_at__isnull=False
    ).update(state="opened")
    Envelope.objects.filter(
        participant__isnull=False, allocation__confirmed_at__isnull=True
    ).update(state="issued")
    for allocation in Allocation.objects.filter(named_envelope__isnull=True).only("envelope_id"):
        Allocation.objects.filter(pk=allocation.pk).update(named_envelope_id=allocation.envelope_id)


def underive(apps, schema_editor):
    Envelope = apps.get_model("randomization", "Envelope")
    Allocation = apps.get_model("randomization", "Allocation")
    Envelope.objects.exclude(state="sealed").update(state="sealed")
    Allocation.objects.update(named_envelope=None)


class Migration(migrations.Migration):
    dependencies = [("randomization", "0005_envelope_state")]

    operations = [migrations.RunPython(derive, underive)]
