"""Benchmark of the exports: `python manage.py benchmark exports --participants N`.

Creates (once, with set-based SQL on PostgreSQL) N randomised participants with complete
follow-up streams: screening form, surgical assessment, allocation, every questionnaire of
every visit of the schedule in force (VERTEBRA: baseline, W1-W12, M3, M12) and every contact
with its call. Then renders full exports, each in a forked process so that its peak RSS is its
own, and compares the CSV part with PostgreSQL's own ``COPY (...) TO STDOUT`` of the same
queries.
"""

from __future__ import annotations

import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from trial.models import Participant

SITE_CODE = "BEX"


def _sql(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _ensure_data(n: int, stdout) -> None:
    from trial.models import Site, SiteKind, User

    existing = Participant.objects.filter(site__code=SITE_CODE).count()
    if existing >= n:
        stdout.write(f"Using the {existing} benchmark participants already there.")
        return
    if existing:
        raise CommandError(f"Site {SITE_CODE} has {existing} participants; use a fresh database.")
    start = time.perf_counter()
    surgery, _ = Site.objects.get_or_create(
        code="BEXS", defaults={"name": "Benchmark surgery", "kind": SiteKind.SURGERY}
    )
    site, _ = Site.objects.get_or_create(
        code=SITE_CODE,
        defaults={"name": "Benchmark", "kind": SiteKind.HEMATOLOGY, "surgical_partner": surgery},
    )
    user, _ = User.objects.get_or_create(
        username="benchmark-exports", defaults={"role": "coordinator"}
    )
    from trial.models import InformationSheetVersion  # noqa: F401 - schema present

    p = {"site": site.id, "surgery": surgery.id, "user": user.id, "n": n}
    with transaction.atomic():
        _sql(
            """INSERT INTO trial_participant (site_id, sequence, trial_number, initials, sex,
                 year_of_birth, status, not_included_reason, not_included_note, created_at,
                 created_by_id, language)
               SELECT %(site)s, g, 'BEX-' || lpad(g::text, 6, '0'), 'AB',
                 CASE WHEN g %% 2 = 0 THEN 'F' ELSE 'M' END, 1930 + g %% 60, 'randomised', '', '',
                 now() - interval '400 days', %(user)s, 'da'
               FROM generate_series(1, %(n)s) g""",
            p,
        )
        _sql(
            """INSERT INTO trial_screeningform (participant_id, myeloma_status, diagnosis_date,
                 iss_stage, riss_stage, prior_lines, disease_status, bone_therapy,
                 bone_therapy_start, paracetamol, nsaid, opioid, opioid_ome_mg_per_day,
                 previous_spinal_radiotherapy, pain_onset_date, completed_by_id, completed_at)
               SELECT id, CASE WHEN id %% 3 = 0 THEN 'new' ELSE 'known' END, date '2024-01-01',
                 'II', 'II', id %% 3, 'PR', 'zoledronic_acid', date '2024-02-01', true, false,
                 id %% 2 = 0, CASE WHEN id %% 2 = 0 THEN 30 + id %% 50 ELSE NULL END, false,
                 date '2025-09-01', %(user)s, now()
               FROM trial_participant WHERE site_id = %(site)s""",
            p,
        )
        _sql(
            """INSERT INTO trial_referral (participant_id, surgical_site_id, referred_on,
                 referred_by_id, note, status)
               SELECT id, %(surgery)s, date '2025-09-10', %(user)s, '', 'assessed'
               FROM trial_participant WHERE site_id = %(site)s""",
            p,
        )
        _sql(
            """INSERT INTO trial_surgicalassessment (participant_id, referral_id, assessed_on,
                 surgeon_id, contraindication, contraindication_details, planned_levels,
                 earlier_fractures, earlier_fracture_levels, risk_information_given)
               SELECT r.participant_id, r.id, date '2025-09-12', %(user)s, false, '',
                 CASE WHEN r.id %% 2 = 0 THEN '["L1"]' ELSE '["L1", "L2"]' END::jsonb,
                 false, '[]'::jsonb, true
               FROM trial_referral r JOIN trial_participant t ON t.id = r.participant_id
               WHERE t.site_id = %(site)s""",
            p,
        )
        _sql(
            """INSERT INTO randomization_envelopebatch (site_id, stratum, size, block_sizes,
                 first_sequence, note, created_by_id, created_at)
               VALUES (%(site)s, 'A1N', %(n)s, '[2, 4]', 1, 'benchmark', %(user)s, now())""",
            p,
        )
        _sql(
            """INSERT INTO randomization_envelope (batch_id, site_id, stratum, sequence, serial,
                 arm, block_number, block_size, position_in_block, used_at, participant_id,
                 state, card_arm, state_reason)
               SELECT b.id, %(site)s, 'A1N', t.sequence,
                 'BEX-A1N-' || lpad(t.sequence::text, 6, '0'),
                 CASE WHEN t.sequence %% 2 = 0 THEN 'pvp' ELSE 'conservative' END,
                 (t.sequence + 1) / 2, 2, 1 + (t.sequence + 1) %% 2,
                 now() - interval '380 days', t.id, 'issued', '', ''
               FROM trial_participant t,
                 (SELECT id FROM randomization_envelopebatch WHERE site_id = %(site)s) b
               WHERE t.site_id = %(site)s""",
            p,
        )
        _sql(
            """INSERT INTO randomization_allocation (participant_id, envelope_id, arm, stratum,
                 randomised_at, randomised_by_id, confirmed_serial, confirmed_arm, confirmed_at,
                 confirmed_by_id, mismatch)
               SELECT e.participant_id, e.id, e.arm, e.stratum, e.used_at, %(user)s, e.serial,
                 e.arm, e.used_at, %(user)s, false
               FROM randomization_envelope e WHERE e.site_id = %(site)s""",
            p,
        )
        # Every questionnaire of every visit of the schedule in force.
        from trial.protocol.visits import questionnaire_visits

        questionnaire = questionnaire_visits()
        visits = [v.code for v in questionnaire]  # baseline first
        rows = [(v.code, i) for v in questionnaire for i in v.instruments]
        answers = {
            "odi": "jsonb_build_object("
            + ", ".join(f"'odi_{k}', (t.id + {k}) %% 6" for k in range(1, 11))
            + ")",
            "vas": "jsonb_build_object('vas_back', (t.id * 7) %% 101,"
            " 'vas_leg', (t.id * 3) %% 101)",
            "eq5d3l": "jsonb_build_object('eq5d_mo', 1 + t.id %% 3, 'eq5d_sc', 1 + (t.id / 3) %% 3,"
            " 'eq5d_ua', 1 + (t.id / 9) %% 3, 'eq5d_pd', 1 + (t.id / 27) %% 3,"
            " 'eq5d_ad', 1 + (t.id / 81) %% 3, 'eq_vas', t.id %% 101)",
            "hsu": "jsonb_build_object('hsu_gp', t.id %% 3, 'hsu_outpatient', t.id %% 2,"
            " 'hsu_emergency', 0, 'hsu_admission_nights', t.id %% 5, 'hsu_physio', t.id %% 4,"
            " 'hsu_homecare', 0)",
        }
        for day, (visit, instrument) in enumerate(rows):
            # The only interpolation is one of the constant expressions above.
            _sql(
                f"""INSERT INTO questionnaires_questionnaireresponse (participant_id, visit_code,
                     instrument_code, instrument_version, mode, status, answers, scores,
                     language, started_at, submitted_at, entered_by_id, out_of_window)
                   SELECT t.id, %(visit)s, %(instrument)s, '1', 'phone', 'submitted',
                     {answers[instrument]}, '{{}}'::jsonb, 'da', now(),
                     now() - interval '380 days' + %(day)s * interval '7 days', %(user)s, false
                   FROM trial_participant t WHERE t.site_id = %(site)s""",  # noqa: S608
                {**p, "visit": visit, "instrument": instrument, "day": day},
            )
        for number, visit in enumerate(visits[1:], start=1):
            _sql(
                """INSERT INTO followup_contact (participant_id, visit_code, kind, anchor,
                     anchor_date, target_date, window_opens, window_closes, status, attempts,
                     completed_at, cancelled_reason, created_at)
                   SELECT t.id, %(visit)s, 'phone', 'randomisation', date '2025-10-01',
                     date '2025-10-01' + %(day)s, date '2025-10-01' + %(day)s - 3,
                     date '2025-10-01' + %(day)s + 3, 'done', 1,
                     timestamp '2025-10-01 10:00' + %(day)s * interval '1 day', '', now()
                   FROM trial_participant t WHERE t.site_id = %(site)s""",
                {**p, "visit": visit, "day": number * 7},
            )
        _sql(
            """INSERT INTO followup_calllog (contact_id, participant_id, called_at, called_by_id,
                 outcome, notes, out_of_window)
               SELECT c.id, c.participant_id, c.completed_at, %(user)s, 'reached', '', false
               FROM followup_contact c JOIN trial_participant t ON t.id = c.participant_id
               WHERE t.site_id = %(site)s""",
            p,
        )
    _sql("ANALYZE")
    stdout.write(
        f"Created {n} participants with full follow-up in {time.perf_counter() - start:.0f} s."
    )


def _measure(fmt: str, queue) -> None:
    """In a forked child: render a full export; report time, peak RSS and queries."""
    from trial.exports import sql as export_sql
    from trial.exports.writer import ExportSpec, write_export

    connections.close_all()
    export_sql.COPY_LOG = []
    with tempfile.TemporaryDirectory() as tmp, translation.override("en"):
        target = Path(tmp) / f"bench.{fmt}.zip"
        spec = ExportSpec(exporter="full", format=fmt, identified=False, run_id="benchmark")
        start = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            write_export(spec, target)
        seconds = time.perf_counter() - start
        size = target.stat().st_size
    selects = [q["sql"] for q in ctx.captured_queries]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"format": fmt, "seconds": seconds, "rss_mb": rss,
               "queries": len(selects) + len(export_sql.COPY_LOG),
               "sql": selects, "bytes": size})  # fmt: skip


def _run_child(fmt: str) -> dict:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    connections.close_all()
    child = ctx.Process(target=_measure, args=(fmt, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def _csv_part(queue) -> None:
    """In a forked child: only the CSV files (long forms and the wide analysis file)."""
    import zipfile

    from trial.exports import sql as export_sql
    from trial.exports.formats.csv import write_csv_long, write_csv_wide
    from trial.exports.tables import tables_for

    connections.close_all()
    export_sql.COPY_LOG = []
    with tempfile.TemporaryDirectory() as tmp:
        tables = tables_for("full", identified=False)
        start = time.perf_counter()
        with (
            CaptureQueriesContext(connection) as ctx,
            zipfile.ZipFile(
                Path(tmp) / "csv.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1
            ) as zf,
        ):
            for table in tables:
                if table.keyed:
                    write_csv_long(zf, table)
                else:
                    write_csv_wide(zf, table, "analysis.csv")
        seconds = time.perf_counter() - start
        size = (Path(tmp) / "csv.zip").stat().st_size
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    selects = [q["sql"] for q in ctx.captured_queries]
    queue.put({"seconds": seconds, "sql": selects, "copies": len(export_sql.COPY_LOG),
               "rss_mb": rss, "bytes": size})  # fmt: skip


class _Sink:
    def write(self, data) -> int:
        return len(data)


def _selects(sqls: list[str]) -> list[str]:
    out = []
    for sql in sqls:
        if " CURSOR WITH HOLD FOR " in sql:
            sql = sql.split(" CURSOR WITH HOLD FOR ", 1)[1]
        if sql.lstrip().upper().startswith("SELECT"):
            out.append(sql)
    return out


def _copy_baselines(python_sqls: list[str]) -> tuple[float, float]:
    """PostgreSQL's own ``COPY (...) TO STDOUT WITH CSV`` to a null sink, two ways:

    1. of the same rows the CSV files hold: every form's long SELECT (trial.exports.sql), and
       the SELECTs the Python-written analysis file runs;
    2. of the records before they are made long: every form's source SELECT, one row per
       record, and the same analysis SELECTs.

    The score tables the questionnaire SELECTs join are made first and not timed.
    """
    from trial.exports import sql as export_sql
    from trial.exports.tables import tables_for

    # Each table with the SQL source it has (paired, so the checker knows it is not None).
    tables = [
        (t, t.sql) for t in tables_for("full", identified=False) if t.keyed and t.sql is not None
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL TIME ZONE '{export_sql._zone()}'")
        raw = cursor.cursor
        long_sqls, source_sqls = [], []
        for t, make_source in tables:
            source = make_source()
            if source.prepare is not None:
                source.prepare(cursor)
            names = [v.name for v in t.sql_variables]
            types = [v.type for v in t.sql_variables]
            sql, params = export_sql.long_select(source, names, types, t.sql_positions)
            long_sqls.append(raw.mogrify(sql, params).decode())
            source_sqls.append(raw.mogrify(source.sql, source.params).decode())
        timings = []
        for sqls in (long_sqls, source_sqls):
            start = time.perf_counter()
            for sql in [*sqls, *_selects(python_sqls)]:
                raw.copy_expert(f"COPY ({sql}) TO STDOUT WITH CSV", _Sink(), size=1 << 20)
            timings.append(time.perf_counter() - start)
    return timings[0], timings[1]


def _run_csv_part() -> dict:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    connections.close_all()
    child = ctx.Process(target=_csv_part, args=(queue,))
    child.start()
    result = queue.get()
    child.join()
    return result


def run(stdout, participants: int = 100_000, **options) -> None:
    if connection.vendor != "postgresql":
        raise CommandError("The exports benchmark needs PostgreSQL (DATABASE_URL).")
    _ensure_data(participants, stdout)
    stdout.write(f"Participants in the database: {Participant.objects.count()}")
    for fmt in options.get("formats") or ("csv", "stata", "odm", "xlsx"):
        r = _run_child(fmt)
        stdout.write(
            f"Full export {fmt}: {r['seconds']:.1f} s, peak RSS {r['rss_mb']:.0f} MB, "
            f"{r['queries']} queries, ZIP {r['bytes'] / 1e6:.1f} MB"
        )
        if fmt == "csv":
            part = _run_csv_part()
            same_rows, source_rows = _copy_baselines(part["sql"])
            stdout.write(
                f"  CSV part alone (long forms + analysis file, no codebook): "
                f"{part['seconds']:.1f} s, peak RSS {part['rss_mb']:.0f} MB, "
                f"{part['copies']} COPY + {len(part['sql'])} other queries\n"
                f"  PostgreSQL COPY of the same rows (long lines): {same_rows:.1f} s -> "
                f"the CSV part takes {part['seconds'] / same_rows:.2f}x as long\n"
                f"  PostgreSQL COPY of the source records (one row each): {source_rows:.1f} s "
                f"-> {part['seconds'] / source_rows:.2f}x"
            )
