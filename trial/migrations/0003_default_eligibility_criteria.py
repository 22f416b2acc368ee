"""The protocol's eligibility criteria (DOMAIN.md step 3) as version 1, and the first
information sheet version, so that every new installation starts from the protocol."""

import datetime as dt

from django.db import migrations

CRITERIA = [
    ("adult_myeloma", "inclusion", "hematologist",
     "Adult (18 years or older) with multiple myeloma",
     "Voksen (18 år eller ældre) med myelomatose"),
    ("new_vertebral_lesion", "inclusion", "hematologist",
     "Newly diagnosed vertebral lesion(s) with relevant pain",
     "Nydiagnosticeret(e) hvirvellæsion(er) med relevante smerter"),
    ("pain_within_3_months", "inclusion", "hematologist",
     "Known myeloma: pain from the new fracture began at most 3 months before inclusion "
     "(answer yes for newly diagnosed myeloma)",
     "Kendt myelomatose: smerterne fra den nye fraktur begyndte højst 3 måneder før inklusion "
     "(svar ja ved nydiagnosticeret myelomatose)"),
    ("questionnaires_language", "inclusion", "hematologist",
     "Able to fill in questionnaires in Danish or English",
     "Kan udfylde spørgeskemaer på dansk eller engelsk"),
    ("levels_1_to_4", "inclusion", "surgeon",
     "1 to 4 vertebral levels to treat (surgical assessment)",
     "1 til 4 hvirvelniveauer at behandle (kirurgisk vurdering)"),
    ("surgical_contraindication", "exclusion", "surgeon",
     "Contraindication to vertebroplasty (surgical assessment)",
     "Kontraindikation for vertebroplastik (kirurgisk vurdering)"),
    ("informed_consent", "inclusion", "consent",
     "Informed consent given",
     "Informeret samtykke givet"),
]


def create(apps, schema_editor):
    Version = apps.get_model("trial", "EligibilityCriteriaVersion")
    Criterion = apps.get_model("trial", "EligibilityCriterion")
    Sheet = apps.get_model("trial", "InformationSheetVersion")
    if not Version.objects.exists():
        version = Version.objects.create(
            version=1, effective_from=dt.date(2024, 1, 1), note="The protocol's criteria."
        )
        for order, (code, kind, by, text_en, text_da) in enumerate(CRITERIA, start=1):
            Criterion.objects.create(
                version=version, code=code, kind=kind, assessed_by=by,
                text_en=text_en, text_da=text_da, order=order,
            )
    if not Sheet.objects.exists():
        Sheet.objects.create(label="1.0", dated=dt.date(2024, 1, 1), active=True)


class Migration(migrations.Migration):
    dependencies = [("trial", "0002_screening")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
