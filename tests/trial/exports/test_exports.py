"""Exports: every format read back by an independent reader and compared with the
database; no identifying data in a default export; who may export what; constant queries."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation
from lxml import etree

from followup.models import CallLog, Contact
from questionnaires.instruments import INSTRUMENTS
from questionnaires.models import QuestionnaireResponse
from questionnaires.services import scores_for, scoring_options
from tests.factories import IdentityFactory, ParticipantFactory, allocate, screening_complete
from trial.exports import services as export_services
from trial.exports.writer import ExportSpec, write_export
from trial.models import Death, ExportRun, ExportStatus, Role

# Hundreds of requests or whole exports: run on PostgreSQL, left out of the SQLite fast suite.
pytestmark = pytest.mark.slow

SCHEMA = Path(__file__).resolve().parents[3] / "trial/schemas/odm1-3-2/ODM1-3-2.xsd"
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"

ODI_BL = {f"odi_{n}": v for n, v in enumerate([3, 2, 4, 1, 3, 2, 1, None, 2, 3], start=1)}
EQ5D_BL = {"eq5d_mo": 2, "eq5d_sc": 1, "eq5d_ua": 2, "eq5d_pd": 3, "eq5d_ad": 2, "eq_vas": 45}


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.EXPORT_ROOT


def _response(participant, visit, instrument, answers, user):
    return QuestionnaireResponse.objects.create(
        participant=participant,
        visit_code=visit,
        instrument_code=instrument,
        instrument_version=INSTRUMENTS[instrument].version,
        mode="phone",
        status="submitted",
        answers=answers,
        scores=scores_for(instrument, answers),
        submitted_at=timezone.now(),
        entered_by=user,
    )


def add_participants(world, count: int, *, start: int = 10):
    """Randomised participants with baseline and 4-week questionnaires and contacts."""
    user = world.users[Role.HEMATOLOGIST]
    made = []
    for n in range(start, start + count):
        p = ParticipantFactory(site=world.own, sequence=n)
        screening_complete(p, user)
        allocate(
            p,
            timezone.now() - dt.timedelta(days=30),
            arm="pvp" if n % 2 else "conservative",
            user=user,
        )
        _response(p, "BL", "odi", ODI_BL, user)
        _response(p, "BL", "vas", {"vas_back": 70 + n % 10, "vas_leg": 40}, user)
        _response(p, "BL", "eq5d3l", EQ5D_BL, user)
        _response(p, "W4", "vas", {"vas_back": 30, "vas_leg": None}, user)
        today = timezone.localdate()
        Contact.objects.create(
            participant=p, visit_code="W4", anchor="randomisation", anchor_date=today,
            target_date=today, window_opens=today, window_closes=today, status="done",
            completed_at=timezone.now(),
        )  # fmt: skip
        made.append(p)
    return made


@pytest.fixture
def trial_data(world):
    people = add_participants(world, 3)
    Death.objects.create(
        participant=people[0],
        date_of_death=timezone.localdate(),
        relation="myeloma",
        recorded_by=world.users[Role.NURSE],
    )
    return people


def render(fmt: str, tmp_path: Path, *, identified: bool = False, exporter: str = "full"):
    spec = ExportSpec(exporter=exporter, format=fmt, identified=identified, run_id="test")
    with translation.override("en"):
        target = write_export(spec, tmp_path / f"{fmt}-{identified}.zip")
    return zipfile.ZipFile(target)


def _odi_score() -> Decimal:
    return INSTRUMENTS["odi"].score(ODI_BL, scoring_options())["odi_score"]


# --- each format read back ----------------------------------------------------------------


def test_the_export_and_the_report_read_the_scores_kept_with_each_response(
    trial_data, tmp_path, settings
):
    """A change of the scoring settings after submission (here the EQ-5D value set) leaves
    the responses' kept scores as they are: the export and the outcome report both give
    them, so a re-analysis of the export reproduces the report."""
    from questionnaires.dashboard import scores

    kept = Decimal(scores_for("eq5d3l", EQ5D_BL)["eq5d_index"])
    settings.TRIAL_EQ5D_VALUE_SET = "UK"
    assert INSTRUMENTS["eq5d3l"].score(EQ5D_BL, scoring_options())["eq5d_index"] != kept
    first = trial_data[0]
    wide = pd.read_csv(
        io.BytesIO(render("csv", tmp_path).read("csv/analysis_wide.csv")), dtype=str
    ).set_index("trial_number")
    assert Decimal(wide.loc[first.trial_number, "eq5d_index_bl"]) == kept
    report = scores()["rows"][(first.pk, "BL")]
    assert report["eq5d_index"] == pytest.approx(float(kept))


def test_csv_long_and_wide_files_match_the_database(trial_data, tmp_path):
    zf = render("csv", tmp_path)
    long = pd.read_csv(io.BytesIO(zf.read("csv/q_odi.csv")), dtype=str)
    first = trial_data[0].trial_number
    mine = long[(long.trial_number == first) & (long.visit == "BL")]
    got = dict(zip(mine["item"], mine["value"], strict=True))
    for code, value in ODI_BL.items():
        assert got.get(code) == (None if value is None else str(value))
    assert Decimal(got["odi_score"]) == _odi_score()

    wide = pd.read_csv(io.BytesIO(zf.read("csv/analysis_wide.csv")), dtype=str).set_index(
        "trial_number"
    )
    assert len(wide) == 2 + len(trial_data)  # world's two participants too
    row = wide.loc[first]
    assert row["arm"] == trial_data[0].allocation.arm
    assert row["stratum"] == "A1N"
    assert Decimal(row["odi_score_bl"]) == _odi_score()
    assert row["vas_back_w4"] == "30"
    assert row["died"] == "1"
    assert row["followup_status"] == "complete"
    assert pd.isna(wide.loc[trial_data[1].trial_number, "date_of_death"])
    codebook = pd.read_csv(io.BytesIO(zf.read("codebook.csv")), dtype=str)
    assert {"odi_score_bl", "arm_as_treated", "eq5d_index"} <= set(codebook.variable)
    assert zf.read("codebook.pdf").startswith(b"%PDF")


def test_xlsx_sheets_match_the_database(trial_data, tmp_path):
    zf = render("xlsx", tmp_path)
    book = io.BytesIO(zf.read("vertebra.xlsx"))
    analysis = pd.read_excel(book, sheet_name="analysis").set_index("trial_number")
    p = trial_data[1]
    assert analysis.loc[p.trial_number, "arm"] == p.allocation.arm
    assert analysis.loc[p.trial_number, "vas_back_bl"] == 70 + p.sequence % 10
    assert analysis.loc[p.trial_number, "eq5d_index_bl"] == pytest.approx(
        float(INSTRUMENTS["eq5d3l"].score(EQ5D_BL, scoring_options())["eq5d_index"])
    )
    vas = pd.read_excel(book, sheet_name="q_vas")
    assert len(vas) == QuestionnaireResponse.objects.filter(instrument_code="vas").count()
    assert "codebook" in pd.ExcelFile(book).sheet_names


def test_stata_files_carry_variable_and_value_labels(trial_data, tmp_path):
    zf = render("stata", tmp_path)
    path = tmp_path / "analysis.dta"
    path.write_bytes(zf.read("stata/analysis.dta"))
    df, meta = pyreadstat.read_dta(path)
    labels = meta.column_names_to_labels
    assert labels["odi_score_bl"] == "ODI score, BL"
    assert labels["opioid_ome_mg_day"].endswith("(mg/day)")
    arm_labels = meta.variable_value_labels["arm"]
    row = df.set_index("trial_number").loc[trial_data[0].trial_number]
    assert arm_labels[row["arm"]].startswith(trial_data[0].allocation.arm + ":")
    assert row["odi_score_bl"] == pytest.approx(float(_odi_score()))
    assert row["date_of_death"] == timezone.localdate()
    assert meta.variable_value_labels["died"] == {1: "Yes", 0: "No"}
    # Read the same file with pandas' own Stata reader too, labels included.
    with pd.io.stata.StataReader(path) as reader:
        assert reader.variable_labels()["arm"] == "Allocated arm (intention to treat)"


def test_odm_is_valid_against_the_1_3_2_schema_and_holds_the_data(trial_data, tmp_path):
    zf = render("odm", tmp_path)
    doc = etree.fromstring(zf.read("vertebra_odm.xml"))
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    assert schema.validate(doc), schema.error_log
    assert doc.get("ODMVersion") == "1.3.2"
    item_def = f"{ODM}Study/{ODM}MetaDataVersion/{ODM}ItemDef[@OID='I.q_odi.odi_score']"
    assert doc.find(item_def) is not None
    codes = doc.findall(f".//{ODM}CodeList[@OID='CL.allocations.arm']/{ODM}CodeListItem")
    assert {c.get("CodedValue") for c in codes} == {"pvp", "conservative"}
    p = trial_data[2]
    subject = next(
        s
        for s in doc.iter(f"{ODM}SubjectData")
        if s.get("SubjectKey") == p.trial_number
        and s.find(f".//{ODM}FormData[@FormOID='F.q_odi']") is not None
    )
    items = {i.get("ItemOID"): i.get("Value") for i in subject.iter(f"{ODM}ItemData")}
    assert items["I.q_odi.odi_1"] == "3"
    assert "I.q_odi.odi_8" not in items  # missing stays missing
    assert Decimal(items["I.q_odi.odi_score"]) == _odi_score()


def test_odm_has_one_subject_per_participant_and_numbers_repeated_calls(
    world, trial_data, tmp_path
):
    p = trial_data[1]
    contact = Contact.objects.get(participant=p, visit_code="W4")
    nurse = world.users[Role.NURSE]
    for minutes, outcome in ((0, "no_answer"), (90, "reached")):
        CallLog.objects.create(
            contact=contact, participant=p, called_by=nurse, outcome=outcome,
            called_at=timezone.now() - dt.timedelta(days=1) + dt.timedelta(minutes=minutes),
        )  # fmt: skip
    doc = etree.fromstring(render("odm", tmp_path).read("vertebra_odm.xml"))
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    assert schema.validate(doc), schema.error_log
    keys = [s.get("SubjectKey") for s in doc.iter(f"{ODM}SubjectData")]
    assert len(keys) == len(set(keys))  # every form of a participant in one SubjectData
    assert set(keys) >= {t.trial_number for t in trial_data}
    subject = next(
        s for s in doc.iter(f"{ODM}SubjectData") if s.get("SubjectKey") == p.trial_number
    )
    events = [e.get("StudyEventOID") for e in subject.findall(f"{ODM}StudyEventData")]
    assert events[0] == "SE.ENROLMENT" and len(events) == len(set(events))
    w4 = subject.find(f"{ODM}StudyEventData[@StudyEventOID='SE.W4']")
    forms = {f.get("FormOID") for f in w4.findall(f"{ODM}FormData")}
    assert {"F.q_vas", "F.contacts", "F.calls"} <= forms
    calls = w4.findall(f"{ODM}FormData[@FormOID='F.calls']/{ODM}ItemGroupData")
    assert [c.get("ItemGroupRepeatKey") for c in calls] == ["1", "2"]
    outcomes = [
        c.find(f"{ODM}ItemData[@ItemOID='I.calls.call_outcome']").get("Value") for c in calls
    ]
    assert outcomes == ["no_answer", "reached"]
    enrolment = subject.find(f"{ODM}StudyEventData[@StudyEventOID='SE.ENROLMENT']")
    assert enrolment.find(f"{ODM}FormData[@FormOID='F.participants']") is not None
    assert enrolment.find(f"{ODM}FormData[@FormOID='F.allocations']") is not None


# --- pseudonymisation ---------------------------------------------------------------------


def _all_bytes(zf: zipfile.ZipFile) -> bytes:
    """Every member, and the members of nested ZIPs (an XLSX is one), uncompressed."""
    out = []
    for name in zf.namelist():
        data = zf.read(name)
        out.append(data)
        if data[:2] == b"PK":
            out.append(_all_bytes(zipfile.ZipFile(io.BytesIO(data))))
    return b"\n".join(out)


IDENTIFYING = {
    "full_name": "Gertrud Zylberstein",
    "cpr": "170550-4024",
    "phone": "+45 29 87 65 43",
    "email": "gertrud.zylberstein@example.dk",
    "address": "Kvædevej 77, 8000 Aarhus C",
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "stata", "odm"])
def test_no_identifying_data_in_any_byte_of_a_default_export(world, trial_data, tmp_path, fmt):
    IdentityFactory(participant=trial_data[0], **IDENTIFYING)
    needles = [v.encode() for v in IDENTIFYING.values()]
    needles += [b"1705504024", b"Zylberstein", b"29876543", "Kvædevej".encode()]

    default = _all_bytes(render(fmt, tmp_path))
    assert trial_data[0].trial_number.encode() in default
    assert [n for n in needles if n in default] == []

    # The same search finds them in an identified export: the test can fail.
    identified = _all_bytes(render(fmt, tmp_path, identified=True))
    assert b"Zylberstein" in identified


def test_the_readme_names_analysis_only_in_a_full_export(world, tmp_path):
    full = render("csv", tmp_path).read("README.txt").decode()
    one_form = render("csv", tmp_path, exporter="participants").read("README.txt").decode()
    assert "analysis/" in full and "analysis/" not in one_form
    for readme in (full, one_form):
        assert "" not in readme.splitlines(), readme  # no empty line where a line was left out


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "stata", "odm"])
def test_an_identified_export_of_one_form_carries_the_identifying_data(
    world, trial_data, tmp_path, fmt
):
    IdentityFactory(participant=trial_data[0], **IDENTIFYING)
    one_form = _all_bytes(render(fmt, tmp_path, identified=True, exporter="participants"))
    assert b"Zylberstein" in one_form and trial_data[0].trial_number.encode() in one_form
    # ... and never without identification.
    assert b"Zylberstein" not in _all_bytes(render(fmt, tmp_path, exporter="participants"))


def test_coordinators_cannot_ask_for_an_identified_export(world):
    with pytest.raises(PermissionDenied):
        export_services.export_request(
            user=world.users[Role.COORDINATOR], exporter="full", format="csv",
            identified=True, reason="Linking to the registry",
        )  # fmt: skip
    assert not ExportRun.objects.exists()


def test_an_identified_export_needs_a_reason_and_is_logged_as_such(
    world, django_capture_on_commit_callbacks
):
    manager = world.users[Role.DATA_MANAGER]
    with pytest.raises(ValidationError):
        export_services.export_request(
            user=manager, exporter="full", format="csv", identified=True, reason="  "
        )
    with django_capture_on_commit_callbacks(execute=True):
        run = export_services.export_request(
            user=manager, exporter="full", format="csv", identified=True, reason="Registry linkage"
        )
    run.refresh_from_db()
    assert (run.identified, run.reason, run.status) == (True, "Registry linkage", "done")


def test_the_identity_form_alone_is_refused_without_identification(world, tmp_path):
    from trial.exports.writer import ExportError

    with pytest.raises(ExportError):
        render("csv", tmp_path, exporter="identity")


# --- queries, pages, command, expiry ------------------------------------------------------


def _count_queries(fmt, tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        render(fmt, tmp_path)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "stata", "odm"])
def test_an_export_runs_the_same_number_of_queries_for_5_and_50_participants(
    world, tmp_path, fmt, django_assert_num_queries
):
    add_participants(world, 5)
    few = _count_queries(fmt, tmp_path)
    add_participants(world, 45, start=100)
    with django_assert_num_queries(few):
        render(fmt, tmp_path)


def test_the_coordinator_starts_an_export_and_downloads_it(
    world, login, django_capture_on_commit_callbacks
):
    client = login(world.users[Role.COORDINATOR])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("trial:export_list"), {"exporter": "full", "format": "csv"})
    run = ExportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("trial:export_detail", args=[run.id])
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    with translation.override(detail["Content-Language"]):
        assert run.exporter_label in detail.content.decode()  # "Full export", in words
    status = client.get(reverse("trial:export_status", args=[run.id])).json()
    assert status["status"] == "done" and status["progress"] == 100
    download = client.get(reverse("trial:export_download", args=[run.id]))
    assert download.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist()
    run.refresh_from_db()
    assert run.download_count == 1 and run.last_downloaded_at is not None


def test_the_log_names_exports_in_words(world):
    user = world.users[Role.COORDINATOR]
    with translation.override("en"):
        full = ExportRun(exporter="full", format="csv", requested_by=user)
        odi = ExportRun(exporter="q_odi", format="csv", requested_by=user)
        gone = ExportRun(exporter="no_longer_there", format="csv", requested_by=user)
        assert full.exporter_label == "Full export"
        assert odi.exporter_label == str(INSTRUMENTS["odi"].name)
        assert gone.exporter_label == "no_longer_there"


def test_the_coordinator_form_has_no_identified_option(world, login):
    client = login(world.users[Role.COORDINATOR])
    page = client.get(reverse("trial:export_list")).content.decode()
    assert 'name="identified"' not in page
    client.post(
        reverse("trial:export_list"),
        {"exporter": "full", "format": "csv", "identified": "on", "reason": "x"},
    )
    assert ExportRun.objects.get().identified is False


def test_monitors_read_the_export_log_but_neither_start_nor_download(world, login):
    run = export_services.export_request(
        user=world.users[Role.DATA_MANAGER], exporter="participants", format="csv"
    )
    client = login(world.users[Role.MONITOR])
    page = client.get(reverse("trial:export_list"))
    assert page.status_code == 200 and b"participants" in page.content
    assert (
        client.post(reverse("trial:export_list"), {"exporter": "full", "format": "csv"}).status_code
        == 403
    )
    assert client.get(reverse("trial:export_download", args=[run.id])).status_code == 403


def test_the_export_command_writes_the_zip(world, trial_data, tmp_path):
    out = io.StringIO()
    call_command("export", "--format", "stata", "--out", str(tmp_path / "out"), stdout=out)
    written = Path(out.getvalue().strip())
    assert written.parent == tmp_path / "out"
    assert "stata/analysis.dta" in zipfile.ZipFile(written).namelist()
    run = ExportRun.objects.get()
    assert run.requested_by == world.users[Role.DATA_MANAGER] and run.status == "done"


def test_expired_exports_lose_their_file(world, export_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = export_services.export_request(
            user=world.users[Role.COORDINATOR], exporter="participants", format="csv"
        )
    run.refresh_from_db()
    path = export_root / run.file_name
    assert path.exists()
    assert export_services.exports_expire() == 0
    later = run.expires_at + dt.timedelta(seconds=1)
    assert export_services.exports_expire(now=later) == 1
    run.refresh_from_db()
    assert run.status == ExportStatus.EXPIRED and not path.exists()
    assert export_services.exports_expire(now=later) == 0


def test_a_run_is_rendered_once_even_if_the_task_comes_twice(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = export_services.export_request(
            user=world.users[Role.COORDINATOR], exporter="participants", format="csv"
        )
    assert ExportRun.objects.get().status == "done"
    assert export_services.export_run_render(str(run.id)) is False


@pytest.mark.parametrize("fmt", ["csv", "stata"])
def test_free_text_that_may_name_people_stays_out_of_a_default_export(
    world, trial_data, tmp_path, fmt
):
    Death.objects.filter(participant=trial_data[0]).update(
        cause="Pneumonia; his daughter Birthe Qvistgaard phoned"
    )
    default = _all_bytes(render(fmt, tmp_path))
    assert b"Qvistgaard" not in default
    assert b"date_of_death" in default  # the form itself is exported, without the free text
    assert b"Qvistgaard" in _all_bytes(render(fmt, tmp_path, identified=True))


def test_the_export_log_pages_through_every_run_in_constant_queries(
    world, login, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = world.users[Role.COORDINATOR]

    def add(n):
        ExportRun.objects.bulk_create(
            ExportRun(exporter="full", format="csv", requested_by=user) for _ in range(n)
        )

    client = login(world.users[Role.MONITOR])
    url = reverse("trial:export_list")
    add(5)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add(60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        first = client.get(url)
    oldest = ExportRun.objects.order_by("requested_at", "pk").first()
    assert f"/exports/{oldest.id}/" not in first.content.decode()
    second = client.get(url + "?page=2").content.decode()
    assert f"/exports/{oldest.id}/" in second  # nothing falls off the end of the log
    assert client.get(url + "?page=999").status_code == 200  # the last page, not an error
