"""Another protocol's schedule reaches every reader: the whole demo under the bundled kyphoplasty
schedule (visits D-8 to D360 around the procedure) shows those visits in follow-up,
questionnaires, every export format and the outcome report, and no VERTEBRA-only visit code
(W1-W12, M3, M12) anywhere, with no code change, only FOLLOWUP_SCHEDULE."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile

import pandas as pd
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db.models import Exists, OuterRef
from django.urls import reverse
from openpyxl import load_workbook

from followup.models import Contact, ContactStatus
from questionnaires.models import QuestionnaireResponse, ResponseStatus
from tests.conftest import verified_client
from trial.exports import services as export_services
from trial.models import ExportStatus, SiteMembership, User
from trial.protocol import active_schedule, bundled_schedule
from trial.protocol.schedule import visit_variable_suffix
from trial.protocol.visits import visit_codes, visit_instruments

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

KYPHOPLASTY = "kyphoplasty_example"
KYPHOPLASTY_CODES = [v.code for v in bundled_schedule(KYPHOPLASTY).visits]
# A VERTEBRA visit code as text ("W4", "ODI score, M12": upper case, no letter or digit on
# either side) or as the end of an export variable name ("vas_back_w4", lower case in Stata).
# The lower-case "m12" alone is the 12-month X-ray's kind in the radiograph form, a value of
# that form's own coding, not a visit.
VERTEBRA_ONLY = re.compile(
    r"(?<![A-Za-z0-9])(W(?:1[0-2]|[1-9])|M3|M12)(?![A-Za-z0-9])"
    r"|_(w(?:1[0-2]|[1-9])|m3|m12)(?![A-Za-z0-9])"
)
FORMATS = ("csv", "xlsx", "stata", "odm")


def vertebra_codes_in(text: str) -> list[str]:
    found = []
    for match in VERTEBRA_ONLY.finditer(text):
        start = max(0, match.start() - 40)
        found.append(text[start : match.end() + 40])
    return found


def stata_text(raw: bytes) -> str:
    with pd.io.stata.StataReader(io.BytesIO(raw)) as reader:
        frame = reader.read(convert_categoricals=False)
        labels = reader.variable_labels()
        data_label = reader.data_label
    return "\n".join([data_label, *frame.columns, *labels.values(), frame.to_csv(index=False)])


def xlsx_text(raw: bytes) -> str:
    book = load_workbook(io.BytesIO(raw), read_only=True)
    lines = []
    for sheet in book.worksheets:
        lines.append(sheet.title)
        for row in sheet.iter_rows(values_only=True):
            lines.append("\t".join("" if v is None else str(v) for v in row))
    return "\n".join(lines)


def pdf_text(raw: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=raw, capture_output=True, check=True
    )
    return result.stdout.decode()


def zip_texts(path) -> dict[str, str]:
    """Every member of an export as text."""
    texts = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            raw = zf.read(name)
            if name.endswith(".dta"):
                texts[name] = stata_text(raw)
            elif name.endswith(".xlsx"):
                texts[name] = xlsx_text(raw)
            elif name.endswith(".pdf"):
                texts[name] = pdf_text(raw)
            elif name.endswith((".csv", ".xml", ".txt", ".do", ".json")):
                texts[name] = raw.decode("utf-8-sig")
    return texts


@pytest.fixture
def kyphoplasty(settings):
    # The schedule is cached per setting value, so switching the setting switches every reader.
    settings.FOLLOWUP_SCHEDULE = KYPHOPLASTY
    assert active_schedule().code == KYPHOPLASTY
    return settings


def test_the_demo_runs_on_the_kyphoplasty_schedule_everywhere(kyphoplasty):
    call_command("seed_demo", stdout=io.StringIO())
    call_command("followup_nightly", "--catch-up", stdout=io.StringIO())

    # Questionnaires: baseline, then the kyphoplasty visits that collect a questionnaire.
    # (every kyphoplasty visit collects the back-pain VAS).
    assert visit_codes() == ["BL", *KYPHOPLASTY_CODES]

    # Follow-up: the nurse's worklist, the coordinator's completeness page. The kyphoplasty
    # visits hang on the procedure date, and the demo's treated patients at the nurse's own
    # site have died or withdrawn; so the nurse also works at the site of an open contact.
    answered = QuestionnaireResponse.objects.filter(
        participant=OuterRef("participant"),
        visit_code=OuterRef("visit_code"),
        status=ResponseStatus.SUBMITTED,
    )
    contact = (
        Contact.objects.filter(status=ContactStatus.DUE)
        .exclude(Exists(answered))
        .select_related("participant__site")
        .order_by("-window_opens", "participant__trial_number")
        .first()
    )
    assert contact is not None and contact.visit_code in KYPHOPLASTY_CODES
    participant = contact.participant
    nurse = User.objects.get(username="nurse")
    SiteMembership.objects.get_or_create(user=nurse, site=participant.site)
    nurse_client = verified_client(nurse)
    coordinator = User.objects.get(username="coordinator")
    coordinator_client = verified_client(coordinator)
    pages = {}
    for tab in ("today", "week", "overdue"):
        page = nurse_client.get(reverse("followup:worklist"), {"tab": tab})
        assert page.status_code == 200, tab
        pages[f"worklist {tab}"] = page.content.decode()
    worklists = " ".join(pages.values())
    assert participant.trial_number in worklists
    assert f">{contact.visit_code}<" in worklists
    page = nurse_client.get(reverse("followup:call_log", args=[contact.pk]))
    assert page.status_code == 200
    pages["followup:call_log"] = page.content.decode()
    page = coordinator_client.get(reverse("followup:completeness"))
    assert page.status_code == 200
    pages["followup:completeness"] = page.content.decode()
    for code in KYPHOPLASTY_CODES:
        assert f">{code} <span" in pages["followup:completeness"], code

    # The nurse enters the visit's questionnaire by phone through the page.
    instrument = visit_instruments(contact.visit_code)[0]
    assert instrument == "vas"
    url = reverse(
        "questionnaires:staff_enter",
        args=[participant.trial_number, contact.visit_code, instrument],
    )
    response = nurse_client.post(url, {"mode": "phone", "vas_back": "23", "vas_leg": "17"})
    assert response.status_code == 302, response.content.decode()[:2000]
    entered = QuestionnaireResponse.objects.get(
        participant=participant, visit_code=contact.visit_code, instrument_code="vas"
    )
    assert entered.status == ResponseStatus.SUBMITTED
    overview = nurse_client.get(
        reverse("questionnaires:staff_overview", args=[participant.trial_number])
    )
    assert overview.status_code == 200
    pages["questionnaires:staff_overview"] = overview.content.decode()
    assert contact.visit_code in pages["questionnaires:staff_overview"]

    # Every export format, each with its codebook.
    outputs: dict[str, str] = {}
    for fmt in FORMATS:
        run = export_services.export_request(user=coordinator, exporter="full", format=fmt)
        export_services.export_run_render(str(run.id))
        run.refresh_from_db()
        assert run.status == ExportStatus.DONE, (fmt, run.error)
        texts = zip_texts(django_settings.EXPORT_ROOT / run.file_name)
        outputs.update({f"{fmt}:{name}": text for name, text in texts.items()})
    wide = outputs["csv:csv/analysis_wide.csv"]
    assert {"vas_back_dm8", "vas_back_d15"} <= set(wide.splitlines()[0].split(","))
    entered_column = f"vas_back_{visit_variable_suffix(contact.visit_code)}"
    header = wide.splitlines()[0].split(",")
    assert any(
        line.split(",")[header.index(entered_column)] == "23" for line in wide.splitlines()[1:]
    )
    assert "codebook" in " ".join(outputs)
    codebook = outputs["csv:codebook.csv"]
    for code in ("D-8", "D15", "D180"):
        assert code in codebook, code
        assert code in outputs["csv:codebook.pdf"], code
    odm = outputs["odm:vertebra_odm.xml"]
    for code in KYPHOPLASTY_CODES:
        assert f'OID="SE.{code}"' in odm, code
    assert any("d15" in text.lower() for name, text in outputs.items() if name.endswith(".dta"))
    assert any("D15" in text for name, text in outputs.items() if name.endswith(".xlsx"))

    # The dashboard and the outcome report (page and PDF).
    for name in ("trial:dashboard", "trial:outcome_report"):
        page = coordinator_client.get(reverse(name))
        assert page.status_code == 200, name
        pages[name] = page.content.decode()
    report_pdf = coordinator_client.get(reverse("trial:outcome_report_pdf"))
    assert report_pdf.status_code == 200
    pages["trial:outcome_report_pdf"] = pdf_text(report_pdf.content)
    assert "D15" in pages["trial:outcome_report"]
    # Its primary outcome is the schedule's: the back-pain VAS at D15, not VERTEBRA's ODI.
    assert '<tr data-measure="vas_back" class="fw-semibold">' in pages["trial:outcome_report"]
    assert '<tr data-measure="odi" class="fw-semibold">' not in pages["trial:outcome_report"]

    leaks = {
        name: found
        for name, text in {**pages, **outputs}.items()
        if (found := vertebra_codes_in(text))
    }
    assert not leaks, leaks
