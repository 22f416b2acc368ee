"""The database itself refuses an unknown envelope state, an envelope held by a participant
unless issued or opened (and one issued or opened without a participant), and a card arm that
is not an arm. Added after the states were derived for existing rows."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("randomization", "0006_envelope_state_from_existing_rows")]

    operations = [
        migrations.AddConstraint(
            model_name='envelope',
            constraint=models.CheckConstraint(condition=models.Q(('state__in', ['sealed', 'issued', 'opened', 'spoiled', 'missing'])), name='envelope_state_valid'),
        ),
        migrations.AddConstraint(
            model_name='envelope',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('participant__isnull', False), ('state__in', ('issued', 'opened'))), models.Q(models.Q(('state__in', ('issued', 'opened')), _negated=True), ('participant__isnull', True)), _connector='OR'), name='envelope_held_iff_issued_or_opened'),
        ),
        migrations.AddConstraint(
            model_name='envelope',
            constraint=models.CheckConstraint(condition=models.Q(('card_arm', ''), ('card_arm__in', ['pvp', 'conservative']), _connector='OR'), name='envelope_card_arm_valid'),
        ),
    ]
